import type { Pool } from 'pg';
import {
  encodeRead,
  isEncodedRead,
  refusalRule,
  type EncodedForBatch,
  type EncodedRequestLogEntry,
  type RequestClient,
  type RequestLogEntry,
  type RequestLogQuery,
  type RequestLogStore,
  type RequestLogSummary,
  type ResourceChange,
} from '../domain/request-log';
import { normalizeDatabaseError } from './errors';
import {
  byIdDescending,
  ID_BLOCK,
  insertBatch,
  isBatchedRead,
  READ_PAGE_FIRST,
  READ_PAGE_MAX,
  readMatches,
  readOf,
  READS_SEPARATOR,
  readsOf,
} from './request-read-batches';
import { pruneBeyondCap } from './request-log-prune';
import { Sql, toDate, transaction } from './sql';

type Row = Record<string, unknown>;

/** The columns of a listed entry (`l` is request_log, `c` the credential, for its name). */
const SUMMARY = `l.id, l.organization_id, l.created_at, l.request_id, l.operation, l.credential_id, c.name as credential_name,
  l.client, l.user_agent, l.method, l.path, l.filter, l.status, l.scim_type, l.detail, l.error_code, l.duration_ms, l.resource_ids`;
const FULL = `${SUMMARY}, l.changes, l.request_body, l.response_body`;
const FROM = `from request_log l left join api_credentials c on c.id = l.credential_id`;
/** How a list's transaction begins: its statements share one snapshot, and it writes nothing. */
const SNAPSHOT = 'begin transaction isolation level repeatable read read only';

function toSummary(row: Row): RequestLogSummary {
  const code = row.error_code as string | null;
  return {
    id: String(row.id),
    time: toDate(row.created_at),
    organizationId: (row.organization_id as string | null) ?? null,
    requestId: row.request_id as string,
    ...(row.operation !== null && row.operation !== undefined ? { operation: Number(row.operation) } : {}),
    credentialId: (row.credential_id as string | null) ?? null,
    credentialName: (row.credential_name as string | null) ?? null,
    client: row.client as RequestClient,
    userAgent: (row.user_agent as string | null) ?? null,
    method: row.method as string,
    path: row.path as string,
    filter: (row.filter as string | null) ?? null,
    status: Number(row.status),
    scimType: (row.scim_type as string | null) ?? null,
    detail: (row.detail as string | null) ?? null,
    // The rule's words are the rule book's as this build has them, looked up by the stored code.
    rule: code === null ? null : refusalRule(code),
    durationMs: Number(row.duration_ms),
    resourceIds: (row.resource_ids as string[] | null) ?? [],
  };
}

function toEntry(row: Row): RequestLogEntry {
  return {
    ...toSummary(row),
    requestBody: (row.request_body as string | null) ?? null,
    responseBody: (row.response_body as string | null) ?? null,
    changes: (row.changes as ResourceChange[] | null) ?? [],
  };
}

/** The list's conditions after the organization's: since, status range, client. */
function conditions(query: RequestLogQuery): { sql: string; params: unknown[] } {
  let sql = '';
  const params: unknown[] = [];
  if (query.since) {
    sql += ' and l.created_at >= ?';
    params.push(query.since);
  }
  if (query.status) {
    sql += ' and l.status between ? and ?';
    params.push(query.status.min, query.status.max);
  }
  if (query.client) {
    sql += ' and l.client = ?';
    params.push(query.client);
  }
  return { sql, params };
}

/**
 * A read batch list's conditions after the organization's: since (its newest read), no
 * later than `above`, and a read of the client or status asked for (a batch without one is
 * skipped in the query, not read).
 */
function readBatchConditions(query: RequestLogQuery, above: string | undefined): { sql: string; params: unknown[] } {
  const parts: [string, unknown[]][] = [];
  if (query.since) parts.push([' and b.created_at >= ?', [query.since]]);
  if (above !== undefined) parts.push([' and b.last_id > ?', [above]]);
  if (query.client) parts.push([' and ? = any(b.clients)', [query.client]]);
  if (query.status) parts.push([' and exists (select 1 from unnest(b.statuses) as s where s between ? and ?)', [query.status.min, query.status.max]]);
  return { sql: parts.map(([sql]) => sql).join(''), params: parts.flatMap(([, params]) => params) };
}

/** A bigint id as text, or undefined for anything that is not one (so a lookup never errs on a bad id). */
function validId(id: string): string | undefined {
  // As a number's text (`007` is 7), so that a read's id compares with its batch's.
  return /^[0-9]{1,18}$/.test(id) ? BigInt(id).toString() : undefined;
}

/** Each stored column, and the key of an entry and SQL type it is read from (exported for bench/request-log-insert.ts). */
export const REQUEST_LOG_COLUMNS: Readonly<Record<keyof EncodedRequestLogEntry, readonly [column: string, type: string]>> = {
  organizationId: ['organization_id', 'uuid'],
  time: ['created_at', 'timestamptz'],
  requestId: ['request_id', 'text'],
  operation: ['operation', 'int'],
  credentialId: ['credential_id', 'uuid'],
  client: ['client', 'text'],
  userAgent: ['user_agent', 'text'],
  method: ['method', 'text'],
  path: ['path', 'text'],
  filter: ['filter', 'text'],
  status: ['status', 'smallint'],
  scimType: ['scim_type', 'text'],
  detail: ['detail', 'text'],
  errorCode: ['error_code', 'text'],
  durationMs: ['duration_ms', 'real'],
  resourceIds: ['resource_ids', 'jsonb'],
  changes: ['changes', 'jsonb'],
  requestBody: ['request_body', 'text'],
  responseBody: ['response_body', 'text'],
};
const keys = Object.keys(REQUEST_LOG_COLUMNS) as (keyof EncodedRequestLogEntry)[];
const columns = keys.map((k) => REQUEST_LOG_COLUMNS[k][0]).join(', ');
/**
 * A batch's rows go in with one array per column, `unnest`ed into rows (the statements:
 * `insertBatch` in request-read-batches.ts). In steady state PostgreSQL spends about the
 * same on it as on the batch as one JSON array (`json_to_recordset`, before), about 10 µs
 * an entry; the JSON array cost up to three times more in some runs, in a connection's
 * first seconds; the arrays never did (docs/benchmarks.md, #14). An entry of an
 * organization deleted meanwhile is left out, not an error for the batch.
 */
const casts = keys.map((k) => `?::${REQUEST_LOG_COLUMNS[k][1]}[]`).join(', ');
/** A batch's statements by what it holds (rows, reads or both), built once. */
const INSERTS = {
  rows: insertBatch(columns, casts, true, false),
  reads: insertBatch(columns, casts, false, true),
  both: insertBatch(columns, casts, true, true),
};

/** The batch's arrays, one per column in `keys` order (a missing value as NULL). */
function columnArrays(entries: readonly EncodedRequestLogEntry[]): unknown[][] {
  const arrays: unknown[][] = keys.map(() => new Array<unknown>(entries.length));
  for (let i = 0; i < entries.length; i++) {
    const entry = entries[i] as EncodedRequestLogEntry;
    for (let k = 0; k < keys.length; k++) {
      const value = entry[keys[k] as keyof EncodedRequestLogEntry];
      (arrays[k] as unknown[])[i] = value ?? null;
    }
  }
  return arrays;
}

/**
 * request_log. Writes come in batches from the request log writer, on a pool of their own
 * when there is a server (so a batch never takes a request's connection); reads from the
 * CLI and the console, on Roster's pool. Every read is scoped by organization except the
 * two instance-level ones the operator's CLI uses.
 */
export class RequestLogSqlStore implements RequestLogStore {
  private readonly writes: Sql;
  private readonly reads: Sql;

  /** `prepare`: the batch INSERT as a named prepared statement (planned once per connection). */
  constructor(
    private readonly readPool: Pool,
    oneSession: boolean,
    writePool: Pool = readPool,
    prepare = false,
  ) {
    this.reads = Sql.onPool(readPool, false, oneSession);
    this.writes = Sql.onPool(writePool, prepare && !oneSession, oneSession);
  }

  async insert(entries: readonly EncodedForBatch[]): Promise<void> {
    if (entries.length <= ID_BLOCK) return this.insertBlock(entries);
    for (let at = 0; at < entries.length; at += ID_BLOCK) await this.insertBlock(entries.slice(at, at + ID_BLOCK));
  }

  /**
   * At most ID_BLOCK entries in one statement: the rows each with their position in the
   * batch, the successful reads one row per organization (their positions, clients,
   * statuses and JSON text), all taking their ids from one block in the entries' order, so
   * that a list shows reads and the rest in the order they came.
   */
  private async insertBlock(entries: readonly EncodedForBatch[]): Promise<void> {
    if (entries.length === 0) return;
    const rows: EncodedRequestLogEntry[] = [];
    const positions: number[] = [];
    const reads = new Map<string, { positions: number[]; clients: Set<string>; statuses: Set<number>; parts: string[]; newest: string }>();
    entries.forEach((entry, i) => {
      const read = isEncodedRead(entry) ? entry.read : isBatchedRead(entry) ? encodeRead(entry) : undefined;
      if (read === undefined) {
        rows.push(entry as EncodedRequestLogEntry);
        positions.push(i + 1);
        return;
      }
      const organization = entry.organizationId as string;
      let batch = reads.get(organization);
      if (!batch) {
        batch = { positions: [], clients: new Set(), statuses: new Set(), parts: [], newest: entry.time };
        reads.set(organization, batch);
      }
      batch.positions.push(i + 1);
      batch.clients.add(entry.client);
      batch.statuses.add(entry.status);
      batch.parts.push(read);
      if (entry.time > batch.newest) batch.newest = entry.time;
    });
    const batches = [...reads.values()];
    const readParams = [
      [...reads.keys()],
      batches.map((b) => `{${b.positions.join(',')}}`),
      batches.map((b) => b.newest),
      batches.map((b) => `{${[...b.clients].join(',')}}`),
      batches.map((b) => `{${[...b.statuses].join(',')}}`),
      batches.map((b) => `[${b.parts.join(',')}]`).join(READS_SEPARATOR),
    ];
    const rowParams = [positions, ...columnArrays(rows)];
    await this.guard(() =>
      rows.length === 0
        ? this.writes.run(INSERTS.reads, readParams)
        : batches.length === 0
          ? this.writes.run(INSERTS.rows, rowParams)
          : this.writes.run(INSERTS.both, [...rowParams, ...readParams]),
    );
  }

  async prune(before: Date, maxRows: number): Promise<number> {
    return this.guard(async () => {
      let deleted = await this.writes.run(`delete from request_log where created_at < ?`, [before]);
      const aged = await this.writes.one<Row>(
        `with d as (delete from request_read_batches where created_at < ? returning entries) select coalesce(sum(entries), 0)::int as n from d`,
        [before],
      );
      deleted += Number(aged?.n ?? 0);
      return deleted + (await pruneBeyondCap(this.writes, maxRows, undefined));
    });
  }

  async pruneBeyond(maxRows: number, organizationIds: readonly (string | null)[]): Promise<number> {
    return this.guard(() => pruneBeyondCap(this.writes, maxRows, organizationIds));
  }

  /**
   * Rows and read batches are read in one snapshot (a REPEATABLE READ transaction): a batch
   * committed between the two would otherwise show its reads without its rows.
   */
  async list(organizationId: string, query: RequestLogQuery): Promise<RequestLogSummary[]> {
    return this.guard(() => transaction(this.readPool, (client) => this.listIn(Sql.onClient(client), organizationId, query), SNAPSHOT));
  }

  private async listIn(sql: Sql, organizationId: string, query: RequestLogQuery): Promise<RequestLogSummary[]> {
    const where = conditions(query);
    const rows = await sql.all<Row>(`select ${SUMMARY} ${FROM} where l.organization_id = ?${where.sql} order by l.id desc limit ?`, [
      organizationId,
      ...where.params,
      query.limit,
    ]);
    const listed = rows.map(toSummary);
    if (query.status && (query.status.max < 200 || query.status.min > 299)) return listed;
    // A read older than the limit-th row cannot be listed: the walk through the batches stops there.
    const reads = await this.listReads(sql, organizationId, query, listed.length === query.limit ? listed[listed.length - 1]?.id : undefined);
    if (reads.length === 0) return listed;
    await this.nameCredentials(sql, reads);
    return [...listed, ...reads].sort(byIdDescending).slice(0, query.limit);
  }

  async get(organizationId: string, id: string): Promise<RequestLogEntry | null> {
    const key = validId(id);
    if (key === undefined) return null;
    const row = await this.guard(() => this.reads.one<Row>(`select ${FULL} ${FROM} where l.organization_id = ? and l.id = ?`, [organizationId, key]));
    if (row) return toEntry(row);
    return this.findRead(key, organizationId);
  }

  async listUnauthenticated(query: RequestLogQuery): Promise<RequestLogSummary[]> {
    const where = conditions(query);
    const rows = await this.guard(() =>
      this.reads.all<Row>(`select ${SUMMARY} ${FROM} where l.organization_id is null${where.sql} order by l.id desc limit ?`, [...where.params, query.limit]),
    );
    return rows.map(toSummary);
  }

  async find(id: string): Promise<RequestLogEntry | null> {
    const key = validId(id);
    if (key === undefined) return null;
    const row = await this.guard(() => this.reads.one<Row>(`select ${FULL} ${FROM} where l.id = ?`, [key]));
    if (row) return toEntry(row);
    return this.findRead(key, undefined);
  }

  /**
   * An organization's reads matching the query, newest first, at most `limit`: its batches
   * walked newest first by their last id, a page at a time, until no later batch can
   * hold an entry newer than the limit-th found (a batch's entries are all at or below its last id),
   * and no batch whose last id is at or below `above` (the limit-th row's, when the rows alone fill the list).
   */
  private async listReads(sql: Sql, organizationId: string, query: RequestLogQuery, above: string | undefined): Promise<RequestLogSummary[]> {
    const found: RequestLogSummary[] = [];
    let below: string | undefined;
    const where = readBatchConditions(query, above);
    for (let page = READ_PAGE_FIRST; ; page = Math.min(page * 2, READ_PAGE_MAX)) {
      const paging = below === undefined ? '' : ' and b.last_id < ?';
      const params = [organizationId, ...where.params, ...(below === undefined ? [] : [below])];
      const batches = await sql.all<Row>(
        `select organization_id, last_id, ids, reads from request_read_batches b where b.organization_id = ?${where.sql}${paging} order by b.last_id desc limit ${page}`,
        params,
      );
      for (const batch of batches) for (const summary of readsOf(batch)) if (readMatches(summary, query)) found.push(summary);
      found.sort(byIdDescending);
      found.length = Math.min(found.length, query.limit);
      if (batches.length < page) return found;
      below = String((batches[batches.length - 1] as Row).last_id);
      const last = found[query.limit - 1];
      if (last && byIdDescending(last, { id: below }) <= 0) return found;
    }
  }

  /**
   * A read by its id: its batch is the one whose block holds it, found by one range of the
   * primary key, `last_id` within ID_BLOCK above the id (per organization when there is
   * none given: the operator's `requests show` without `--org`).
   */
  private async findRead(id: string, organizationId: string | undefined): Promise<RequestLogEntry | null> {
    const range = `b.last_id >= ? and b.last_id < ? and b.first_id <= ?`;
    const bounds = [id, (BigInt(id) + BigInt(ID_BLOCK)).toString(), id];
    const batches = await this.guard(() =>
      organizationId === undefined
        ? this.reads.all<Row>(
            `select b.organization_id, b.last_id, b.ids, b.reads from organizations o
             cross join lateral (select * from request_read_batches b where b.organization_id = o.id and ${range}) b`,
            bounds,
          )
        : this.reads.all<Row>(`select organization_id, last_id, ids, reads from request_read_batches b where b.organization_id = ? and ${range}`, [
            organizationId,
            ...bounds,
          ]),
    );
    for (const batch of batches) {
      const read = readOf(batch, id);
      if (!read) continue;
      await this.guard(() => this.nameCredentials(this.reads, [read.summary]));
      return { ...read.summary, requestBody: null, responseBody: read.responseBody, changes: [] };
    }
    return null;
  }

  /** The credential names of reads (rows get theirs by a join). */
  private async nameCredentials(sql: Sql, summaries: RequestLogSummary[]): Promise<void> {
    const ids = [...new Set(summaries.map((s) => s.credentialId).filter((id): id is string => id !== null))];
    if (ids.length === 0) return;
    const rows = await sql.all<Row>(`select id, name from api_credentials where id = any(?::uuid[])`, [ids]);
    const names = new Map(rows.map((r) => [String(r.id), (r.name as string | null) ?? null]));
    for (const summary of summaries) if (summary.credentialId !== null) summary.credentialName = names.get(summary.credentialId) ?? null;
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw normalizeDatabaseError(error);
    }
  }
}
