import fc from 'fast-check';
import { OrganizationService } from '../../src/domain/organization.service';
import type { ListQuery } from '../../src/domain/ports';
import { ORGANIZATION_ROLES, SYSTEM_ROLES } from '../../src/domain/roles';
import { USER_DEFAULTS, type UserFields } from '../../src/domain/user';
import type { Database } from '../../src/orm/database';
import { GroupSqlRepository } from '../../src/orm/group.repository';
import { Sql } from '../../src/orm/sql';
import { UserSqlRepository } from '../../src/orm/user.repository';
import { OrmUnitOfWork } from '../../src/orm/unit-of-work';
import { toScimUser } from '../../src/scim/resources/user.mapper';
import { openTestDatabase } from '../support/database';

/**
 * List pages of users are rendered by PostgreSQL (orm/user-resource.ts); single users
 * and projected lists by toScimUser in Node. A client must never tell the two apart:
 * for any stored user, the text PostgreSQL writes parses to exactly what toScimUser
 * builds, with the same attributes in the same order.
 */
let database: Database;
let sql: Sql;
let users: UserSqlRepository;
let groups: GroupSqlRepository;
let serial = 0;

beforeAll(async () => {
  database = await openTestDatabase();
  sql = Sql.onPool(database.pool);
  users = new UserSqlRepository(sql);
  groups = new GroupSqlRepository(sql);
});
afterAll(() => database.close());

/** Text with what JSON escapes differently from one writer to another. */
const text = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'grapheme', maxLength: 8 }),
  fc.constantFrom('', ' ', 'quote " and \\ backslash', 'tab\tnew\nline\r', '\u0001\u001f\u007f', 'émoji 😀 中文', '</script>', "o'brien"),
);
const maybe = <T>(arbitrary: fc.Arbitrary<T>) => fc.option(arbitrary, { nil: null, freq: 3 });
const element = fc.dictionary(
  fc.constantFrom('value', 'type', 'primary', 'display', 'streetAddress', 'nested'),
  fc.oneof(text, fc.boolean(), fc.constant(null), fc.integer(), fc.record({ inner: text })),
  { maxKeys: 4 },
);
const multi = fc.oneof(fc.constant([]), fc.array(element, { maxLength: 3 }));
const enterprise = fc.oneof(
  fc.constant(null),
  fc.constant({}),
  fc.record(
    { employeeNumber: text, department: text, manager: fc.record({ value: fc.uuid(), displayName: maybe(text) }, { requiredKeys: ['value'] }) },
    { requiredKeys: [] },
  ),
);
const name = fc.record(
  { formatted: text, familyName: text, givenName: text, middleName: text, honorificPrefix: text, honorificSuffix: text },
  { requiredKeys: [] },
);

const fields = fc.record({
  externalId: maybe(text),
  name,
  displayName: maybe(text),
  nickName: maybe(text),
  profileUrl: maybe(text),
  title: maybe(text),
  userType: maybe(text),
  preferredLanguage: maybe(text),
  locale: maybe(text),
  timezone: maybe(text),
  active: fc.boolean(),
  emails: multi,
  phoneNumbers: multi,
  ims: multi,
  photos: multi,
  addresses: multi,
  entitlements: multi,
  roles: multi,
  x509Certificates: multi,
  enterprise,
  systemRole: fc.constantFrom(...SYSTEM_ROLES),
  organizationRole: fc.constantFrom(...ORGANIZATION_ROLES),
  customTqlTimeout: maybe(fc.integer({ min: 0, max: 3600 })),
  locked: fc.boolean(),
  passwordResetRequired: fc.boolean(),
  mfaResetRequired: fc.boolean(),
  termsOfServiceAcceptanceRequired: fc.boolean(),
  logoutAfterMinutes: maybe(fc.integer({ min: 1, max: 100_000 })),
  summaryEmailTime: maybe(fc.constantFrom('08:00', '23:59')),
  tokenExpirationDays: maybe(fc.integer({ min: 1, max: 365 })),
  includeInObservations: maybe(fc.boolean()),
  allowExceedApiLinkLimit: maybe(fc.boolean()),
});

const stored = fc.record({
  fields,
  mfaEnabled: fc.boolean(),
  /** Any instant 1970-2100, to the microsecond. */
  createdMicros: fc.bigInt({ min: 0n, max: 4_102_444_800_000_000n }),
  version: fc.integer({ min: 1, max: 1_000_000 }),
  /** Indexes into the organization's five groups. */
  groupIndexes: fc.uniqueArray(fc.nat({ max: 4 }), { maxLength: 4 }),
  /** Whether the first of its groups grants its system role, its organization role (roleSource). */
  grants: fc.record({ system: fc.boolean(), organization: fc.boolean() }),
});

const BASE_URLS = ['https://roster.example/scim/v2', 'http://127.0.0.1:3000/scim/v2', 'https://odd"host\\name.example/scim/v2'];

it('renders every stored user, in every list path, exactly as toScimUser does', async () => {
  const organizations = new OrganizationService(new OrmUnitOfWork(database.orm));
  await fc.assert(
    fc.asyncProperty(fc.array(stored, { minLength: 1, maxLength: 6 }), fc.constantFrom(...BASE_URLS), async (generated, baseUrl) => {
      serial += 1;
      const org = await organizations.create(`rendered-${serial}`);
      const groupIds: string[] = [];
      for (const displayName of ['Zeta', 'alpha', 'Beta', 'beta two', 'Ünïcode "group"']) {
        groupIds.push((await groups.insert({ organizationId: org.id, displayName, externalId: null })).id);
      }
      for (const [i, user] of generated.entries()) {
        const inserted = await users.insert({
          ...USER_DEFAULTS,
          ...(user.fields as Partial<UserFields>),
          userName: `user-${serial}-${i}@example.com`,
          organizationId: org.id,
          passwordHash: null,
        });
        await sql.run(
          `update users set mfa_enabled = ?, version = ?, created_at = to_timestamp(?::numeric / 1000000),
             updated_at = to_timestamp(?::numeric / 1000000) + interval '1 microsecond' where id = ?`,
          [user.mfaEnabled, user.version, String(user.createdMicros), String(user.createdMicros), inserted.id],
        );
        for (const index of user.groupIndexes) await groups.addMembers(groupIds[index], [inserted.id]);
        if (user.groupIndexes.length > 0) {
          const granting = groupIds[user.groupIndexes[0]];
          await sql.run('update users set system_role_group_id = ?, organization_role_group_id = ? where id = ?', [
            user.grants.system ? granting : null,
            user.grants.organization ? granting : null,
            inserted.id,
          ]);
        }
      }

      const queries: ListQuery[] = [
        { startIndex: 1, count: 100, includeGroups: true },
        { startIndex: 2, count: 3, includeGroups: true, sortBy: { attribute: { attribute: 'userName' }, descending: true } },
        {
          startIndex: 1,
          count: 100,
          includeGroups: true,
          filter: { kind: 'present', path: { attribute: 'userName' } },
        },
      ];
      for (const query of queries) {
        const page = await users.list(org.id, query);
        const rendered = await users.listRendered(org.id, query, baseUrl);
        expect(rendered.total).toBe(page.total);
        expect(rendered.next).toEqual(page.next);
        const expected = page.items.map((u) => JSON.stringify(toScimUser(u, page.groups?.get(u.id) ?? [], baseUrl)));
        expect(rendered.resources.map((r) => JSON.stringify(JSON.parse(r)))).toEqual(expected);
      }
    }),
    { numRuns: 40 },
  );
});
