import { encodeRequestLogEntry, type EncodedForBatch, type RequestLogStore } from '../domain/request-log';
import { encodedRead, holdable, sizeOf, stored, type RawEntry } from './entry';

/** What the writer reports: entries stored, entries dropped (the buffer was full, or their batch failed), a failure. */
export interface WriterObserver {
  written?(count: number): void;
  dropped?(count: number, reason: 'full' | 'failed'): void;
  failed?(error: unknown): void;
}

export interface RequestLogWriterOptions {
  store: Pick<RequestLogStore, 'insert' | 'prune' | 'pruneBeyond'>;
  /** ROSTER_REQUEST_LOG_DAYS: entries older are pruned. */
  retentionDays: number;
  /** ROSTER_REQUEST_LOG_MAX_ROWS: each organization keeps at most its newest this many. */
  maxRows: number;
  /** Entries held at most before the oldest are dropped (10,000). */
  capacity?: number;
  /** Bytes of entries held at most before the oldest are dropped (64 MB; an entry counts its bodies' sizes and a little more). */
  maxBytes?: number;
  /** Entries per INSERT at most (500). */
  batchSize?: number;
  /**
   * How long an entry may wait for its batch, ms (100). Short on purpose: an entry held
   * past two of V8's young-generation collections (a few hundred ms under load) is promoted
   * to the old generation, and at 1 s every entry was, costing a lookup about 26 µs of the
   * server's CPU (docs/benchmarks.md, #14); a batch a tenth of a second is still hundreds
   * of entries under load, one statement.
   */
  flushEveryMs?: number;
  /** Between two prunes, ms (10 minutes). */
  pruneEveryMs?: number;
  /** The first prune, this long after `start`, ms (5 s). */
  firstPruneAfterMs?: number;
  /**
   * An organization that has stored a quarter of `maxRows` entries since its last prune is
   * pruned to its cap then (that organization alone; the prune at the interval goes on),
   * but no sooner than this after the last prune of any kind ended, ms (30 s): under a
   * steady load an organization stays near its cap, not up to ten minutes of entries beyond it.
   */
  pruneAfterVolumeMs?: number;
}

/**
 * The request log's writer. `record` runs once the response has gone and puts the entry
 * in a bounded ring buffer, as it is (a large body in its stored form: HELD_AS_IS_BYTES).
 * Every `flushEveryMs` (or as soon as a batch is full) the writer takes up to
 * `batchSize` held entries, redacts, caps and serialises each one
 * (`stored`, then `encodeRequestLogEntry`) and stores them with one INSERT. When the
 * buffer is full the oldest entry is dropped and counted; an entry that cannot be
 * serialised, and a batch the database refuses (an outage), are dropped and counted too.
 * Nothing here ever throws into a request.
 *
 * Why the work waits for the batch: done in each request's `finish`, between its
 * response and the next request's parsing, the same code ran several times slower than
 * in one loop over a batch (caches cold); held for a tenth of a second, an entry's few
 * objects mostly die young. Why batches are a tenth of a second apart: an entry that
 * outlives V8's young generation is promoted and traced by the old generation's
 * collector; held for a second, every entry was (docs/benchmarks.md, #14).
 */
export class RequestLogWriter {
  private readonly o: Required<Omit<RequestLogWriterOptions, 'store'>> & Pick<RequestLogWriterOptions, 'store'>;
  private readonly ring: (RawEntry | undefined)[];
  private readonly sizes: Float64Array;
  private head = 0;
  private size = 0;
  private bytes = 0;
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private pruning: Promise<void> | undefined;
  /** Entries stored since the organization's last prune began, by organization ('' for none), and the most of any one. */
  private readonly storedSincePrune = new Map<string, number>();
  private busiestSincePrune = 0;
  /** When the last prune ended (ms). */
  private lastPrune = 0;
  private firstPrune: NodeJS.Timeout | undefined;
  /** A full prune came due while another prune ran: it runs when that one ends. */
  private fullPruneWanted = false;
  private stopped = false;
  private kicked = false;
  private observer: WriterObserver = {};

  constructor(options: RequestLogWriterOptions) {
    this.o = {
      capacity: 10_000,
      maxBytes: 64 * 1024 * 1024,
      batchSize: 500,
      flushEveryMs: 100,
      pruneEveryMs: 600_000,
      firstPruneAfterMs: 5_000,
      pruneAfterVolumeMs: 30_000,
      ...options,
    };
    this.ring = new Array<RawEntry | undefined>(this.o.capacity);
    this.sizes = new Float64Array(this.o.capacity);
  }

  /** Where counts and failures go (the app's metrics and log). */
  observe(observer: WriterObserver): void {
    this.observer = observer;
  }

  /** Entries waiting for their batch. */
  get pending(): number {
    return this.size;
  }

  /** Takes an entry; never blocks, never throws. */
  record(raw: RawEntry): void {
    if (this.stopped) return;
    let entry: RawEntry;
    try {
      entry = holdable(raw);
    } catch (error) {
      this.observer.dropped?.(1, 'failed');
      this.observer.failed?.(error);
      return;
    }
    const bytes = sizeOf(entry);
    let dropped = 0;
    while (this.size > 0 && (this.size >= this.o.capacity || this.bytes + bytes > this.o.maxBytes)) {
      this.shift();
      dropped += 1;
    }
    const at = (this.head + this.size) % this.o.capacity;
    this.ring[at] = entry;
    this.sizes[at] = bytes;
    this.size += 1;
    this.bytes += bytes;
    if (dropped > 0) this.observer.dropped?.(dropped, 'full');
    if (this.size >= this.o.batchSize && !this.flushing && !this.kicked) {
      // A full batch goes now rather than at the interval (once: the drain takes what comes meanwhile).
      this.kicked = true;
      setImmediate(() => void this.write(false));
    } else {
      this.timer ??= setTimeout(() => void this.write(false), this.o.flushEveryMs).unref();
    }
  }

  /**
   * Starts the background prune (the server does; a CLI process does not): every
   * `pruneEveryMs`, and sooner after a burst of entries (`pruneAfterVolumeMs`).
   */
  start(): void {
    if (this.pruneTimer || this.stopped) return;
    this.pruneTimer = setInterval(() => this.prune(), this.o.pruneEveryMs).unref();
    this.firstPrune = setTimeout(() => this.prune(), this.o.firstPruneAfterMs).unref();
  }

  /** One prune by age and by each organization's cap. */
  private prune(): void {
    this.pruneWith(() => this.o.store.prune(new Date(Date.now() - this.o.retentionDays * 86_400_000), this.o.maxRows));
  }

  /**
   * A prune, unless the writer has stopped: of every organization (`organizations`
   * undefined) or of those (keys of storedSincePrune), whose counts start again. One runs at
   * a time: a burst's prune asked for meanwhile is dropped (the next batch asks again), a
   * full one waits for the running one to end.
   */
  private pruneWith(work: () => Promise<number>, organizations?: readonly string[]): void {
    if (this.stopped) return;
    if (this.pruning) {
      if (organizations === undefined) this.fullPruneWanted = true;
      return;
    }
    const taken = new Map(organizations === undefined ? this.storedSincePrune : organizations.map((o) => [o, this.storedSincePrune.get(o) ?? 0]));
    for (const organization of taken.keys()) this.storedSincePrune.delete(organization);
    this.recountBusiest();
    this.pruning = work()
      .then(() => undefined)
      .catch((error: unknown) => {
        // Not pruned: their counts stand, with what was stored meanwhile.
        for (const [organization, stored] of taken) this.storedSincePrune.set(organization, (this.storedSincePrune.get(organization) ?? 0) + stored);
        this.recountBusiest();
        this.observer.failed?.(error);
      })
      .finally(() => {
        this.pruning = undefined;
        this.lastPrune = Date.now();
        if (this.fullPruneWanted) {
          this.fullPruneWanted = false;
          this.prune();
        } else {
          // Entries stored while it ran may make another burst.
          this.pruneAfterBurst();
        }
      });
  }

  private recountBusiest(): void {
    this.busiestSincePrune = 0;
    for (const stored of this.storedSincePrune.values()) this.busiestSincePrune = Math.max(this.busiestSincePrune, stored);
  }

  /**
   * A prune by the cap of the organizations that have stored a quarter of it since their
   * last prune began, when the background prune is on and the last prune (of any kind)
   * ended at least `pruneAfterVolumeMs` ago; the others wait for theirs.
   */
  private pruneAfterBurst(): void {
    const quarter = this.o.maxRows / 4;
    if (!this.pruneTimer || this.busiestSincePrune < quarter || Date.now() - this.lastPrune < this.o.pruneAfterVolumeMs) return;
    const bursting = [...this.storedSincePrune].filter(([, stored]) => stored >= quarter).map(([organization]) => organization);
    const ids = bursting.map((organization) => (organization === '' ? null : organization));
    this.pruneWith(() => this.o.store.pruneBeyond(this.o.maxRows, ids), bursting);
  }

  /** Stores every entry held now (and those recorded meanwhile); resolves when the buffer is empty or a batch failed. */
  flush(): Promise<void> {
    return this.write(true);
  }

  /**
   * One round of writing: a batch, then more only while a full batch is waiting (or, with
   * `all`, until nothing is). What is left waits for the next interval: under a steady
   * trickle the log writes at most one statement per interval (100 ms), not one per request.
   */
  private async write(all: boolean): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    this.kicked = false;
    // One drain at a time: a caller that finds one running waits for it, then drains what is left.
    while (this.flushing) await this.flushing;
    if (this.size === 0) return;
    this.flushing = this.drain(all).finally(() => (this.flushing = undefined));
    await this.flushing;
    if (this.size > 0 && !this.stopped) this.timer ??= setTimeout(() => void this.write(false), this.o.flushEveryMs).unref();
  }

  /** Graceful stop: no more entries taken, the held ones stored, the prune waited for. */
  async stop(): Promise<void> {
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    if (this.firstPrune) clearTimeout(this.firstPrune);
    this.pruneTimer = undefined;
    await this.flush();
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.pruning;
  }

  /** A stored batch's entries counted by organization, for the burst prune. */
  private counted(batch: readonly EncodedForBatch[]): void {
    for (const entry of batch) {
      const key = entry.organizationId ?? '';
      const n = (this.storedSincePrune.get(key) ?? 0) + 1;
      this.storedSincePrune.set(key, n);
      if (n > this.busiestSincePrune) this.busiestSincePrune = n;
    }
  }

  private shift(): RawEntry {
    const entry = this.ring[this.head] as RawEntry;
    this.ring[this.head] = undefined;
    this.bytes -= this.sizes[this.head] as number;
    this.head = (this.head + 1) % this.o.capacity;
    this.size -= 1;
    return entry;
  }

  /** Batches (see write); a failed batch is dropped and ends the round (the next timer tries again). */
  private async drain(all: boolean): Promise<void> {
    for (let first = true; this.size > 0 && (first || all || this.size >= this.o.batchSize); first = false) {
      const batch: EncodedForBatch[] = [];
      let unserialisable = 0;
      while (this.size > 0 && batch.length + unserialisable < this.o.batchSize) {
        const entry = this.shift();
        try {
          batch.push(encodedRead(entry) ?? encodeRequestLogEntry(stored(entry)));
        } catch (error) {
          unserialisable += 1;
          this.observer.failed?.(error);
        }
        // Requests go on between slices of the batch: the event loop is never held for a whole batch.
        if ((batch.length + unserialisable) % SLICE === 0) await new Promise((resolve) => setImmediate(resolve));
      }
      if (unserialisable > 0) this.observer.dropped?.(unserialisable, 'failed');
      if (batch.length === 0) continue;
      try {
        await this.o.store.insert(batch);
        this.observer.written?.(batch.length);
        this.counted(batch);
        this.pruneAfterBurst();
      } catch (error) {
        this.observer.dropped?.(batch.length, 'failed');
        this.observer.failed?.(error);
        return;
      }
    }
  }
}

/**
 * Entries made ready for the store between two turns of the event loop. A batch of 150
 * lookups' entries takes the writer about 2 ms, and one of 500 large entries several
 * times that; in one piece, every request waiting for the loop waited for all of it. In
 * slices, requests go on in between (docs/benchmarks.md, #14).
 */
const SLICE = 32;
