import type { NextFunction, Request, Response } from 'express';
import { isUuid } from '../../domain/ids';
import type { ResourceChange } from '../../domain/request-log';
import { BODY_CAP_BYTES } from '../../requestlog/redact';
import { readResponse, type RawBody, type RawEntry } from '../../requestlog/entry';
import type { ReadResources } from '../../requestlog/read-summary';
import { locals, type BulkOperationRecord, type RequestRecord } from './http';

/** Where the request log's entries go: the writer (src/requestlog/writer.ts). */
export interface RequestLogSink {
  record(entry: RawEntry): void;
}

const RESOURCE_PATH = /\/(?:Users|Groups)\/([^/?]+)/i;

/**
 * What a request's services report to the log while it runs (the actor carries it as
 * their ChangeJournal). A class rather than an object literal: a request that changes
 * nothing, most of them, allocates neither a closure nor arrays for it.
 */
class LogRecord implements RequestRecord {
  private changes: ResourceChange[] | undefined;
  private bulk: BulkOperationRecord[] | undefined;
  private readonly time = new Date();
  private done = false;

  constructor(
    private readonly sink: RequestLogSink,
    private readonly req: Request,
    private readonly res: Response,
  ) {}

  finished(durationMs: number): void {
    if (this.done) return;
    this.done = true;
    try {
      const entry = requestEntry(this.req, this.res, this, this.time, durationMs);
      this.sink.record(entry);
      for (const op of this.recorded) this.sink.record(operationEntry(entry, op));
    } catch {
      // The log never fails a request, and this one has already been answered.
    }
  }

  get resources(): ResourceChange[] {
    return (this.changes ??= []);
  }

  get operations(): BulkOperationRecord[] {
    return (this.bulk ??= []);
  }

  /** The changes reported, without allocating for none. */
  get reported(): readonly ResourceChange[] {
    return this.changes ?? NONE;
  }

  /** The Bulk operations recorded, without allocating for none. */
  get recorded(): readonly BulkOperationRecord[] {
    return this.bulk ?? NONE;
  }

  changed(change: ResourceChange): void {
    // A write tried again after a stale read reports again: the last report of a resource stands.
    const resources = this.resources;
    const i = resources.findIndex((r) => r.resourceId === change.resourceId && r.resourceType === change.resourceType);
    if (i >= 0) resources[i] = change;
    else resources.push(change);
  }
}

const NONE: readonly never[] = Object.freeze([]);

/**
 * The request log's step, first in the SCIM router: it gives the request a record (the
 * actor carries it to the services as their ChangeJournal) which, once the response has
 * gone (the app's `finish` listener calls `finished`), hands the sink one entry for the
 * request and one per Bulk operation.
 * The entry holds references to what the request already made (its strings, its parsed
 * body, the response text): the writer redacts and serialises it with its batch, a
 * tenth of a second later, in one loop (src/requestlog/writer.ts). A successful read's
 * response is summarised here instead (its ids and totalResults), so that its text,
 * most of what a lookup's entry would hold, is not held for the batch.
 *
 * A request that did not authenticate has no organization: its entry has none, and
 * keeps neither its bodies nor its filter (they could be anyone's); only the operator's
 * CLI shows it (`requests --unauthenticated`).
 */
export function requestLogging(sink: RequestLogSink) {
  return (req: Request, res: Response, next: NextFunction) => {
    locals(res).log = new LogRecord(sink, req, res);
    next();
  };
}

function requestEntry(req: Request, res: Response, record: LogRecord, time: Date, durationMs: number): RawEntry {
  const { actor, error, responseText, responseBytes, requestId, read: returned } = locals(res);
  const url = req.originalUrl;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const authenticated = actor !== undefined;
  const status = res.statusCode;
  const filter = authenticated && typeof req.query?.filter === 'string' ? req.query.filter : null;
  const requestBody = authenticated ? bodyOf(req) : {};
  // A read: a GET or HEAD, or a POST of a search (`/.search`, `/Users/.search`, `/Groups/.search`).
  const reads = req.method === 'GET' || req.method === 'HEAD' || (req.method === 'POST' && path.endsWith('/.search'));
  const read =
    authenticated && reads && status < 400 && responseText !== undefined
      ? readResponse(responseText, responseBytes ?? Buffer.byteLength(responseText, 'utf8'), returned ?? single(path))
      : undefined;
  // A successful read's response is summarised now, with its ids (readResponse): its text is not held for the batch.
  const responseBody: RawBody = read ? read.body : authenticated && responseText !== undefined ? { text: responseText, ours: true } : {};
  const ok = status < 400;
  return {
    time,
    organizationId: actor?.organizationId ?? null,
    credentialId: actor?.credentialId ?? null,
    requestId,
    userAgent: req.headers['user-agent'],
    method: req.method,
    path,
    filter,
    status,
    scimType: error?.scimType ?? null,
    detail: error?.detail ?? null,
    errorCode: error?.code ?? null,
    durationMs,
    // A Bulk request's resources are its operations' (each operation's entry has its changes).
    resourceIds: read ? read.ids : resourceIds(path, ok ? [...record.reported, ...record.recorded.flatMap((o) => (o.status < 400 ? o.resources : []))] : []),
    changes: ok ? (record.reported as ResourceChange[]) : [],
    requestBody,
    responseBody,
    responseCap: BODY_CAP_BYTES,
  };
}

/** The request's parsed body; else, when it did not parse, its raw text (at most the body limit: it was read). */
function bodyOf(req: Request): RawBody {
  const raw = (req as Request & { rawBody?: Buffer }).rawBody;
  // Its size as decoded (not Content-Length: a compressed or chunked body says nothing true there).
  if (req.body !== undefined) return { value: req.body as unknown, bytes: raw?.length };
  return raw !== undefined && raw.length > 0 ? { text: raw.toString('utf8') } : {};
}

/** The resources a request touched: those its writes report, else the one its path names. */
function resourceIds(path: string, resources: ResourceChange[]): string[] {
  if (resources.length > 0) return [...new Set(resources.map((r) => r.resourceId))];
  const id = pathId(path);
  return id === undefined ? [] : [id];
}

/** The one resource a path names (`/Users/{id}`, `/Groups/{id}`), if it names one: not a search, not a Bulk reference. */
function pathId(path: string): string | undefined {
  const match = RESOURCE_PATH.exec(path);
  if (!match) return undefined;
  try {
    const id = decodeURIComponent(match[1]);
    if (id.startsWith('bulkId:') || id === '.search') return undefined;
    // Ids are UUIDs, found whatever their case: the log keeps the form the response gave.
    return isUuid(id) ? id.toLowerCase() : id;
  } catch {
    return undefined;
  }
}

/** A successful read of the one resource its path names: that resource's id, without finding it in the response. */
function single(path: string): ReadResources | undefined {
  const id = pathId(path);
  return id === undefined ? undefined : { ids: [id] };
}

/** A Bulk operation's own entry: the request's time, client and credential, the operation's method, path, bodies and outcome. */
function operationEntry(request: RawEntry, op: BulkOperationRecord): RawEntry {
  const ok = op.status < 400;
  return {
    ...request,
    operation: op.index + 1,
    method: op.method,
    path: op.path,
    filter: null,
    status: op.status,
    scimType: op.error?.scimType ?? null,
    detail: op.error?.detail ?? null,
    errorCode: op.error?.code ?? null,
    durationMs: op.durationMs,
    resourceIds: resourceIds(op.path, ok ? op.resources : []),
    changes: ok ? op.resources : [],
    requestBody: op.data === undefined ? {} : { value: op.data },
    responseBody: { value: op.response },
    responseCap: BODY_CAP_BYTES,
  };
}
