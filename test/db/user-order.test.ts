import { OrganizationService } from '../../src/domain/organization.service';
import type { ListQuery } from '../../src/domain/ports';
import type { Database } from '../../src/orm/database';
import { Sql, transaction } from '../../src/orm/sql';
import { UserSqlRepository } from '../../src/orm/user.repository';
import { UserOrderCompactor } from '../../src/orm/user-order';
import { OrmUnitOfWork } from '../../src/orm/unit-of-work';
import { openTestDatabase } from '../support/database';

/**
 * Unfiltered user lists take their positions and totals from the order-statistic
 * index (orm/user-order.ts). Every page must be exactly the page an OFFSET over the
 * table gives, whatever the ranges and pending deltas look like: before any
 * compaction, after compactions that split ranges, across inserts, deletes and
 * renames, and while compaction races with writers.
 */
let database: Database;
let sql: Sql;
let orgA: string;
let orgB: string;
let serial = 0;

beforeAll(async () => {
  database = await openTestDatabase({ poolMax: 6 });
  sql = Sql.onPool(database.pool);
  const organizations = new OrganizationService(new OrmUnitOfWork(database.orm));
  orgA = (await organizations.create('ranked-a')).id;
  orgB = (await organizations.create('ranked-b')).id;
});
afterAll(() => database.close());

/** Inserts users with names in a scrambled order and, every few, the same creation time. */
async function insertUsers(organizationId: string, count: number, db: Sql = sql): Promise<void> {
  const rows = Array.from({ length: count }, () => {
    serial += 1;
    const scrambled = ((serial * 7919) % 100_003).toString().padStart(6, '0');
    // Mixed case: the userName order is case-insensitive.
    const name = `${serial % 2 ? 'User' : 'user'}-${scrambled}-${serial}@example.com`;
    const created = new Date(Date.UTC(2026, 0, 1) + Math.floor(serial / 3) * 1000).toISOString();
    return [organizationId, name, created];
  });
  const values = rows.map(() => `(?::uuid, ?, 'Read Only User', 'Read Only User', ?::timestamptz)`).join(', ');
  await db.run(`insert into users (organization_id, user_name, system_role, organization_role, created_at) values ${values}`, rows.flat());
}

const ORDERS = {
  created: 'created_at, id',
  userName: 'lower(user_name), id',
} as const;

async function expected(organizationId: string, order: keyof typeof ORDERS, descending: boolean): Promise<string[]> {
  const by = ORDERS[order]
    .split(', ')
    .map((c) => `${c}${descending ? ' desc' : ''}`)
    .join(', ');
  const rows = await sql.all<{ id: string }>(`select id from users where organization_id = ? order by ${by}`, [organizationId]);
  return rows.map((r) => r.id);
}

function sortFor(order: keyof typeof ORDERS | 'meta.created', descending: boolean): ListQuery['sortBy'] {
  if (order === 'userName') return { attribute: { attribute: 'userName' }, descending };
  if (order === 'meta.created') return { attribute: { attribute: 'meta', subAttribute: 'created' }, descending };
  return descending ? { attribute: { attribute: 'meta', subAttribute: 'created' }, descending } : undefined;
}

/** Every page of every size the test uses, in both orders and directions, equals the OFFSET answer. */
async function expectExactPages(organizationId: string): Promise<void> {
  const users = new UserSqlRepository(sql);
  for (const order of ['created', 'userName'] as const) {
    for (const descending of [false, true]) {
      const all = await expected(organizationId, order, descending);
      for (const count of [1, 4, 25]) {
        for (let startIndex = 1; startIndex <= all.length + 2; startIndex += count === 1 ? 1 : 3) {
          const page = await users.list(organizationId, { startIndex, count, sortBy: sortFor(order, descending) });
          const ids = page.items.map((u) => u.id);
          expect({ order, descending, count, startIndex, total: page.total, ids }).toEqual({
            order,
            descending,
            count,
            startIndex,
            total: all.length,
            ids: all.slice(startIndex - 1, startIndex - 1 + count),
          });
        }
      }
    }
  }
  const none = await users.list(organizationId, { startIndex: 1, count: 0 });
  expect(none.total).toBe((await expected(organizationId, 'created', false)).length);
}

async function rangeSizes(organizationId: string): Promise<number[]> {
  const rows = await sql.all<{ size: number }>('select size from user_name_ranges where organization_id = ? order by lower_bound', [organizationId]);
  return rows.map((r) => r.size);
}

describe('unfiltered user lists on the order-statistic index', () => {
  it('pages exactly like OFFSET before any compaction, after compactions that split ranges, and across writes', async () => {
    const compactor = new UserOrderCompactor(database.orm, { rangeSize: 4 });
    await insertUsers(orgA, 37);
    await insertUsers(orgB, 5);
    await expectExactPages(orgA); // deltas only

    const results = await compactor.runOnce();
    expect(results.map((r) => r.folded).sort((a, b) => a - b)).toEqual([5, 37]);
    const sizes = await rangeSizes(orgA);
    expect(sizes.length).toBeGreaterThan(5); // split into ranges of 4
    expect(Math.max(...sizes)).toBeLessThanOrEqual(8);
    expect(sizes.reduce((a, b) => a + b, 0)).toBe(37);
    await expectExactPages(orgA);
    await expectExactPages(orgB);

    // Deletes, renames (moving users between ranges) and inserts, read before and after folding.
    const victims = (await expected(orgA, 'userName', false)).filter((_, i) => i % 5 === 0);
    await sql.run(`delete from users where id = any(?::uuid[])`, [`{${victims.join(',')}}`]);
    await sql.run(`update users set user_name = 'aaa-' || user_name where organization_id = ? and user_name like 'User-%'`, [orgA]);
    await insertUsers(orgA, 11);
    await expectExactPages(orgA);
    await compactor.runOnce();
    expect(await sql.one('select count(*)::int as n from user_order_deltas')).toEqual({ n: 0 });
    await expectExactPages(orgA);
    await expectExactPages(orgB);
  });

  it('stays exact when compaction runs while users are created and deleted', async () => {
    const compactor = new UserOrderCompactor(database.orm, { rangeSize: 3 });
    const writer = async (round: number) => {
      const db = Sql.onPool(database.pool);
      for (let i = 0; i < 12; i++) {
        await transaction(database.pool, async (client) => {
          const tx = Sql.onClient(client);
          await insertUsers(orgA, 3, tx);
          if ((i + round) % 4 === 0) {
            await tx.run(`delete from users where id = (select id from users where organization_id = ? order by created_at desc, id limit 1)`, [orgA]);
          }
        });
      }
      return db;
    };
    let compacting = true;
    const compactions = (async () => {
      let runs = 0;
      while (compacting) {
        await compactor.runOnce();
        runs += 1;
      }
      return runs;
    })();
    await Promise.all([writer(0), writer(1), writer(2)]);
    compacting = false;
    expect(await compactions).toBeGreaterThan(0);
    await expectExactPages(orgA);
    await compactor.runOnce();
    await expectExactPages(orgA);
    const total = (await sql.one<{ n: number }>('select count(*)::int as n from users where organization_id = ?', [orgA]))?.n;
    expect((await rangeSizes(orgA)).reduce((a, b) => a + b, 0)).toBe(total);
  }, 60_000);

  it('refuses to compact outside one snapshot', async () => {
    await expect(sql.one('select roster_compact_user_order(?::uuid, 4)', [orgA])).rejects.toThrow(/repeatable read/);
  });
});
