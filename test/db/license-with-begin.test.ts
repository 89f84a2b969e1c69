import type { PoolClient } from 'pg';
import { userCreated } from '../../src/domain/events';
import { USER_DEFAULTS } from '../../src/domain/user';
import { createPool } from '../../src/orm/database';
import { OrganizationSqlRepository } from '../../src/orm/organization.repository';
import { Sql } from '../../src/orm/sql';
import { OrmUnitOfWork } from '../../src/orm/unit-of-work';
import { openTestDatabase } from '../support/database';

/**
 * A create's shared license check is sent with its transaction's BEGIN
 * (WriteOptions.sharesLicense). It must answer exactly the check it was read for: the
 * organization and account type named, once; any other check in the same write reads
 * the database as before, so no write is ever judged on another organization's or
 * another type's figures.
 */
let database: Awaited<ReturnType<typeof openTestDatabase>>;
let uow: OrmUnitOfWork;
let a: string;
let b: string;

beforeAll(async () => {
  database = await openTestDatabase();
  uow = new OrmUnitOfWork(database.pool);
  const orgs = new OrganizationSqlRepository(Sql.onPool(database.pool));
  a = (await orgs.insert({ slug: `lic-a-${Date.now()}`, name: 'A' })).id;
  b = (await orgs.insert({ slug: `lic-b-${Date.now()}`, name: 'B' })).id;
  await orgs.setLicense(a, { standardUserLimit: 7, apiUserLimit: 3, apiUsersAllowed: true });
  await orgs.setLicense(b, { standardUserLimit: 11 });
  for (const [org, n, systemRole] of [
    [a, 2, 'User'],
    [a, 1, 'Api User'],
    [b, 4, 'User'],
  ] as const) {
    for (let i = 0; i < n; i++) {
      await uow.write((r) =>
        r.users.insert({ ...USER_DEFAULTS, userName: `lic-${org}-${systemRole}-${i}@example.test`, systemRole, organizationId: org, passwordHash: null }),
      );
    }
  }
});
afterAll(async () => {
  await database.close();
});

describe("a write's shared license, read with its BEGIN", () => {
  it("answers the write's check of that organization and type with that organization's figures", async () => {
    const shared = await uow.write((r) => r.organizations.shareLicense(a, 'standard'), { sharesLicense: { organizationId: a, type: 'standard' } });
    expect(shared).toMatchObject({ users: 2, license: { standardUserLimit: 7 } });
  });

  it('leaves a check of another type, or of another organization, to the database', async () => {
    const [api, other, again] = await uow.write(
      async (r) => [
        await r.organizations.shareLicense(a, 'api'),
        await r.organizations.shareLicense(b, 'standard'),
        await r.organizations.shareLicense(a, 'standard'),
      ],
      { sharesLicense: { organizationId: a, type: 'standard' } },
    );
    expect(api).toMatchObject({ users: 1, license: { apiUserLimit: 3 } });
    expect(other).toMatchObject({ users: 4, license: { standardUserLimit: 11 } });
    expect(again).toMatchObject({ users: 2, license: { standardUserLimit: 7 } });
  });

  it('answers once: a second check in the same write reads the database again, counting the user the write inserted', async () => {
    const [first, second] = await uow.write(
      async (r) => {
        const before = await r.organizations.shareLicense(a, 'standard');
        await r.users.insert({ ...USER_DEFAULTS, userName: `lic-more-${Date.now()}@example.test`, organizationId: a, passwordHash: null });
        return [before, await r.organizations.shareLicense(a, 'standard')];
      },
      { sharesLicense: { organizationId: a, type: 'standard' } },
    );
    expect(first).toMatchObject({ users: 2 });
    // The user this write inserted counts for the statements after it.
    expect(second).toMatchObject({ users: 3 });
  });

  it('makes a create three round trips: BEGIN with the settings and the license, the INSERT, the records with COMMIT', async () => {
    // A pool of one connection whose statements are counted as they are sent.
    const pool = createPool(database.url, 1);
    const sent: string[] = [];
    const counted = new WeakSet<PoolClient>();
    pool.on('acquire', (client) => {
      if (counted.has(client)) return;
      counted.add(client);
      const query = client.query.bind(client) as (...args: unknown[]) => unknown;
      (client as unknown as { query: (...args: unknown[]) => unknown }).query = (config: unknown, ...rest: unknown[]) => {
        sent.push(typeof config === 'string' ? config : (config as { text: string }).text);
        return query(config, ...rest);
      };
    });
    try {
      const counting = new OrmUnitOfWork(pool);
      await counting.read((r) => r.settings.all());
      sent.length = 0;
      const user = await counting.write(
        async (r) => {
          expect(await r.organizations.shareLicense(a, 'standard')).toMatchObject({ license: { standardUserLimit: 7 } });
          const created = await r.users.insert({ ...USER_DEFAULTS, userName: `lic-trips-${Date.now()}@example.test`, organizationId: a, passwordHash: null });
          await r.audit.record({
            organizationId: a,
            credentialId: null,
            actor: 'test',
            action: 'user.created',
            targetType: 'user',
            targetId: created.id,
            targetName: created.userName,
          });
          await r.events.append([userCreated(created, ['userName'])]);
          return created;
        },
        { sharesLicense: { organizationId: a, type: 'standard' } },
      );
      expect(sent).toHaveLength(3);
      expect(sent[0]).toMatch(/^begin;[\s\S]*instance_settings[\s\S]*roster_share_license/);
      expect(sent[1]).toMatch(/^insert into users/);
      expect(sent[2]).toMatch(/^insert into audit_events[\s\S]*insert into provisioning_event_queue[\s\S]*commit$/);
      // And all of it stored.
      const stored = await database.pool.query(
        'select (select count(*)::int from audit_events where target_id = $1) as audit, (select count(*)::int from provisioning_event_queue where resource_id = $1) + (select count(*)::int from provisioning_events where resource_id = $1) as events',
        [user.id],
      );
      expect(stored.rows[0]).toEqual({ audit: 1, events: 1 });
    } finally {
      await pool.end();
    }
  });

  it('finds no license for an organization that does not exist', async () => {
    const missing = '0190f3a2-0000-7000-8000-000000000000';
    expect(
      await uow.write((r) => r.organizations.shareLicense(missing, 'standard'), { sharesLicense: { organizationId: missing, type: 'standard' } }),
    ).toBeNull();
  });
});
