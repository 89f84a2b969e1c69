import { OrganizationService } from '../../src/domain/organization.service';
import type { AccountCounts } from '../../src/domain/ports';
import { accountTypeOf, SYSTEM_ROLES, type SystemRole } from '../../src/domain/roles';
import { ACCOUNT_TYPE_SQL } from '../../src/orm/attribute-sql';
import { servesOneSession, type Database } from '../../src/orm/database';
import { Sql } from '../../src/orm/sql';
import { UserSqlRepository } from '../../src/orm/user.repository';
import { UserOrderCompactor } from '../../src/orm/user-order';
import { OrmUnitOfWork } from '../../src/orm/unit-of-work';
import { openTestDatabase } from '../support/database';

/**
 * License checks read each organization's users per account type from counts kept by
 * triggers (deltas appended per statement, folded by the compactor), not by counting
 * users. The counts must equal a count over the table after any mix of writes, before
 * and after compaction, and while compaction races with writers.
 */
let database: Database;
let sql: Sql;
let users: UserSqlRepository;
let organizations: OrganizationService;
let serial = 0;

beforeAll(async () => {
  database = await openTestDatabase({ poolMax: 6 });
  sql = Sql.onPool(database.pool, false, servesOneSession(database.pool));
  users = new UserSqlRepository(sql);
  organizations = new OrganizationService(new OrmUnitOfWork(database.orm));
});
afterAll(() => database.close());

async function insertUsers(organizationId: string, roles: SystemRole[], db: Sql = sql): Promise<void> {
  const rows = roles.map((role) => {
    serial += 1;
    return [organizationId, `counted-${serial}@example.com`, role];
  });
  await db.run(
    `insert into users (organization_id, user_name, system_role, organization_role) values ${rows.map(() => "(?::uuid, ?, ?, 'Standard User')").join(', ')}`,
    rows.flat(),
  );
}

async function counted(organizationId: string): Promise<AccountCounts> {
  const counts: AccountCounts = { standard: 0, api: 0, taxii: 0, readOnly: 0 };
  const rows = await sql.all<{ system_role: SystemRole }>('select system_role from users where organization_id = ?', [organizationId]);
  for (const row of rows) counts[accountTypeOf(row.system_role)] += 1;
  return counts;
}

async function expectExact(organizationId: string): Promise<void> {
  const expected = await counted(organizationId);
  expect(await users.countByAccountType(organizationId)).toEqual(expected);
  for (const type of ['standard', 'api', 'taxii', 'readOnly'] as const) {
    expect(await users.countOfAccountType(organizationId, type)).toBe(expected[type]);
  }
}

it('classifies every system role in SQL as accountTypeOf does', async () => {
  for (const role of SYSTEM_ROLES) {
    const row = await sql.one<{ stored: string; listed: string }>(
      `select roster_account_type(?) as stored, ${ACCOUNT_TYPE_SQL} as listed from (select ?::text as system_role) u`,
      [role, role],
    );
    expect({ role, ...row }).toEqual({ role, stored: accountTypeOf(role), listed: accountTypeOf(role) });
  }
});

describe('account-type counts', () => {
  it('keep exact counts through inserts, role changes and deletes, compacted or not', async () => {
    const compactor = new UserOrderCompactor(database.orm);
    const org = (await organizations.create('counted-a')).id;
    const other = (await organizations.create('counted-b')).id;
    await expectExact(org);

    await insertUsers(org, ['User', 'User', 'Api User', 'Taxii User', 'Read Only User', 'Exchange Admin', 'Administrator']);
    await insertUsers(other, ['User', 'Api User']);
    await expectExact(org);
    await compactor.compactAccountCounts();
    await expectExact(org);
    await expectExact(other);

    // A change of role within one account type moves nothing; across types it moves one.
    await sql.run(`update users set system_role = 'Super User' where organization_id = ? and system_role = 'Administrator'`, [org]);
    await sql.run(`update users set system_role = 'Read Only User' where organization_id = ? and system_role = 'Api User'`, [org]);
    await sql.run(`update users set active = false where organization_id = ?`, [org]);
    await expectExact(org);
    await sql.run(`delete from users where organization_id = ? and system_role = 'User'`, [org]);
    await expectExact(org);
    await compactor.compactAccountCounts();
    await expectExact(org);
    expect(await sql.one('select count(*)::int as n from user_account_deltas where organization_id = ?', [org])).toEqual({ n: 0 });
    await expectExact(other);

    // An organization's removal takes its users, then its counts and pending deltas.
    await insertUsers(other, ['Taxii User']);
    await sql.run('delete from organizations where id = ?', [other]);
    await compactor.compactAccountCounts();
    expect(await users.countByAccountType(other)).toEqual({ standard: 0, api: 0, taxii: 0, readOnly: 0 });
    expect(await sql.one('select count(*)::int as n from user_account_deltas where organization_id = ?', [other])).toEqual({ n: 0 });
  });

  it('stay exact while compactions race with concurrent writers', async () => {
    const org = (await organizations.create('counted-race')).id;
    const compactors = [new UserOrderCompactor(database.orm), new UserOrderCompactor(database.orm)];
    const writer = async (w: number) => {
      const db = Sql.onPool(database.pool, false, servesOneSession(database.pool));
      for (let i = 0; i < 12; i++) {
        const role = SYSTEM_ROLES[(w * 5 + i) % SYSTEM_ROLES.length];
        await insertUsers(org, [role, 'User'], db);
        if (i % 3 === 2) {
          await db.run(`delete from users where id = (select id from users where organization_id = ? and system_role = 'User' limit 1)`, [org]);
        }
        if (i % 4 === 3) {
          await db.run(
            `update users set system_role = 'Taxii User' where id = (select id from users where organization_id = ? and system_role = 'Api User' limit 1)`,
            [org],
          );
        }
      }
    };
    const compacting = async (c: UserOrderCompactor) => {
      for (let i = 0; i < 10; i++) await c.compactAccountCounts();
    };
    await Promise.all([writer(0), writer(1), writer(2), ...compactors.map(compacting)]);
    await expectExact(org);
    await compactors[0].compactAccountCounts();
    await expectExact(org);
  });
});
