import { keptAsRead, READ_FIELDS, type EncodedRequestLogEntry, type RequestClient, type RequestLogQuery, type RequestLogSummary } from '../domain/request-log';

/**
 * Successful reads as request_read_batches stores them: each organization's reads of a
 * writer's batch in one row, as one JSON array of positional arrays (src/orm/entities/request-log.ts).
 * The store (request-log.repository.ts) writes and reads them with these.
 */

type Row = Record<string, unknown>;

/**
 * Whether an entry is a successful read, stored in request_read_batches (one row per
 * organization per batch) rather than as a row of its own (keptAsRead, in the domain).
 * It fits a positional array (READ_FIELDS, encodeRead: src/domain/request-log.ts). The
 * writer encodes most reads itself (EncodedRead); this catches the others.
 */
export function isBatchedRead(entry: EncodedRequestLogEntry): boolean {
  return keptAsRead(entry, entry.requestBody !== null, entry.changes !== '[]');
}

/** Each field's place in a read's positional array. */
const AT = Object.fromEntries(READ_FIELDS.map((field, i) => [field, i])) as Record<(typeof READ_FIELDS)[number], number>;

/** A read back from its batch: the entry's positional array, its id and organization. */
function toReadSummary(read: unknown[], id: string, organizationId: string): RequestLogSummary {
  const text = (i: number) => (typeof read[i] === 'string' ? (read[i] as string) : null);
  return {
    id,
    time: new Date(String(read[AT.time])),
    organizationId,
    requestId: text(AT.requestId) ?? '',
    credentialId: text(AT.credentialId),
    credentialName: null,
    client: (text(AT.client) ?? 'other') as RequestClient,
    userAgent: text(AT.userAgent),
    method: 'GET',
    path: text(AT.path) ?? '',
    filter: text(AT.filter),
    status: Number(read[AT.status]),
    scimType: null,
    detail: null,
    rule: null,
    durationMs: Number(read[AT.durationMs]),
    resourceIds: Array.isArray(read[AT.resourceIds]) ? (read[AT.resourceIds] as string[]) : [],
  };
}

/** A read's stored response line (its summary), or null. */
function responseOf(read: unknown[]): string | null {
  return typeof read[AT.responseBody] === 'string' ? (read[AT.responseBody] as string) : null;
}

/** A read batch's entries as listed, each with its id (`ids[i]` is the id of the i-th read). */
export function readsOf(row: Row): RequestLogSummary[] {
  const ids = (row.ids as (string | number)[]).map(String);
  const reads = JSON.parse(row.reads as string) as unknown[][];
  return reads.map((read, i) => toReadSummary(read, ids[i] as string, row.organization_id as string));
}

/** One read of a batch by its id, in full (a read keeps no request body and changes nothing), or null. */
export function readOf(row: Row, id: string): { summary: RequestLogSummary; responseBody: string | null } | null {
  const i = (row.ids as (string | number)[]).findIndex((each) => String(each) === id);
  if (i < 0) return null;
  const read = (JSON.parse(row.reads as string) as unknown[][])[i];
  return read ? { summary: toReadSummary(read, id, row.organization_id as string), responseBody: responseOf(read) } : null;
}

/** Whether a list's conditions (after the organization) let a read through. */
export function readMatches(summary: RequestLogSummary, query: RequestLogQuery): boolean {
  if (query.since && summary.time < query.since) return false;
  if (query.status && (summary.status < query.status.min || summary.status > query.status.max)) return false;
  if (query.client && summary.client !== query.client) return false;
  return true;
}

/** Newest first, by id (bigint as text). */
export function byIdDescending(a: { id: string }, b: { id: string }): number {
  return a.id.length !== b.id.length ? b.id.length - a.id.length : a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * The ids one batch of the writer takes: one `nextval` of request_log's sequence, which
 * steps by this much (the migration sets it), gives the batch a block of its own, and its
 * entries take the block's ids in order. So a batch's ids lie within ID_BLOCK of its last,
 * whoever wrote it, and an id finds its batch by one range of the primary key. The store
 * writes at most ID_BLOCK entries a statement.
 */
export const ID_BLOCK = 512;

/**
 * Between the JSON texts of a batch's organizations in their one parameter (split again by
 * `string_to_array`). Sent as a text[] instead, each text was escaped for its array literal
 * (every quote, by pg in this process: about 1.3 µs of a lookup in the server's profile)
 * and unescaped by PostgreSQL (about 1.2 µs a read; docs/benchmarks.md, #14). U+0001 never occurs in a
 * JSON text: JSON.stringify escapes control characters in strings, and nothing else in a
 * read's positional array is text.
 */
export const READS_SEPARATOR = '\u0001';

/** The batch's block, taken once for the statement (`base`: its first id). */
const BLOCK = `block as materialized (select nextval('request_log_id_seq') as base)`;

/**
 * Rows and reads of a batch in one statement, whole or not at all. `rows`: the INSERT of
 * request_log whose first parameter is each row's position in the batch (1-based) and the
 * rest its columns' arrays (`columns`, `casts`). Reads: one row per organization, with
 * the positions, clients and statuses of its reads as array literals (they differ in
 * length), the newest read's time and the JSON texts, joined by READS_SEPARATOR into one
 * text parameter. Only organizations that exist are stored.
 */
export function insertBatch(columns: string, casts: string, rows: boolean, reads: boolean): string {
  const ORGANIZATION_EXISTS = 'exists (select 1 from organizations o where o.id = x.organization_id)';
  const insertRows = `insert into request_log (id, ${columns})
    select (select base from block) + x.position - 1, ${columns} from unnest(?::int[], ${casts}) as x(position, ${columns})
    where x.organization_id is null or ${ORGANIZATION_EXISTS}`;
  const insertReads = `insert into request_read_batches (organization_id, last_id, first_id, entries, created_at, clients, statuses, ids, reads)
    select x.organization_id, x.ids[cardinality(x.ids)], x.ids[1], cardinality(x.ids), x.created_at, x.clients, x.statuses, x.ids, x.reads
    from (select u.organization_id, array(select (select base from block) + p - 1 from unnest(u.positions::int[]) as p) as ids,
            u.created_at, u.clients::text[] as clients, u.statuses::smallint[] as statuses, u.reads
          from unnest(?::uuid[], ?::text[], ?::timestamptz[], ?::text[], ?::text[], string_to_array(?::text, chr(1))) as u(organization_id, positions, created_at, clients, statuses, reads)) x
    where ${ORGANIZATION_EXISTS}`;
  if (rows && reads) return `with ${BLOCK}, rows as (${insertRows}) ${insertReads}`;
  return `with ${BLOCK} ${rows ? insertRows : insertReads}`;
}

/**
 * Read batches in a list's first page, when it walks them newest first; each next page is
 * twice as many, up to READ_PAGE_MAX. Under load one batch holds a hundred reads or more
 * and the first page is enough; under a trickle a batch may hold one.
 */
export const READ_PAGE_FIRST = 2;
export const READ_PAGE_MAX = 64;
