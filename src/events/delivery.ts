import type { StoredEvent } from '../domain/events';
import type { DeliveryOutcome, Receiver, ReceiverStore } from '../domain/receivers';
import type { SigningKeys } from './keys';
import { checkReceiverUrl, type Resolver } from './receiver-url';
import { buildSet, SET_TYPE } from './set';

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
  /** Events read per receiver and round (10). */
  batchSize?: number;
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
 * Push delivery (RFC 8935): every `intervalMs`, claims the receivers that are due
 * (FOR UPDATE SKIP LOCKED and a lease, so instances never send one receiver's events
 * at once), and sends each its next events one at a time, in outbox order, as signed
 * SETs. A 200 or 202 moves its cursor; anything else stops its round and schedules a
 * retry with backoff. At least once: a crash between a 202 and the cursor's update
 * sends that SET again. Runs apart from every SCIM request.
 */
export class DeliveryWorker {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private stopped = true;
  /** A wake came while a round ran: the next round starts at once. */
  private again = false;
  private lastPrune = 0;
  private readonly o: Required<Omit<DeliveryOptions, 'onFailing' | 'onFailingCount' | 'onError' | 'resolve'>> & DeliveryOptions;

  constructor(options: DeliveryOptions) {
    this.o = {
      intervalMs: 200,
      concurrency: 4,
      batchSize: 10,
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
    this.schedule(0);
  }

  /**
   * Runs a round now; when one is running, one more right after it. Wakes coalesce:
   * any number of them during a round make one more round, not one each.
   */
  wake(): void {
    if (this.stopped) return;
    if (this.running) {
      this.again = true;
      return;
    }
    clearTimeout(this.timer);
    this.schedule(0);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    this.timer = setTimeout(() => {
      this.again = false;
      this.running = this.round()
        .catch((error: unknown) => this.o.onError?.(error))
        .finally(() => {
          this.running = undefined;
          if (!this.stopped) this.schedule(this.again ? 0 : this.o.intervalMs);
        });
    }, ms);
    this.timer.unref();
  }

  /** One round: prune when it is time, then deliver to every due receiver, `concurrency` at a time. */
  async round(): Promise<void> {
    const now = this.o.now();
    if (now.getTime() - this.lastPrune >= this.o.pruneEveryMs) {
      this.lastPrune = now.getTime();
      await this.o.store.prune(new Date(now.getTime() - this.o.retentionDays * 24 * HOUR_MS));
      this.o.onFailingCount?.(await this.o.store.failingCount());
    }
    // The lease outlasts a whole batch of slow answers: no other instance claims the receiver meanwhile.
    const lease = new Date(now.getTime() + this.o.batchSize * this.o.timeoutMs + 30_000);
    const due = await this.o.store.claimDue(now, lease, this.o.concurrency * 4);
    let next = 0;
    const lane = async () => {
      while (next < due.length) {
        const receiver = due[next++];
        await this.deliverTo(receiver).catch(async (error: unknown) => {
          this.o.onError?.(error);
          await this.o.store.release(receiver.id).catch(() => undefined);
        });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.o.concurrency, due.length) }, lane));
  }

  /** Sends the receiver's next batch in order; stops at the first failure, which schedules the retry. */
  private async deliverTo(receiver: Receiver): Promise<void> {
    const { events, head } = await this.o.store.pending(receiver, this.o.batchSize);
    for (const event of events) {
      const error = await this.send(receiver, event);
      const at = this.o.now();
      if (error !== null) {
        const retryAt = new Date(at.getTime() + this.o.backoff(receiver.attempts + 1));
        const outcome: DeliveryOutcome = { delivered: false, error, at, retryAt, failingAfterMs: FAILING_AFTER_MS };
        const after = await this.o.store.record(receiver.id, outcome);
        if (after?.failing && !receiver.failing) this.o.onFailing?.(after);
        if (after?.failing !== receiver.failing) this.o.onFailingCount?.(await this.o.store.failingCount());
        return;
      }
      const after = await this.o.store.record(receiver.id, { delivered: true, cursor: event.id, at });
      if (receiver.failing) this.o.onFailingCount?.(await this.o.store.failingCount());
      if (after) receiver = after;
    }
    // The whole batch went (or nothing matched): skip the events it did not ask for up to the head.
    if (events.length < this.o.batchSize && BigInt(head) > BigInt(receiver.lastDeliveredId)) {
      await this.o.store.record(receiver.id, { delivered: true, cursor: head, at: null });
    }
    await this.o.store.release(receiver.id);
  }

  /** POSTs one SET; null when the receiver took it (200 or 202), else what went wrong (never the SET). */
  private async send(receiver: Receiver, event: StoredEvent): Promise<string | null> {
    try {
      await checkReceiverUrl(receiver.url, this.o.allowPrivate, this.o.resolve);
      const key = await this.o.keys.active();
      if (!key) return 'no active signing key';
      const set = await buildSet(event, { issuer: this.o.issuer, audience: receiver.audience, key, now: this.o.now() });
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
      return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
    }
  }
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
