import { USER_DEFAULTS } from '../../src/domain/user';
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
  for (const [org, n, systemRole] of [[a, 2, 'User'], [a, 1, 'Api User'], [b, 4, 'User']] as const) {
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
      async (r) => [await r.organizations.shareLicense(a, 'api'), await r.organizations.shareLicense(b, 'standard'), await r.organizations.shareLicense(a, 'standard')],
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

  it('finds no license for an organization that does not exist', async () => {
    const missing = '0190f3a2-0000-7000-8000-000000000000';
    expect(await uow.write((r) => r.organizations.shareLicense(missing, 'standard'), { sharesLicense: { organizationId: missing, type: 'standard' } })).toBeNull();
  });
});
