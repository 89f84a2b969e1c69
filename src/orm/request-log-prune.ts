import { isUuid } from '../domain/ids';
import { uuidArray, type Sql } from './sql';

type Row = Record<string, unknown>;

/**
 * The request log's prune by each organization's cap (request-log.repository.ts calls it):
 * each organization's entries beyond its newest `maxRows`, rows (request_log) and
 * successful reads (request_read_batches) counted together; every organization's and the
 * unauthenticated entries', or only those of `only` (null: the unauthenticated).
 */
export async function pruneBeyondCap(writes: Sql, maxRows: number, only: readonly (string | null)[] | undefined): Promise<number> {
  const organizations = only?.filter((id): id is string => id !== null && isUuid(id));
  const scope = organizations ? uuidArray(organizations) : null;
  const unauthenticated = only === undefined || only.includes(null);
  // Per organization (and the unauthenticated entries): the id of its newest entry past the cap, rows and reads
  // together, found on the two keys. A read batch straddling the cutoff is kept whole (a few entries over the cap).
  // Then, in the same statement, every organization's rows and read batches up to its cutoff.
  const row = await writes.one<Row>(
    `with cutoffs as materialized (
       select o.id as organization_id, (select x.id from (
           (select l.id from request_log l where l.organization_id = o.id order by l.id desc limit ?)
           union all
           (select unnest(b.ids) from (select t.ids, sum(t.entries) over (order by t.last_id desc) - t.entries as newer
              from (select rb.ids, rb.entries, rb.last_id from request_read_batches rb where rb.organization_id = o.id
                    order by rb.last_id desc limit ?) t) b where b.newer <= ?)
         ) x order by x.id desc offset ? limit 1) as cutoff
       from organizations o where ?::uuid[] is null or o.id = any(?::uuid[])),
     anonymous as (select (select l.id from request_log l where l.organization_id is null order by l.id desc offset ? limit 1) as cutoff where ?),
     rows as (delete from request_log l using cutoffs c where l.organization_id = c.organization_id and l.id <= c.cutoff returning 1),
     anonymous_rows as (delete from request_log l using anonymous a where l.organization_id is null and l.id <= a.cutoff returning 1),
     reads as (delete from request_read_batches rb using cutoffs c where rb.organization_id = c.organization_id and rb.last_id <= c.cutoff returning rb.entries)
     select (select count(*) from rows)::int + (select count(*) from anonymous_rows)::int + (select coalesce(sum(entries), 0) from reads)::int as n`,
    [maxRows + 1, maxRows + 1, maxRows, maxRows, scope, scope, maxRows, unauthenticated],
  );
  return Number(row?.n ?? 0);
}
