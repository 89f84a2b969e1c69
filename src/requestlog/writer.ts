import {
  encodeRead,
  encodeRequestLogEntry,
  type EncodedForBatch,
  type EncodedRead,
  keptAsRead,
  type NewRequestLogEntry,
  type RequestClient,
  type RequestLogStore,
  type ResourceChange,
} from '../domain/request-log';
import { clientOf } from './client';
import { readSummary } from './read-summary';
import { BODY_CAP_BYTES, redactText, redactValue, storable, storedBody } from './redact';

/** A body as the request left it: the parsed JSON value, or text (a response as sent, a request body that did not parse). */
export interface RawBody {
  value?: unknown;
  text?: string;
  /** Text Roster wrote (a response): it never holds a password. */
  ours?: boolean;
  /**
   * `kept` is a successful read's summary line (`readResponse` made it, with the read's
   * ids, when the response had gone): the writer may encode the entry as a read at once.
   */
  read?: boolean;
  /** A parsed value's size as received (the decoded body's bytes), for the writer's byte bound; unknown: stored at once. */
  bytes?: number;
  /** The body's stored form, made when the entry was recorded (a large body is redacted and capped then, not held). */
  kept?: string | null;
}

/**
 * A body larger than this (or a parsed one of unknown size, such as a Bulk operation's) is
 * redacted and capped when recorded, as it would be in its batch, and only its stored form
 * (at most 64 KB) is held: the entries held stay bounded by what the log stores, not by
 * what clients send. Most SCIM bodies are far smaller and wait for the batch as they are.
 */
const HELD_AS_IS_BYTES = 16 * 1024;
/** A parsed body takes more memory than its JSON: counted at this many times its size as received. */
const PARSED_OVERHEAD = 3;

/**
 * One request (or Bulk operation) as the SCIM layer hands it over when the response has
 * gone: references to its bodies, not yet redacted. The writer redacts, caps and
 * serialises it with its batch (the fields it shares with NewRequestLogEntry pass as they are).
 */
export interface RawEntry extends Omit<NewRequestLogEntry, 'client' | 'userAgent' | 'requestBody' | 'responseBody'> {
  /** The User-Agent header as sent (the writer tells the client from it). */
  userAgent: string | undefined;
  requestBody: RawBody;
  responseBody: RawBody;
  /** How much of the response body to keep (BODY_CAP_BYTES). */
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
   * Once a quarter of `maxRows` entries have been stored since the last prune, the next
   * one runs then rather than at its interval, but no sooner than this after the last, ms
   * (30 s): under a steady load an organization stays near its cap, not up to ten
   * minutes of entries beyond it.
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
  private storedSincePrune = 0;
  private lastPrune = 0;
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
    setTimeout(() => this.prune(), this.o.firstPruneAfterMs).unref();
  }

  /** One prune by age and by each organization's cap, unless one is running or the writer has stopped. */
  private prune(): void {
    if (this.pruning || this.stopped) return;
    this.storedSincePrune = 0;
    this.lastPrune = Date.now();
    this.pruning = this.o.store
      .prune(new Date(Date.now() - this.o.retentionDays * 86_400_000), this.o.maxRows)
      .then(() => undefined)
      .catch((error: unknown) => this.observer.failed?.(error))
      .finally(() => {
        this.pruning = undefined;
        // Entries stored while it ran may make another burst.
        this.pruneAfterBurst();
      });
  }

  /** A prune now, when the background prune is on and a quarter of the cap has been stored since the last one (pruneAfterVolumeMs). */
  private pruneAfterBurst(): void {
    if (!this.pruneTimer || this.storedSincePrune < this.o.maxRows / 4) return;
    if (Date.now() - this.lastPrune >= this.o.pruneAfterVolumeMs) this.prune();
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
        this.storedSincePrune += batch.length;
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

/** Whether a body is held as it is until its batch (see HELD_AS_IS_BYTES). */
function heldAsIs(body: RawBody): boolean {
  if (body.kept !== undefined) return true;
  if (body.value !== undefined) return body.bytes !== undefined && body.bytes <= HELD_AS_IS_BYTES;
  return (body.text?.length ?? 0) <= HELD_AS_IS_BYTES;
}

/** The entry to hold: as it is, or with its large bodies already in their stored form. */
function holdable(entry: RawEntry): RawEntry {
  const request = heldAsIs(entry.requestBody);
  const response = heldAsIs(entry.responseBody);
  if (request && response) return entry;
  const held: RawEntry = { ...entry };
  if (!request) held.requestBody = { kept: storedRequest(entry.requestBody) };
  if (!response) held.responseBody = { kept: storedResponse(entry) };
  return held;
}

/** What an entry held counts against the byte bound: its bodies' sizes and a little more for the rest. */
function sizeOf(entry: RawEntry): number {
  return 256 + bodySize(entry.requestBody) + bodySize(entry.responseBody);
}

function bodySize(body: RawBody): number {
  if (body.kept !== undefined) return body.kept?.length ?? 0;
  if (body.value !== undefined) return (body.bytes ?? 0) * PARSED_OVERHEAD;
  return body.text?.length ?? 0;
}

/** Short text fields: redacted, storable, at most `max` characters. */
function short(text: string | null | undefined, max: number): string | null {
  if (text === null || text === undefined) return null;
  return storable(redactText(text.length > max ? `${text.slice(0, max)}…` : text));
}

/** The User-Agent last seen, as the log stores it and the client it names: a sync sends one agent for all its requests. */
let lastAgent: { sent: string | undefined; client: RequestClient; stored: string | null } = { sent: undefined, client: 'other', stored: null };
function agentOf(userAgent: string | undefined): { client: RequestClient; stored: string | null } {
  if (userAgent !== lastAgent.sent) lastAgent = { sent: userAgent, client: clientOf(userAgent), stored: short(userAgent, 256) };
  return lastAgent;
}

/**
 * A successful read's response as the log keeps it (its summary line, which gives the
 * response's size in bytes as sent) and the ids it returned: made when it has gone, so
 * its text is not held for the batch.
 */
export function readResponse(text: string, bytes: number): { body: RawBody; ids: string[] } {
  const read = readSummary(text, bytes);
  return { body: { kept: read.summary, read: true }, ids: read.ids };
}

/**
 * A successful read (keptAsRead, its response summarised by readResponse) encoded
 * straight into its batch's positional array: what `stored`, `encodeRequestLogEntry` and
 * the store's `encodeRead` make of it, without the two entry objects between. Anything
 * else: undefined (it goes the way of a row, where the store asks keptAsRead again).
 */
function encodedRead(entry: RawEntry): EncodedRead | undefined {
  const { responseBody: response, organizationId } = entry;
  if (!response.read || response.kept === undefined || organizationId === null) return undefined;
  if (!keptAsRead(entry, storedRequest(entry.requestBody) !== null, entry.changes.length > 0)) return undefined;
  const agent = agentOf(entry.userAgent);
  const time = entry.time.toISOString();
  const read = encodeRead({
    time,
    requestId: entry.requestId,
    credentialId: entry.credentialId,
    client: agent.client,
    userAgent: agent.stored,
    path: storedPath(entry),
    filter: storedFilter(entry),
    status: entry.status,
    durationMs: storedDuration(entry),
    resourceIds: JSON.stringify(entry.resourceIds),
    responseBody: response.kept,
  });
  return { organizationId, time, client: agent.client, status: entry.status, read };
}

/** A raw entry as stored: the client told, bodies redacted and capped, text made storable. */
export function stored(entry: RawEntry): NewRequestLogEntry {
  const agent = agentOf(entry.userAgent);
  return {
    time: entry.time,
    organizationId: entry.organizationId,
    requestId: entry.requestId,
    ...(entry.operation !== undefined ? { operation: entry.operation } : {}),
    credentialId: entry.credentialId,
    client: agent.client,
    userAgent: agent.stored,
    method: short(entry.method, 16) ?? '',
    path: storedPath(entry),
    filter: storedFilter(entry),
    status: entry.status,
    scimType: entry.scimType,
    detail: short(entry.detail, 4_096),
    errorCode: entry.errorCode,
    durationMs: storedDuration(entry),
    resourceIds: entry.resourceIds,
    // The values a write changed are the user's data, and redacted like a body.
    changes: entry.changes.length === 0 ? [] : (redactValue(entry.changes) as ResourceChange[]),
    requestBody: storedRequest(entry.requestBody),
    responseBody: storedResponse(entry),
  };
}

/** The fields a read and a row store alike (encodedRead, stored). */
function storedPath(entry: RawEntry): string {
  return short(entry.path, 2_048) ?? '';
}

function storedFilter(entry: RawEntry): string | null {
  return short(entry.filter, 4_096);
}

function storedDuration(entry: RawEntry): number {
  return Math.round(entry.durationMs * 10) / 10;
}

/** A request body as stored: its kept form, or redacted and capped now. */
function storedRequest(body: RawBody): string | null {
  return body.kept !== undefined ? body.kept : storedBody(body, BODY_CAP_BYTES);
}

/** A response body as stored: its kept form, or redacted and capped now. */
function storedResponse(entry: RawEntry): string | null {
  const r = entry.responseBody;
  return r.kept !== undefined ? r.kept : storedBody(r, entry.responseCap);
}
