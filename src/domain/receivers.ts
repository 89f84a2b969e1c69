import type { StoredEvent } from './events';

/**
 * A push receiver of an organization's security events (RFC 8935). Its cursor
 * (`lastDeliveredId`) is the id of the last outbox event it has been given (or that it
 * did not ask for): the events after it are pending. A receiver added later starts
 * at the end of the outbox: it gets no history.
 */
export interface Receiver {
  id: string;
  organizationId: string;
  url: string;
  /** The SETs' `aud`; the url unless given. */
  audience: string;
  /** The event URIs it wants; null: all. */
  events: string[] | null;
  /** Wants the full form of user events (`…:create:full`, `…:put:full`, `…:patch:full` with the resource as `data`). */
  full: boolean;
  createdAt: Date;
  lastDeliveredId: string;
  lastDeliveredAt: Date | null;
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  failingSince: Date | null;
  failing: boolean;
}

export interface NewReceiver {
  organizationId: string;
  url: string;
  audience: string;
  events: string[] | null;
  full: boolean;
}

/** What happened to one delivery attempt, as the store records it. */
export type DeliveryOutcome =
  /** `at` null: the cursor skips events the receiver did not ask for, its last delivery time stays. */
  | { delivered: true; cursor: string; at: Date | null }
  /** Nothing delivered: the receiver is due again at `retryAt`; failing after `failingAfterMs` of failures. */
  | {
      delivered: false;
      error: string;
      at: Date;
      retryAt: Date;
      failingAfterMs: number;
      /** The lease this instance holds: nothing is recorded when another instance holds the receiver now. */
      heldUntil?: Date | null;
    };

/** The receivers and their cursors (src/orm/event-receiver.repository.ts). */
export interface ReceiverStore {
  /** Stores the receiver with its cursor at the current end of the outbox. */
  add(receiver: NewReceiver): Promise<Receiver>;
  /** The organization's receivers, oldest first, each with its pending count. */
  list(organizationId: string): Promise<(Receiver & { pending: number })[]>;
  /** True when it existed. */
  remove(id: string): Promise<boolean>;
  /**
   * Makes every event committed so far readable (the outbox's sequencer run); an explicit
   * delivery round waits for it. The worker's own looks do not: it is woken once a commit's
   * events are sequenced, and polls. Absent: the events are readable once committed.
   */
  sequenced?(): Promise<void>;
  /**
   * Claims up to `limit` receivers due at `now` (next attempt null or past) with events
   * after their cursor, those waiting longest first (receivers claimed by another
   * instance are skipped: FOR UPDATE SKIP LOCKED), by moving their next attempt to
   * `leaseUntil`, so no other instance sends their events meanwhile.
   */
  claimDue(now: Date, leaseUntil: Date, limit: number): Promise<Receiver[]>;
  /**
   * The receiver's next events after its cursor, id order, only those it asked for; and
   * the organization's last event id. For a receiver of the full form, each user event
   * carries the user's resource as it stands now (`baseUrl`: the SCIM base URL of its links).
   */
  pending(receiver: Receiver, limit: number, baseUrl: string): Promise<{ events: StoredEvent[]; head: string }>;
  /** Records an attempt; a success moves the cursor (never backwards) and ends a failure run. Returns the receiver after it. */
  record(id: string, outcome: DeliveryOutcome): Promise<Receiver | null>;
  /** Extends a claim from `from` (the lease this instance holds) to `to`; false when the lease is no longer this instance's. */
  renew(id: string, from: Date, to: Date): Promise<boolean>;
  /**
   * Ends a claim early: the receiver is due again from `at` (behind those released
   * before it); only while the claim is still `heldUntil` when that is given.
   */
  release(id: string, at: Date, heldUntil?: Date | null): Promise<void>;
  /** Deletes events created before `before` that every receiver of their organization has passed; returns how many. */
  prune(before: Date): Promise<number>;
  /** How many receivers are marked failing. */
  failingCount(): Promise<number>;
  /** True when any organization has a receiver. */
  any(): Promise<boolean>;
}

/**
 * Each push receiver's state for one event: `delivered` (its cursor has passed the event),
 * `pending`, or `failing` (pending at a receiver marked failing). Receivers that did
 * not ask for the event's URIs, or were added after it (they get no history), are left out.
 */
export function deliveriesOf(event: StoredEvent, receivers: Receiver[]): { receiverId: string; url: string; state: 'delivered' | 'pending' | 'failing' }[] {
  return receivers
    .filter((r) => r.createdAt <= event.createdAt && (r.events === null || event.eventUris.some((uri) => r.events?.includes(uri))))
    .map((r) => ({
      receiverId: r.id,
      url: r.url,
      state: BigInt(event.id) <= BigInt(r.lastDeliveredId) ? 'delivered' : r.failing ? 'failing' : 'pending',
    }));
}
