import { encodeRequestLogEntry, type EncodedRequestLogEntry, type NewRequestLogEntry, type RequestLogStore, type ResourceChange } from '../domain/request-log';
import { clientOf } from './client';
import { BODY_CAP_BYTES, redactText, redactValue, storable, storedBody } from './redact';

/** A body as the request left it: the parsed JSON value, or text (a response as sent, a request body that did not parse). */
export interface RawBody {
  value?: unknown;
  text?: string;
  /** Text Roster wrote (a response): it never holds a password. */
  ours?: boolean;
}

/**
 * One request (or Bulk operation) as the SCIM layer hands it over when the response has
 * gone: references to its bodies, not yet redacted. `record` redacts, caps and
 * serialises it at once (the fields it shares with NewRequestLogEntry pass as they are).
 */
export interface RawEntry extends Omit<NewRequestLogEntry, 'client' | 'userAgent' | 'requestBody' | 'responseBody'> {
  /** The User-Agent header as sent (the writer tells the client from it). */
  userAgent: string | undefined;
  requestBody: RawBody;
  responseBody: RawBody;
  /** How much of the response body to keep (BODY_CAP_BYTES, less for a successful read). */
  responseCap: number;
}

/** What the writer reports: entries stored, entries dropped (the buffer was full, or their batch failed), a failure. */
export interface WriterObserver {
  written?(count: number): void;
  dropped?(count: number, reason: 'full' | 'failed'): void;
  failed?(error: unknown): void;
}

export interface RequestLogWriterOptions {
  store: Pick<RequestLogStore, 'insert' | 'prune'>;
  /** ROSTER_REQUEST_LOG_DAYS: entries older are pruned. */
  retentionDays: number;
  /** ROSTER_REQUEST_LOG_MAX_ROWS: each organization keeps at most its newest this many. */
  maxRows: number;
  /** Entries held at most before the oldest are dropped (10,000). */
  capacity?: number;
  /** Bytes of entries (as stored) held at most before the oldest are dropped (64 MB). */
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
}

/**
 * The request log's writer. `record` runs once the response has gone: it redacts and caps
 * the entry, serialises it once into the JSON the store inserts, and puts that string in a
 * bounded ring buffer. Every `flushEveryMs` (or as soon as a batch is full) the writer
 * stores up to `batchSize` held entries with one INSERT. When the buffer is full the
 * oldest entry is dropped and counted; a batch the database refuses (an outage) is
 * dropped and counted too. Nothing here ever throws into a request.
 *
 * Why serialise at once rather than in the batch, and why batches are a tenth of a second
 * apart: an entry that outlives V8's young generation is promoted and traced by the old
 * generation's collector. Held as its request's objects (bodies, arrays, the parsed
 * request) for a second, under a read load that cost more than everything else the log
 * does; held as one string it costs a copy, and stored within 100 ms it mostly dies young
 * (docs/benchmarks.md, #14).
 */
export class RequestLogWriter {
  private readonly o: Required<Omit<RequestLogWriterOptions, 'store'>> & Pick<RequestLogWriterOptions, 'store'>;
  private readonly ring: (EncodedRequestLogEntry | undefined)[];
  private head = 0;
  private size = 0;
  private bytes = 0;
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private pruneTimer: NodeJS.Timeout | undefined;
  private pruning: Promise<void> | undefined;
  private stopped = false;
  private kicked = false;
  private observer: WriterObserver = {};

  constructor(options: RequestLogWriterOptions) {
    this.o = { capacity: 10_000, maxBytes: 64 * 1024 * 1024, batchSize: 500, flushEveryMs: 100, pruneEveryMs: 600_000, ...options };
    this.ring = new Array<EncodedRequestLogEntry | undefined>(this.o.capacity);
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
  record(entry: RawEntry): void {
    if (this.stopped) return;
    let row: EncodedRequestLogEntry;
    try {
      row = encodeRequestLogEntry(stored(entry));
    } catch (error) {
      this.observer.dropped?.(1, 'failed');
      this.observer.failed?.(error);
      return;
    }
    let dropped = 0;
    while (this.size > 0 && (this.size >= this.o.capacity || this.bytes + row.length > this.o.maxBytes)) {
      this.shift();
      dropped += 1;
    }
    this.ring[(this.head + this.size) % this.o.capacity] = row;
    this.size += 1;
    this.bytes += row.length;
    if (dropped > 0) this.observer.dropped?.(dropped, 'full');
    if (this.size >= this.o.batchSize && !this.flushing && !this.kicked) {
      // A full batch goes now rather than at the interval (once: the drain takes what comes meanwhile).
      this.kicked = true;
      setImmediate(() => void this.write(false));
    } else {
      this.timer ??= setTimeout(() => void this.write(false), this.o.flushEveryMs).unref();
    }
  }

  /** Starts the background prune (the server does; a CLI process does not). */
  start(): void {
    if (this.pruneTimer || this.stopped) return;
    const prune = () => {
      this.pruning = this.o.store
        .prune(new Date(Date.now() - this.o.retentionDays * 86_400_000), this.o.maxRows)
        .then(() => undefined)
        .catch((error: unknown) => this.observer.failed?.(error))
        .finally(() => (this.pruning = undefined));
    };
    this.pruneTimer = setInterval(prune, this.o.pruneEveryMs).unref();
    setTimeout(prune, 5_000).unref();
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
    this.pruneTimer = undefined;
    await this.flush();
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.pruning;
  }

  private shift(): EncodedRequestLogEntry {
    const row = this.ring[this.head] as EncodedRequestLogEntry;
    this.ring[this.head] = undefined;
    this.head = (this.head + 1) % this.o.capacity;
    this.size -= 1;
    this.bytes -= row.length;
    return row;
  }

  /** Batches (see write); a failed batch is dropped and ends the round (the next timer tries again). */
  private async drain(all: boolean): Promise<void> {
    for (let first = true; this.size > 0 && (first || all || this.size >= this.o.batchSize); first = false) {
      const batch: EncodedRequestLogEntry[] = [];
      while (this.size > 0 && batch.length < this.o.batchSize) batch.push(this.shift());
      try {
        await this.o.store.insert(batch);
        this.observer.written?.(batch.length);
      } catch (error) {
        this.observer.dropped?.(batch.length, 'failed');
        this.observer.failed?.(error);
        return;
      }
    }
  }
}

/** Short text fields: redacted, storable, at most `max` characters. */
function short(text: string | null | undefined, max: number): string | null {
  if (text === null || text === undefined) return null;
  return storable(redactText(text.length > max ? `${text.slice(0, max)}…` : text));
}

/** A raw entry as stored: the client told, bodies redacted and capped, text made storable. */
export function stored(entry: RawEntry): NewRequestLogEntry {
  return {
    time: entry.time,
    organizationId: entry.organizationId,
    requestId: entry.requestId,
    ...(entry.operation !== undefined ? { operation: entry.operation } : {}),
    credentialId: entry.credentialId,
    client: clientOf(entry.userAgent),
    userAgent: short(entry.userAgent, 256),
    method: short(entry.method, 16) ?? '',
    path: short(entry.path, 2_048) ?? '',
    filter: short(entry.filter, 4_096),
    status: entry.status,
    scimType: entry.scimType,
    detail: short(entry.detail, 4_096),
    errorCode: entry.errorCode,
    durationMs: Math.round(entry.durationMs * 10) / 10,
    resourceIds: entry.resourceIds,
    // The values a write changed are the user's data, and redacted like a body.
    changes: entry.changes.length === 0 ? [] : (redactValue(entry.changes) as ResourceChange[]),
    requestBody: storedBody(entry.requestBody, BODY_CAP_BYTES),
    responseBody: storedBody(entry.responseBody, entry.responseCap),
  };
}
