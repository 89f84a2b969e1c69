import type { StoredEvent } from '../domain/events';
import type { DeliveryOutcome, Receiver, ReceiverStore } from '../domain/receivers';
import type { SigningKey } from '../domain/signing';
import type { SigningKeys } from './keys';
import { checkReceiverUrl, type Resolver } from './receiver-url';
import { buildSet, SET_TYPE } from './set';

/** How often an idle worker asks whether any receiver exists at all (a poll that claims one knows it at once). */
const RECEIVERS_CHECK_MS = 5_000;
const HOUR_MS = 3_600_000;
/** A receiver failing this long without a success is marked failing (it keeps being retried, and its events kept). */
export const FAILING_AFTER_MS = 72 * HOUR_MS;
/** The most of a receiver's answer ever read. */
const MAX_ANSWER_BYTES = 4096;

/** 2^attempts seconds, at most an hour, ± 20 % jitter (attempts counts the failures so far, this one included). */
export function defaultBackoff(attempts: number, random: () => number = Math.random): number {
  const base = Math.min(2 ** Math.min(attempts, 30) * 1000, HOUR_MS);
  return Math.round(base * (0.8 + 0.4 * random()));
}

export interface DeliveryOptions {
  store: ReceiverStore;
  keys: SigningKeys;
  /** The SETs' `iss`: the service's base URL. */
  issuer: string;
  /** ROSTER_RECEIVERS_ALLOW_PRIVATE. */
  allowPrivate: boolean;
  /** ROSTER_EVENT_RETENTION_DAYS. */
  retentionDays: number;
  /** Between two rounds, ms (200). */
  intervalMs?: number;
  /** Receivers delivered to at once (4). */
  concurrency?: number;
  /** Events read per receiver and round (200). */
  batchSize?: number;
  /** SETs in flight to one receiver at once, each for another subject (16). */
  parallel?: number;
  /** How long a claim on a receiver lasts unless renewed, ms (15000); renewed every third of it while sending. */
  leaseMs?: number;
  /** Connect and answer time allowed per SET, ms (5000). */
  timeoutMs?: number;
  /** Between two retention prunes, ms (10 minutes). */
  pruneEveryMs?: number;
  /** Delay after the n-th failure in a row, ms (defaultBackoff). */
  backoff?: (attempts: number) => number;
  now?: () => Date;
  fetch?: typeof fetch;
  resolve?: Resolver;
  onFailing?: (receiver: Receiver) => void;
  onFailingCount?: (count: number) => void;
  onError?: (error: unknown) => void;
}

/**
 * Push delivery (RFC 8935): every `intervalMs` (and at once when a commit wakes it),
 * claims the receivers that are due (FOR UPDATE SKIP LOCKED and a short lease renewed
 * while sending, so instances never send one receiver's events at once, and a dead
 * instance's claims lapse within `leaseMs`), and sends each its next batch as signed
 * SETs: several subjects at once, each subject's events in outbox order. A 200 or 202
 * counts as delivered; the cursor moves once per batch. Anything else stops the batch
 * and schedules a retry with backoff. At least once: a crash between a 202 and the
 * cursor's update sends that SET again. Runs apart from every SCIM request.
 */
export class DeliveryWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  /** stop() was called: deliveries under way start no new SET. */
  private stopping = false;
  /** A wake came during a look for due receivers: the next look is at once. */
  private again = false;
  /** No receiver existed at the last check: a wake does nothing until a poll finds one. */
  private noReceivers = false;
  /** When the worker last asked whether any receiver exists (ms, by its clock). */
  private receiversCheckedAt = Number.NEGATIVE_INFINITY;
  /** Wakes so far (commits that wrote events): a delivery under way at a wake looks again when it ends. */
  private wakes = 0;
  /** The last look filled every place: a place set free looks again at once. */
  private starved = false;
  /** The deliveries under way, by receiver id. */
  private readonly inFlight = new Map<string, Promise<void>>();
  private lastPrune = 0;
  private readonly o: Required<Omit<DeliveryOptions, 'onFailing' | 'onFailingCount' | 'onError' | 'resolve'>> & DeliveryOptions;

  constructor(options: DeliveryOptions) {
    this.o = {
      intervalMs: 200,
      concurrency: 4,
      batchSize: 200,
      parallel: 16,
      leaseMs: 15_000,
      timeoutMs: 5_000,
      pruneEveryMs: 600_000,
      backoff: (attempts) => defaultBackoff(attempts),
      now: () => new Date(),
      fetch: (...args) => fetch(...args),
      ...options,
    };
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.stopping = false;
    this.schedule(0);
  }

  /**
   * Looks for due receivers now; when a look is under way, one more right after it.
   * Wakes coalesce: any number of them during a look make one more, not one each.
   */
  wake(): void {
    this.wakes += 1;
    // No receiver anywhere at the last look: nothing to claim (a commit would cost a statement for nothing).
    // A receiver added since is found by the next poll, within intervalMs.
    if (this.noReceivers) return;
    this.lookNow();
  }

  private lookNow(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.schedule(0);
  }

  /** Stops looking for receivers; the deliveries under way start no new SET, record what they sent, and end. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.stopping = true;
    clearTimeout(this.timer);
    await this.running;
    await Promise.all(this.inFlight.values());
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.again = false;
      this.running = this.launch()
        .then(() => undefined)
        .catch((error: unknown) => this.o.onError?.(error))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule(this.again ? 0 : this.o.intervalMs);
        });
    }, ms);
    this.timer.unref();
  }

  /**
   * One round, as the tests drive it: every event committed before it sequenced, then prune
   * when it is time, claim the due receivers, and wait for their deliveries.
   */
  async round(): Promise<void> {
    await this.o.store.sequenced?.();
    await Promise.all(await this.launch());
  }

  /**
   * Prunes when it is time, then claims due receivers for the free places (at most
   * `concurrency` receivers are sent to at once) and starts their deliveries. Each runs
   * on its own: a slow receiver holds its own place only, and a delivery that ends
   * looks again at once when receivers may be waiting for a place (or its batch was
   * full). Returns the deliveries started.
   */
  private async launch(): Promise<Promise<void>[]> {
    const pruneAt = this.o.now();
    if (pruneAt.getTime() - this.lastPrune >= this.o.pruneEveryMs) {
      this.lastPrune = pruneAt.getTime();
      await this.o.store.prune(new Date(pruneAt.getTime() - this.o.retentionDays * 24 * HOUR_MS));
      this.o.onFailingCount?.(await this.o.store.failingCount());
    }
    const free = this.o.concurrency - this.inFlight.size;
    if (free <= 0) return [];
    // A short lease, renewed while the batch is sent: another instance takes over a dead one's receivers within a lease.
    const now = this.o.now();
    const due = await this.o.store.claimDue(now, new Date(now.getTime() + this.o.leaseMs), free);
    if (due.length > 0) this.noReceivers = false;
    else if (now.getTime() - this.receiversCheckedAt >= RECEIVERS_CHECK_MS) {
      // Whether any receiver exists, asked at most every few seconds: idle polls stay one statement.
      this.receiversCheckedAt = now.getTime();
      this.noReceivers = !(await this.o.store.any());
    }
    // Every place taken: more receivers may be due, so the delivery that ends first looks again.
    this.starved = due.length === free;
    return due.map((receiver) => {
      const wakesAtStart = this.wakes;
      const delivery = this.deliverTo(receiver)
        .catch(async (error: unknown) => {
          // Not the receiver's answer (a query, a bug): retried with backoff like a refusal, never in a loop.
          this.o.onError?.(error);
          const at = this.o.now();
          const retryAt = new Date(at.getTime() + this.o.backoff(receiver.attempts + 1));
          const outcome: DeliveryOutcome = { delivered: false, error: describe(error), at, retryAt, failingAfterMs: FAILING_AFTER_MS };
          await this.o.store.record(receiver.id, outcome).catch(() => undefined);
          return false;
        })
        .then((more) => {
          this.inFlight.delete(receiver.id);
          if (more || this.starved || this.wakes !== wakesAtStart) this.lookNow();
        });
      this.inFlight.set(receiver.id, delivery);
      return delivery;
    });
  }

  /**
   * Sends the receiver's next batch: one chain per subject, each in outbox order, up to
   * `parallel` SETs in flight. The first failure stops every chain (no new SET is
   * started) and schedules the retry. The cursor then moves, in one update, past the
   * events delivered without a gap; a SET of another subject delivered beyond the first
   * failure is sent again on the retry (at least once, each subject still in order).
   * True when the batch was full (more may be pending: the next look is at once).
   */
  private async deliverTo(receiver: Receiver): Promise<boolean> {
    const lease = this.keepLease(receiver);
    let failure: string | null = null;
    const delivered = new Set<string>();
    let events: StoredEvent[] = [];
    let head = '0';
    try {
      ({ events, head } = await this.o.store.pending(receiver, this.o.batchSize, this.o.issuer));
      const ready = events.length > 0 ? await this.prepare(receiver) : null;
      if (typeof ready === 'string') failure = ready;
      else if (ready) {
        const chains = [...bySubject(events).values()];
        let nextChain = 0;
        const lane = async () => {
          while (failure === null && !lease.lost && !this.stopping && nextChain < chains.length) {
            for (const event of chains[nextChain++]) {
              if (failure !== null || lease.lost || this.stopping) return;
              const error = await this.send(receiver, event, ready);
              if (error !== null) failure ??= error;
              else delivered.add(event.id);
            }
          }
        };
        await Promise.all(Array.from({ length: Math.min(this.o.parallel, chains.length) }, lane));
      }
    } finally {
      lease.stop();
    }
    if (lease.lost) return false; // another instance holds the receiver now; it records its own progress
    await this.recordBatch(receiver, events, head, delivered, failure, lease.held());
    return events.length === this.o.batchSize && failure === null && !this.stopping;
  }

  /** One update for the batch's progress (and one for its failure, if any), then the claim's end. */
  private async recordBatch(
    receiver: Receiver,
    events: StoredEvent[],
    head: string,
    delivered: Set<string>,
    failure: string | null,
    heldUntil: Date | null,
  ): Promise<void> {
    const at = this.o.now();
    const firstMissed = events.findIndex((event) => !delivered.has(event.id));
    let cursor: string | null = null;
    if (firstMissed > 0) cursor = String(BigInt(events[firstMissed].id) - 1n);
    else if (firstMissed === -1 && events.length > 0) cursor = events[events.length - 1].id;
    // The whole batch went (or nothing matched): skip the events it did not ask for up to the head.
    if (failure === null && !this.stopping && events.length < this.o.batchSize && BigInt(head) > BigInt(cursor ?? receiver.lastDeliveredId)) cursor = head;
    let after: Receiver | null = receiver;
    if (cursor !== null && BigInt(cursor) > BigInt(receiver.lastDeliveredId)) {
      after = await this.o.store.record(receiver.id, { delivered: true, cursor, at: delivered.size > 0 ? at : null });
      if (receiver.failing && delivered.size > 0) this.o.onFailingCount?.(await this.o.store.failingCount());
    }
    if (failure === null) {
      await this.o.store.release(receiver.id, this.o.now(), heldUntil);
      return;
    }
    const attempts = (after ?? receiver).attempts;
    const retryAt = new Date(at.getTime() + this.o.backoff(attempts + 1));
    const outcome: DeliveryOutcome = { delivered: false, error: failure, at, retryAt, failingAfterMs: FAILING_AFTER_MS, heldUntil };
    const failed = await this.o.store.record(receiver.id, outcome);
    const wasFailing = (after ?? receiver).failing;
    if (failed?.failing && !wasFailing) this.o.onFailing?.(failed);
    if (failed && failed.failing !== wasFailing) this.o.onFailingCount?.(await this.o.store.failingCount());
  }

  /** Once per batch: the URL's safety (a DNS lookup) and the signing key; a string says why nothing can be sent. */
  private async prepare(receiver: Receiver): Promise<SigningKey | string> {
    try {
      await checkReceiverUrl(receiver.url, this.o.allowPrivate, this.o.resolve);
      return (await this.o.keys.active()) ?? 'no active signing key';
    } catch (error) {
      return describe(error);
    }
  }

  /**
   * Renews the receiver's lease every third of it while a batch is sent, one renewal at
   * a time (a slow one is never taken for a lost lease); `lost` once another instance
   * took it; `held()` the lease this instance holds.
   */
  private keepLease(receiver: Receiver): { lost: boolean; stop: () => void; held: () => Date | null } {
    let until = receiver.nextAttemptAt;
    let renewing = false;
    const state = { lost: false, stop: () => clearInterval(timer), held: () => until };
    const timer = setInterval(
      () => {
        if (until === null || renewing || state.lost) return;
        renewing = true;
        const from = until;
        const to = new Date(this.o.now().getTime() + this.o.leaseMs);
        this.o.store
          .renew(receiver.id, from, to)
          .then((kept) => {
            if (kept) until = to;
            else state.lost = true;
          })
          .catch((error: unknown) => this.o.onError?.(error))
          .finally(() => (renewing = false));
      },
      Math.max(1, Math.floor(this.o.leaseMs / 3)),
    );
    timer.unref();
    return state;
  }

  /** POSTs one SET; null when the receiver took it (200 or 202), else what went wrong (never the SET). */
  private async send(receiver: Receiver, event: StoredEvent, key: SigningKey): Promise<string | null> {
    try {
      const set = await buildSet(event, { issuer: this.o.issuer, audience: receiver.audience, key, now: this.o.now(), full: receiver.full });
      const response = await this.o.fetch(receiver.url, {
        method: 'POST',
        headers: { 'Content-Type': `application/${SET_TYPE}`, Accept: 'application/json' },
        body: set,
        redirect: 'manual',
        signal: AbortSignal.timeout(this.o.timeoutMs),
      });
      const answer = await readAtMost(response, MAX_ANSWER_BYTES);
      if (response.status === 202 || response.status === 200) return null;
      return `HTTP ${response.status}${answer ? `: ${answer.slice(0, 200)}` : ''}`;
    } catch (error) {
      return describe(error);
    }
  }
}

const describe = (error: unknown) => (error instanceof Error ? `${error.name}: ${error.message}` : String(error));

/** The batch's events by subject, each subject's in outbox order; subjects in the order of their first event. */
function bySubject(events: StoredEvent[]): Map<string, StoredEvent[]> {
  const chains = new Map<string, StoredEvent[]>();
  for (const event of events) {
    const key = `${event.resourceType}/${event.resourceId}`;
    const chain = chains.get(key);
    if (chain) chain.push(event);
    else chains.set(key, [event]);
  }
  return chains;
}

/** At most `limit` bytes of a response body, as text; the rest is never read. */
async function readAtMost(response: Response, limit: number): Promise<string> {
  if (!response.body) return '';
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  try {
    while (size < limit) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      size += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => undefined);
  }
  return Buffer.concat(chunks).subarray(0, limit).toString('utf8');
}
