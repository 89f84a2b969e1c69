/**
 * What PostgreSQL spends storing a request log batch, by the shape of the INSERT: the
 * batch as one JSON array read by `json_to_recordset` (what Roster did before), with and
 * without its organization check and indexes, against one typed array per column read
 * by `unnest` (what it does now for every entry but a successful read), and a batch's reads
 * as one row holding one JSON text (what it does now for those), its large texts compressed
 * by pglz (PostgreSQL's default), by lz4 (what Roster sets where the server has it) or,
 * for the reads, not at all. Each variant stores BATCHES batches of BATCH copies of
 * one entry (ENTRY: its JSON, as a NewRequestLogEntry; by default a successful lookup's,
 * each of its own user)
 * into a scratch table shaped like `request_log`, on one connection, and prints the
 * backend's CPU time (from /proc) and the wall time per entry. Three rounds, interleaved.
 * A program that prints figures, not a test.
 *
 *   AB_DATABASE=<a migrated Roster database> [BATCH=150] [BATCHES=200] [ROUNDS=3] [REVERSE=1] npx tsx bench/request-log-insert.ts
 *
 * REVERSE=1 runs the variants in the opposite order (the JSON array last): its first
 * round cost depends on its place (docs/benchmarks.md, #14).
 *
 * STORE=1 instead drives Roster's own store (`RequestLogSqlStore.insert`, the statement it
 * sends as it sends it) with batches of successful lookups encoded as the writer encodes
 * them (`encodeRead`), the organizations of a batch taking turns among ORGANIZATIONS (1),
 * and prints this process's CPU time (what the server's main thread spends making the
 * statement: grouping, parameters, pg's encoding) beside the backend's, per read. Run it
 * on two versions of the code to compare their statements (`node --expose-gc --import tsx
 * bench/request-log-insert.ts`: the batches made ahead are collected before each round).
 */
import { randomUUID } from 'node:crypto';
import { Client, Pool } from 'pg';
import { encodeRead, type EncodedRead } from '../src/domain/request-log';
import { REQUEST_LOG_COLUMNS, RequestLogSqlStore } from '../src/orm/request-log.repository';
import { cpuSeconds } from './processes';

const DATABASE = process.env.AB_DATABASE;
const BATCH = Number(process.env.BATCH ?? 150);
const BATCHES = Number(process.env.BATCHES ?? 200);
const LOOKUP = {
  time: new Date().toISOString(),
  requestId: '',
  operation: null,
  credentialId: '00000000-0000-4000-8000-000000000001',
  client: 'other',
  userAgent: null,
  method: 'GET',
  path: '/scim/v2/Users',
  filter: 'userName eq "user0086357@bench.example"',
  status: 200,
  scimType: null,
  detail: null,
  errorCode: null,
  durationMs: 3.5,
  resourceIds: ['4dca572b-cd44-b8b7-3f5d-f839dfa15182'],
  changes: [],
  requestBody: null,
  responseBody: '[a successful read: not kept; totalResults 1, 1 resource(s) on the page, 1516 bytes]',
};

/** request_log's columns as Roster stores them, by the entry's key. */
const COLUMNS: Record<string, readonly [column: string, type: string]> = REQUEST_LOG_COLUMNS;
const keys = Object.keys(COLUMNS);
const columns = keys.map((k) => COLUMNS[k]?.[0]).join(', ');
const ORGANIZATION_CHECK = ` where x."organizationId" is null or exists (select 1 from organizations o where o.id = x."organizationId")`;
const fromJson = (table: string, check: boolean) =>
  `insert into ${table} (${columns}) select ${keys.map((k) => `x."${k}"`).join(', ')} from json_to_recordset($1::json) as x(${keys
    .map((k) => `"${k}" ${COLUMNS[k]?.[1]}`)
    .join(', ')})${check ? ORGANIZATION_CHECK : ''}`;
const fromArrays = (table: string, check: boolean) =>
  `insert into ${table} (${columns}) select ${columns} from unnest(${keys.map((k, i) => `$${i + 1}::${COLUMNS[k]?.[1]}[]`).join(', ')}) as x(${columns})` +
  (check ? ` where x.organization_id is null or exists (select 1 from organizations o where o.id = x.organization_id)` : '');

/** The scratch tables, dropped before and after. */
const TABLES = ['bench_log_indexed', 'bench_log_indexed_lz4', 'bench_log_bare', 'bench_log_batches', 'bench_log_batches_lz4', 'bench_log_batches_plain'];

/** A process's CPU time so far, ms (all threads). */
const cpuMs = (pid: number) => cpuSeconds(pid) * 1000;

/** STORE=1: Roster's store, batches of encoded lookups; this process's CPU and the backend's per read. */
async function storeRounds(database: string) {
  const pool = new Pool({ connectionString: database, max: 1 });
  try {
    const store = new RequestLogSqlStore(pool, false, pool, true);
    const pid = (await pool.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid as number;
    const wanted = Number(process.env.ORGANIZATIONS ?? 1);
    const organizations = (await pool.query<{ id: string }>('select id from organizations order by id limit $1', [wanted])).rows.map((r) => r.id);
    if (organizations.length < wanted) throw new Error(`the database has ${organizations.length} organization(s), ORGANIZATIONS=${wanted}`);
    const before = (await pool.query<{ id: string }>(`select coalesce(max(last_id), 0)::text as id from request_read_batches`)).rows[0]?.id ?? '0';
    let n = 0;
    const read = (): EncodedRead => {
      const organizationId = organizations[n % organizations.length] as string;
      const time = new Date().toISOString();
      n += 1;
      const user = `user${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}@bench.example`;
      return {
        organizationId,
        time,
        client: 'okta',
        status: 200,
        read: encodeRead({
          time,
          requestId: randomUUID(),
          credentialId: '00000000-0000-4000-8000-000000000001',
          client: 'okta',
          userAgent: 'Okta SCIM Client 1.0.0',
          path: '/scim/v2/Users',
          filter: `userName eq "${user}"`,
          status: 200,
          durationMs: 3.5,
          resourceIds: JSON.stringify([randomUUID()]),
          responseBody: '[a successful read: not kept; totalResults 1, 1 resource(s) on the page, 1516 bytes]',
        }),
      };
    };
    for (let round = 1; round <= Number(process.env.ROUNDS ?? 3); round++) {
      const batches = Array.from({ length: BATCHES }, () => Array.from({ length: BATCH }, read));
      // The batches made ahead are not this round's garbage (run with --expose-gc).
      (globalThis as { gc?: () => void }).gc?.();
      const cpu = cpuMs(pid);
      const own = process.cpuUsage();
      const started = process.hrtime.bigint();
      for (const batch of batches) await store.insert(batch);
      const used = process.cpuUsage(own);
      const entries = BATCH * BATCHES;
      const wall = Number(process.hrtime.bigint() - started) / 1e3 / entries;
      console.log(
        `round ${round}, Roster's store, ${organizations.length} organization(s) a batch: this process ${((used.user + used.system) / entries).toFixed(2)} µs a read, PostgreSQL ${(((cpuMs(pid) - cpu) * 1000) / entries).toFixed(2)} µs, wall ${wall.toFixed(1)} µs`,
      );
    }
    await pool.query('delete from request_read_batches where last_id > $1::bigint', [before]);
  } finally {
    await pool.end();
  }
}

async function main() {
  if (!DATABASE) throw new Error('set AB_DATABASE to a migrated Roster database (a bench database will do)');
  if (process.env.STORE) return storeRounds(DATABASE);
  const client = new Client({ connectionString: DATABASE });
  await client.connect();
  try {
    await client.query('set synchronous_commit = off; set jit = off');
    const pid = (await client.query<{ pid: number }>('select pg_backend_pid() as pid')).rows[0]?.pid as number;
    const organizationId = (await client.query<{ id: string }>('select id from organizations limit 1')).rows[0]?.id ?? null;
    const base = { ...(process.env.ENTRY ? (JSON.parse(process.env.ENTRY) as object) : LOOKUP), organizationId };
    await client.query(`drop table if exists ${TABLES.join(', ')}`);
    // Copied with their columns' compression, which is lz4 since Migration20261203041500_request_log_lz4: pglz (PostgreSQL's default) here.
    await client.query('create table bench_log_batches (like request_read_batches including all)');
    await client.query('alter table bench_log_batches alter column reads set compression pglz');
    // The JSON text compressed by lz4 instead of PostgreSQL's default (pglz), and not compressed at all.
    await client.query('create table bench_log_batches_lz4 (like request_read_batches including all)');
    await client.query('alter table bench_log_batches_lz4 alter column reads set compression lz4');
    await client.query('create table bench_log_batches_plain (like request_read_batches including all)');
    await client.query('alter table bench_log_batches_plain alter column reads set storage external');
    await client.query('create table bench_log_indexed (like request_log including all)');
    await client.query(
      'alter table bench_log_indexed alter column request_body set compression pglz, alter column response_body set compression pglz, alter column changes set compression pglz',
    );
    await client.query('create table bench_log_indexed_lz4 (like request_log including all)');
    await client.query(
      'alter table bench_log_indexed_lz4 alter column request_body set compression lz4, alter column response_body set compression lz4, alter column changes set compression lz4',
    );
    await client.query('create table bench_log_bare (like request_log including defaults)');
    let n = 0;
    // Each lookup of its own user, as a sync's are: its filter and the id it found differ (what compression makes of them).
    const varied = (): Record<string, unknown> =>
      process.env.ENTRY
        ? {}
        : { filter: `userName eq "user${String(Math.floor(Math.random() * 1e7)).padStart(7, '0')}@bench.example"`, resourceIds: [randomUUID()] };
    const batch = () =>
      Array.from({ length: BATCH }, () => ({ ...base, ...varied(), requestId: `r-${++n}`, time: new Date().toISOString() }) as Record<string, unknown>);
    const arrays = (entries: Record<string, unknown>[]) =>
      keys.map((k) => entries.map((e) => (COLUMNS[k]?.[1] === 'jsonb' ? JSON.stringify(e[k]) : (e[k] ?? null))));
    const variants: [string, (entries: Record<string, unknown>[]) => Promise<unknown>][] = [
      ['JSON array, organization check, indexes', (b) => client.query({ name: 'j1', text: fromJson('bench_log_indexed', true), values: [JSON.stringify(b)] })],
      ['JSON array, no check, indexes', (b) => client.query({ name: 'j2', text: fromJson('bench_log_indexed', false), values: [JSON.stringify(b)] })],
      ['JSON array, no check, no index', (b) => client.query({ name: 'j3', text: fromJson('bench_log_bare', false), values: [JSON.stringify(b)] })],
      ['arrays per column, check, indexes', (b) => client.query({ name: 'a1', text: fromArrays('bench_log_indexed', true), values: arrays(b) })],
      ['arrays per column, check, indexes (lz4)', (b) => client.query({ name: 'a1z', text: fromArrays('bench_log_indexed_lz4', true), values: arrays(b) })],
      ['arrays per column, no check, indexes', (b) => client.query({ name: 'a2', text: fromArrays('bench_log_indexed', false), values: arrays(b) })],
      ['arrays per column, no check, no index', (b) => client.query({ name: 'a3', text: fromArrays('bench_log_bare', false), values: arrays(b) })],
      ...(['', '_lz4', '_plain'] as const).map((table): [string, (entries: Record<string, unknown>[]) => Promise<unknown>] => [
        `reads: one row per batch, one JSON text${table === '' ? ' (pglz)' : table === '_lz4' ? ' (lz4)' : ' (not compressed)'}`,
        (b) => {
          const reads = b.map((e) =>
            JSON.stringify([
              e.time,
              e.requestId,
              e.credentialId,
              e.client,
              e.userAgent,
              e.path,
              e.filter,
              e.status,
              e.durationMs,
              e.resourceIds,
              e.responseBody,
            ]),
          );
          return client.query({
            name: `b${table}`,
            text: `insert into bench_log_batches${table} (organization_id, last_id, first_id, entries, created_at, clients, statuses, ids, reads)
              select $1::uuid, s.base + ${BATCH - 1}, s.base, ${BATCH}, now(), '{other}', '{200}', array(select s.base + g - 1 from generate_series(1, ${BATCH}) g), $2::text
              from (select nextval('request_log_id_seq') as base) s
              where exists (select 1 from organizations o where o.id = $1::uuid)`,
            values: [organizationId, `[${reads.join(',')}]`],
          });
        },
      ]),
    ];
    if (process.env.REVERSE) variants.reverse();
    for (let round = 1; round <= Number(process.env.ROUNDS ?? 3); round++) {
      for (const [name, insert] of variants) {
        const batches = Array.from({ length: BATCHES }, batch);
        const cpu = cpuMs(pid);
        const started = process.hrtime.bigint();
        for (const entries of batches) await insert(entries);
        const entries = BATCH * BATCHES;
        const wall = Number(process.hrtime.bigint() - started) / 1e3 / entries;
        console.log(
          `round ${round}, ${name.padEnd(40)} PostgreSQL CPU ${(((cpuMs(pid) - cpu) * 1000) / entries).toFixed(1)} µs an entry, wall ${wall.toFixed(1)} µs`,
        );
      }
    }
    for (const table of ['bench_log_indexed', 'bench_log_indexed_lz4', 'bench_log_batches', 'bench_log_batches_lz4', 'bench_log_batches_plain']) {
      const size = await client.query<{ size: string }>(`select pg_size_pretty(pg_total_relation_size('${table}')) as size`);
      console.log(`${table}: ${size.rows[0]?.size}`);
    }
    await client.query(
      'drop table if exists bench_log_indexed, bench_log_indexed_lz4, bench_log_bare, bench_log_batches, bench_log_batches_lz4, bench_log_batches_plain',
    );
  } finally {
    await client.end();
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
