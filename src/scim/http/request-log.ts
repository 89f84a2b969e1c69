import type { NextFunction, Request, Response } from 'express';
import type { ResourceChange } from '../../domain/request-log';
import { BODY_CAP_BYTES } from '../../requestlog/redact';
import type { RawBody, RawEntry } from '../../requestlog/writer';
import { locals, type BulkOperationRecord, type RequestRecord } from './http';

/** Where the request log's entries go: the writer (src/requestlog/writer.ts). */
export interface RequestLogSink {
  record(entry: RawEntry): void;
}

/**
 * The response of a successful read is not kept: it is the directory's own data, which
 * can be read again, and a sync reads far more than it writes (every page kept would
 * make the log mostly copies of users). What a person needs of it is kept instead: the
 * ids of the resources it returned and, for a list, `totalResults` (a lookup that found
 * nothing is how an identity provider decides to create).
 */
const MAX_READ_IDS = 100;
const RESOURCE_ID = /"id":"([^"]{1,64})"/g;
const TOTAL_RESULTS = /"totalResults":(\d+)/;

/** What the log keeps of a successful read's response: a line saying what it held. */
function readSummary(text: string): { summary: string; ids: string[] } {
  const ids: string[] = [];
  for (const match of text.matchAll(RESOURCE_ID)) {
    if (ids.length >= MAX_READ_IDS) break;
    ids.push(match[1]);
  }
  const total = TOTAL_RESULTS.exec(text.slice(0, 400))?.[1];
  const what = total !== undefined ? `totalResults ${total}, ${ids.length} resource(s) on the page` : `${ids.length} resource(s)`;
  return { summary: `[a successful read: not kept; ${what}, ${Buffer.byteLength(text, 'utf8')} bytes]`, ids };
}

const RESOURCE_PATH = /\/(?:Users|Groups)\/([^/?]+)/i;

/**
 * The request log's step, first in the SCIM router: it gives the request a record (the
 * actor carries it to the services as their ChangeJournal) and, once the response has
 * gone ('finish'), hands the sink one entry for the request and one per Bulk operation.
 * The writer redacts and serialises it there and then, after the response.
 *
 * A request that did not authenticate has no organization: its entry has none, and
 * keeps neither its bodies nor its filter (they could be anyone's); only the operator's
 * CLI shows it (`requests --unauthenticated`).
 */
export function requestLogging(sink: RequestLogSink) {
  return (req: Request, res: Response, next: NextFunction) => {
    const time = new Date();
    const started = process.hrtime.bigint();
    const record: RequestRecord = {
      resources: [],
      operations: [],
      changed(change) {
        // A write tried again after a stale read reports again: the last report of a resource stands.
        const i = this.resources.findIndex((r) => r.resourceId === change.resourceId && r.resourceType === change.resourceType);
        if (i >= 0) this.resources[i] = change;
        else this.resources.push(change);
      },
    };
    locals(res).log = record;
    res.on('finish', () => {
      try {
        const durationMs = Number(process.hrtime.bigint() - started) / 1e6;
        const entry = requestEntry(req, res, record, time, durationMs);
        sink.record(entry);
        for (const op of record.operations) sink.record(operationEntry(entry, op));
      } catch {
        // The log never fails a request, and this one has already been answered.
      }
    });
    next();
  };
}

function requestEntry(req: Request, res: Response, record: RequestRecord, time: Date, durationMs: number): RawEntry {
  const { actor, error, responseText, requestId } = locals(res);
  const url = req.originalUrl;
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  const authenticated = actor !== undefined;
  const status = res.statusCode;
  const filter = authenticated && typeof req.query?.filter === 'string' ? req.query.filter : null;
  const requestBody = authenticated ? bodyOf(req) : {};
  const read = (req.method === 'GET' || req.method === 'HEAD') && status < 400;
  const summary = authenticated && read && responseText !== undefined ? readSummary(responseText) : undefined;
  const responseBody: RawBody = summary
    ? { text: summary.summary, ours: true }
    : authenticated && responseText !== undefined
      ? { text: responseText, ours: true }
      : {};
  return {
    time,
    organizationId: actor?.organizationId ?? null,
    credentialId: actor?.credentialId ?? null,
    requestId,
    userAgent: req.get('user-agent'),
    method: req.method,
    path,
    filter,
    status,
    scimType: error?.scimType ?? null,
    detail: error?.detail ?? null,
    errorCode: error?.code ?? null,
    durationMs,
    // A Bulk request's resources are its operations' (each operation's entry has its changes).
    resourceIds: summary
      ? summary.ids
      : resourceIds(path, status < 400 ? [...record.resources, ...record.operations.flatMap((o) => (o.status < 400 ? o.resources : []))] : []),
    changes: status < 400 ? record.resources : [],
    requestBody,
    responseBody,
    responseCap: BODY_CAP_BYTES,
  };
}

/** The request's parsed body; else, when it did not parse, its raw text (at most the body limit: it was read). */
function bodyOf(req: Request): RawBody {
  if (req.body !== undefined) return { value: req.body as unknown };
  const raw = (req as Request & { rawBody?: Buffer }).rawBody;
  return raw !== undefined && raw.length > 0 ? { text: raw.toString('utf8') } : {};
}

/** The resources a request touched: those its writes report, else the one its path names. */
function resourceIds(path: string, resources: ResourceChange[]): string[] {
  if (resources.length > 0) return [...new Set(resources.map((r) => r.resourceId))];
  const match = RESOURCE_PATH.exec(path);
  if (!match) return [];
  try {
    const id = decodeURIComponent(match[1]);
    return id.startsWith('bulkId:') ? [] : [id];
  } catch {
    return [];
  }
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
