import type { MikroORM } from '@mikro-orm/postgresql';
import type { Pool } from 'pg';
import { poolOf, servesOneSession } from './database';
import { Sql, transaction } from './sql';

/**
 * An order-statistic index of each organization's users, so a list page deep in the
 * collection (`startIndex=500001`) costs what a page near the start costs, and an
 * unfiltered list knows its total without counting every row.
 *
 * The users of an organization are cut into key ranges (about `rangeSize` users each)
 * in two orders: userName (`lower(user_name)`) and creation (`created_at, id`, the
 * default order). `user_name_ranges` / `user_created_ranges` hold each range's lower
 * bound and size; triggers on `users` append a +1/-1 row to `user_order_deltas` for
 * every insert, delete and rename, so writers never update (or wait on) a shared
 * counter. A reader adds the pending deltas to the ranges in the same statement (one
 * snapshot, so counts and rows agree exactly), finds the range holding the wanted
 * position, and walks the index from that range's lower bound: at most one range of
 * rows is skipped. `roster_compact_user_order` (run by {@link UserOrderCompactor})
 * folds deltas into the ranges and splits ranges that grew past twice their size.
 * Correctness never depends on compaction; only the cost of a read does.
 */
export type UserOrdering = 'userName' | 'created';

interface OrderingSql {
  /** The organization's ranges, keyed k1 (k2), with their size and rows_before, last first (an index walk). */
  rangesFromLast: (where: string) => string;
  /** The marks (range bounds, then deltas) as (k..., n, bound), for one organization. */
  marks: string;
  /** Columns of a mark's key, in order. */
  keyColumns: string;
  /** The users' sort key, in the index's order. */
  userKey: string;
  /** `user key >= start key`. */
  fromStart: string;
}

const ORDERINGS: Record<UserOrdering, OrderingSql> = {
  userName: {
    rangesFromLast: (where) => `select r.lower_bound as k1, r.size, r.rows_before from user_name_ranges r
      where r.organization_id = (select org from params)${where} order by r.lower_bound desc`,
    marks: `select r.lower_bound as k1, r.size as n, true as bound from user_name_ranges r, params p
              where r.organization_id = p.org
            union all select '', 0, true from params p
              where not exists (select 1 from user_name_ranges r where r.organization_id = p.org and r.lower_bound = '')
            union all select d.name_key, d.delta, false from user_order_deltas d, params p where d.organization_id = p.org`,
    keyColumns: 'k1',
    userKey: 'lower(u.user_name), u.id',
    fromStart: 'lower(u.user_name) >= (select k1 from start)',
  },
  created: {
    rangesFromLast: (where) => `select r.lower_created_at as k1, r.lower_id as k2, r.size, r.rows_before from user_created_ranges r
      where r.organization_id = (select org from params)${where} order by r.lower_created_at desc, r.lower_id desc`,
    marks: `select r.lower_created_at as k1, r.lower_id as k2, r.size as n, true as bound from user_created_ranges r, params p
              where r.organization_id = p.org
            union all select '-infinity'::timestamptz, '00000000-0000-0000-0000-000000000000'::uuid, 0, true from params p
              where not exists (select 1 from user_created_ranges r where r.organization_id = p.org
                                and r.lower_created_at = '-infinity' and r.lower_id = '00000000-0000-0000-0000-000000000000')
            union all select d.created_at, d.user_id, d.delta, false from user_order_deltas d, params p where d.organization_id = p.org`,
    keyColumns: 'k1, k2',
    userKey: 'u.created_at, u.id',
    fromStart: '(u.created_at, u.id) >= ((select k1 from start), (select k2 from start))',
  },
};

/**
 * The CTEs `pending`, `total` and, given `want` (first, take), `start` (the range
 * holding position `first`: its key, the rows to skip in it, the rows to take).
 *
 * Two ways, one taken per statement (one-time filters on `pending`): with no delta
 * pending, each range's stored position is exact and the range is one index walk
 * away; with deltas pending, positions are summed over the ranges and deltas in key
 * order. Both read one snapshot, so counts and rows agree.
 */
function positionCtes(o: OrderingSql): { total: string; start: string } {
  const total = `pending as (select exists (select 1 from user_order_deltas d, params p where d.organization_id = p.org) as deltas),
     marks as (${o.marks}),
     total as (
       select coalesce((select rows_before + size from (${o.rangesFromLast('')} limit 1) last), 0)::int as total
       where not (select deltas from pending)
       union all
       select m.total from (select coalesce(sum(n), 0)::int as total from marks) m where (select deltas from pending))`;
  const start = `ranked as (
       select ${o.keyColumns}, bound,
              coalesce(sum(n) over (order by ${o.keyColumns}, bound desc rows between unbounded preceding and 1 preceding), 0) as before
       from marks),
     start as (
       select ${o.keyColumns}, (w.first - f.rows_before)::bigint as skip, greatest(w.take, 0) as take
       from (${o.rangesFromLast(' and r.rows_before <= (select first from want)')} limit 1) f, want w
       where not (select deltas from pending)
       union all
       select ${o.keyColumns}, (w.first - s.before)::bigint, greatest(w.take, 0)
       from (select r.* from ranked r, want w where r.bound and r.before <= w.first
             order by ${o.keyColumns
               .split(', ')
               .map((c) => `r.${c} desc`)
               .join(', ')} limit 1) s, want w
       where (select deltas from pending))`;
  return { total, start };
}

/** Users of an organization, read from the ranges and pending deltas. */
export async function userTotal(sql: Sql, organizationId: string): Promise<number> {
  const row = await sql.one<{ total: number }>(
    `with params as (select ?::uuid as org), ${positionCtes(ORDERINGS.userName).total}
     select total from total`,
    [organizationId],
  );
  return row?.total ?? 0;
}

/**
 * The ids of one page in `ordering` (descending: the reverse order), starting at the
 * 0-based `offset`, at most `limit` of them, and the organization's total, from one
 * statement. Returned as a `page` subquery (id, page_ord, page_total) for listPage.
 */
export function orderedPageSql(
  ordering: UserOrdering,
  organizationId: string,
  descending: boolean,
  offset: number,
  limit: number,
): { sql: string; params: unknown[] } {
  const o = ORDERINGS[ordering];
  const ctes = positionCtes(o);
  // Descending positions are ascending ones counted from the end: the page is the
  // ascending run [total - offset - limit, total - offset), read backwards. The offset
  // is a bigint: a startIndex past any collection is an empty page, not an overflow.
  const sql = `(with params as (select ?::uuid as org, ?::bigint as skip, ?::int as take, ?::boolean as descending),
     ${ctes.total},
     want as (
       select case when p.descending then greatest(t.total - p.skip - p.take, 0) else p.skip end as first,
              case when p.descending then least(p.take, t.total - p.skip) else p.take end as take
       from params p, total t),
     ${ctes.start}
     select run.id, row_number() over (order by ${descending ? 'run.ord desc' : 'run.ord'}) as page_ord, (select total from total) as page_total
     from (select u.id, row_number() over (order by ${o.userKey}) as ord
           from users u
           where u.organization_id = (select org from params) and ${o.fromStart}
           order by ${o.userKey}
           offset (select skip from start) limit (select take from start)) run
     -- The same bound written out: the planner sees a page of rows (not a tenth of the table), so
     -- the prepared statement's generic plan joins the page by id and is planned once.
     limit ${Math.trunc(limit)})`;
  if (!Number.isSafeInteger(limit) || limit < 0) throw new Error(`page limit must be a whole number: ${limit}`);
  return { sql, params: [organizationId, offset, limit, descending] };
}

/** Users per range after a split (each range holds up to twice this before it splits). */
export const DEFAULT_RANGE_SIZE = 1000;

/** What one compaction run did for one organization: deltas folded (-1: another run holds it). */
export interface CompactionResult {
  organizationId: string;
  folded: number;
}

export interface CompactorOptions {
  /** How often pending deltas are folded, ms. */
  intervalMs?: number;
  rangeSize?: number;
  onError?: (error: unknown) => void;
}

/**
 * On a timer: folds the account-type counts' deltas, then runs
 * `roster_compact_user_order` for every organization with pending deltas, each in its
 * own repeatable-read transaction (the function needs one snapshot). Several instances
 * may run it at once: an advisory lock lets one compact an organization and the others
 * skip it; a serialization failure leaves the deltas for the next run.
 */
export class UserOrderCompactor {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;

  private readonly pool: Pool;

  /** `source`: the pool, or the MikroORM of a Database (orm/database.ts). */
  constructor(
    source: Pool | MikroORM,
    private readonly options: CompactorOptions = {},
  ) {
    this.pool = 'getMigrator' in source ? poolOf(source) : source;
  }

  async runOnce(): Promise<CompactionResult[]> {
    await this.compactAccountCounts();
    const rangeSize = this.options.rangeSize ?? DEFAULT_RANGE_SIZE;
    const pending = await Sql.onPool(this.pool, false, servesOneSession(this.pool)).all<{ organization_id: string }>(
      'select distinct organization_id from user_order_deltas',
    );
    const results: CompactionResult[] = [];
    for (const { organization_id: organizationId } of pending) {
      try {
        const folded = await transaction(
          this.pool,
          async (client) => {
            const row = await Sql.onClient(client).one<{ folded: number }>('select roster_compact_user_order(?::uuid, ?::int) as folded', [
              organizationId,
              rangeSize,
            ]);
            return row?.folded ?? 0;
          },
          'begin isolation level repeatable read',
        );
        results.push({ organizationId, folded });
      } catch (error) {
        if ((error as { code?: string }).code !== '40001') throw error;
        results.push({ organizationId, folded: -1 });
      }
    }
    return results;
  }

  /**
   * Folds the account-type deltas (license counts, see the account_counts migration)
   * of every organization that has some: one statement each, so no snapshot is needed
   * and a concurrent run folds other rows, never the same ones twice.
   */
  async compactAccountCounts(): Promise<CompactionResult[]> {
    const sql = Sql.onPool(this.pool, false, servesOneSession(this.pool));
    const pending = await sql.all<{ organization_id: string }>('select distinct organization_id from user_account_deltas');
    const results: CompactionResult[] = [];
    for (const { organization_id: organizationId } of pending) {
      const row = await sql.one<{ folded: number }>('select roster_compact_user_accounts(?::uuid) as folded', [organizationId]);
      results.push({ organizationId, folded: row?.folded ?? 0 });
    }
    return results;
  }

  start(): void {
    const intervalMs = this.options.intervalMs ?? 1000;
    const tick = () => {
      if (this.stopped) return;
      this.running = this.runOnce()
        .catch((error) => this.options.onError?.(error))
        .finally(() => {
          if (!this.stopped) this.timer = setTimeout(tick, intervalMs);
        });
    };
    this.timer = setTimeout(tick, intervalMs);
    this.timer.unref();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.running;
  }
}
