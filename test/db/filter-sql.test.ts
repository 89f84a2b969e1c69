/**
 * The filter translator against a real PostgreSQL: each test parses a SCIM filter,
 * translates it with a sample catalog shaped like Roster's tables and checks which rows
 * the SQL selects. Runs in its own schema, dropped afterwards.
 */
import { randomUUID } from 'node:crypto';
import { DomainError } from '../../src/domain/errors';
import { type AttributeCatalog, complex, field, filterToSql, jsonArray, jsonScalar, relation, scalar, sortToSql } from '../../src/orm/filter-sql';
import { parseAttributePath, parseFilter } from '../../src/scim/filter/filter-parser';

interface PgClient {
  connect(): Promise<void>;
  query(sql: string, params?: unknown[]): Promise<{ rows: Record<string, unknown>[] }>;
  end(): Promise<void>;
}
const { Client } = require('pg') as { Client: new (config: { connectionString: string }) => PgClient };

const CORE_USER = 'urn:ietf:params:scim:schemas:core:2.0:User';
const CORE_GROUP = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const TEST_EXTENSION = 'urn:example:params:scim:schemas:extension:test:2.0:User';

/** A sample of the catalog the persistence adapter builds for Users. */
const userCatalog: AttributeCatalog = {
  coreSchema: CORE_USER,
  schemas: {
    [CORE_USER]: {
      id: scalar('u.id::text', 'string', { caseExact: true }),
      externalId: scalar('u.external_id', 'string', { caseExact: true }),
      userName: scalar('u.user_name'),
      displayName: scalar('u.display_name'),
      title: scalar('u.title'),
      active: scalar('u.active', 'boolean'),
      name: complex({ givenName: scalar('u.name_given_name'), familyName: scalar('u.name_family_name') }),
      emails: jsonArray('u.emails', { value: field(), type: field(), primary: field('boolean'), display: field() }),
      groups: relation({
        from: 'group_members ug JOIN groups ugg ON ugg.id = ug.group_id',
        correlate: 'ug.user_id = u.id',
        subAttributes: {
          value: scalar('ug.group_id::text', 'string', { caseExact: true }),
          display: scalar('ugg.display_name'),
        },
      }),
      meta: complex({ created: scalar('u.created_at', 'dateTime'), lastModified: scalar('u.updated_at', 'dateTime') }),
    },
    [ENTERPRISE]: {
      employeeNumber: jsonScalar('u.enterprise', ['employeeNumber']),
      manager: complex(
        {
          value: jsonScalar('u.enterprise', ['manager', 'value'], 'string', { caseExact: true }),
          displayName: jsonScalar('u.enterprise', ['manager', 'displayName']),
        },
        'value',
      ),
    },
    [TEST_EXTENSION]: {
      tqlTimeout: scalar('u.custom_tql_timeout', 'integer'),
      level: jsonScalar('u.enterprise', ['level'], 'integer'),
      contractor: jsonScalar('u.enterprise', ['contractor'], 'boolean'),
      hireDate: jsonScalar('u.enterprise', ['hireDate'], 'dateTime'),
    },
  },
};

const groupCatalog: AttributeCatalog = {
  coreSchema: CORE_GROUP,
  schemas: {
    [CORE_GROUP]: {
      id: scalar('g.id::text', 'string', { caseExact: true }),
      displayName: scalar('g.display_name'),
      members: relation({
        from: 'group_members gm JOIN users mu ON mu.id = gm.user_id',
        correlate: 'gm.group_id = g.id',
        subAttributes: {
          value: scalar('gm.user_id::text', 'string', { caseExact: true }),
          display: scalar('mu.display_name'),
          type: scalar("'User'"),
        },
      }),
    },
  },
};

const schemaName = `filter_sql_${randomUUID().replace(/-/g, '').slice(0, 12)}`;
const client = new Client({ connectionString: process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test' });
const org = randomUUID();
const ids = { bjensen: randomUUID(), jsmith: randomUUID(), alice: randomUUID(), odd: randomUUID(), carol: randomUUID() };
const groups = { admins: randomUUID(), readers: randomUUID(), empty: randomUUID() };

interface UserRow {
  id: string;
  userName: string;
  externalId?: string;
  displayName?: string;
  title: string | null;
  active: boolean;
  given?: string;
  family?: string;
  emails: object[];
  enterprise: object | null;
  timeout: number | null;
  created: string;
  updated: string;
}

const users: UserRow[] = [
  {
    id: ids.bjensen,
    userName: 'bjensen',
    externalId: 'EXT-1',
    displayName: 'Barbara Jensen',
    title: 'Tour Guide',
    active: true,
    given: 'Barbara',
    family: 'Jensen',
    emails: [
      { value: 'bjensen@example.com', type: 'work', primary: true },
      { value: 'babs@jensen.org', type: 'home' },
    ],
    enterprise: {
      employeeNumber: '701984',
      manager: { value: 'M-1', displayName: 'John Smith' },
      level: 3,
      contractor: false,
      hireDate: '2020-01-15T09:00:00Z',
    },
    timeout: 30,
    created: '2020-01-01T00:00:00Z',
    updated: '2021-06-01T12:00:00Z',
  },
  {
    id: ids.jsmith,
    userName: 'JSmith',
    displayName: 'John Smith',
    title: null,
    active: true,
    given: 'John',
    family: 'Smith',
    emails: [{ value: 'john@Example.COM', type: 'work' }],
    enterprise: { employeeNumber: '42', level: 10, contractor: true, hireDate: '2022-03-01T00:00:00Z' },
    timeout: null,
    created: '2021-02-01T00:00:00Z',
    updated: '2021-02-01T00:00:00Z',
  },
  {
    id: ids.alice,
    userName: 'alice',
    displayName: 'Alice Hara',
    title: '',
    active: false,
    given: 'Alice',
    family: "O'Hara",
    emails: [],
    enterprise: null,
    timeout: 5,
    created: '2022-01-01T00:00:00Z',
    updated: '2023-01-01T00:00:00Z',
  },
  {
    id: ids.odd,
    userName: 'a_b%c\\d',
    title: 'TOUR GUIDE',
    active: true,
    emails: [
      { value: 'x@corp.example', type: 'home', primary: true },
      { value: 'y@example.com', type: 'work' },
    ],
    enterprise: { manager: { value: 'm-1' } },
    timeout: null,
    created: '2022-06-01T00:00:00Z',
    updated: '2022-06-01T00:00:00.123456Z',
  },
  {
    id: ids.carol,
    userName: 'axbxcxd',
    displayName: 'Carol',
    title: 'Manager',
    active: false,
    emails: [{ value: 'carol@corp.example', type: 'work' }, { value: 'c@example.org' }],
    enterprise: { employeeNumber: '9' },
    timeout: 100,
    created: '2023-01-01T00:00:00Z',
    updated: '2023-01-01T00:00:00Z',
  },
];

/** Knex-style `?` placeholders to pg's `$n`. */
function toPg(sql: string): string {
  let n = 0;
  return sql.replace(/\?/g, () => `$${++n}`);
}

async function matching(filter: string, catalog = userCatalog): Promise<string[]> {
  const { sql, params } = filterToSql(parseFilter(filter), catalog);
  expect(sql.split('?').length - 1).toBe(params.length);
  if (catalog === userCatalog) {
    const { rows } = await client.query(`SELECT u.user_name FROM users u WHERE ${toPg(sql)}`, params);
    return rows.map((row) => row.user_name as string).sort();
  }
  const { rows } = await client.query(`SELECT g.display_name FROM groups g WHERE ${toPg(sql)}`, params);
  return rows.map((row) => row.display_name as string).sort();
}

function translationError(filter: string, catalog = userCatalog): DomainError {
  try {
    filterToSql(parseFilter(filter), catalog);
  } catch (error) {
    expect(error).toBeInstanceOf(DomainError);
    expect((error as DomainError).kind).toBe('invalid_filter');
    return error as DomainError;
  }
  throw new Error(`expected ${filter} to be rejected`);
}

function sortFor(catalog: AttributeCatalog, sortBy: string, sortOrder?: string) {
  return sortToSql(catalog, parseAttributePath(sortBy), sortOrder?.toLowerCase() === 'descending');
}

async function sorted(sortBy: string, sortOrder?: string, catalog = userCatalog): Promise<string[]> {
  const { sql, params } = sortFor(catalog, sortBy, sortOrder);
  const { rows } = await client.query(`SELECT u.user_name FROM users u ORDER BY ${toPg(sql)}, u.user_name COLLATE "C"`, params);
  return rows.map((row) => row.user_name as string);
}

beforeAll(async () => {
  await client.connect();
  await client.query(`CREATE SCHEMA ${schemaName}`);
  await client.query(`SET search_path TO ${schemaName}`);
  await client.query(`
    CREATE TABLE users (id uuid PRIMARY KEY, organization_id uuid NOT NULL, user_name text NOT NULL, external_id text,
      display_name text, title text, active boolean NOT NULL, name_given_name text, name_family_name text,
      emails jsonb NOT NULL DEFAULT '[]', enterprise jsonb, custom_tql_timeout integer, created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL);
    CREATE TABLE groups (id uuid PRIMARY KEY, organization_id uuid NOT NULL, display_name text NOT NULL, external_id text,
      created_at timestamptz NOT NULL, updated_at timestamptz NOT NULL);
    CREATE TABLE group_members (group_id uuid NOT NULL, user_id uuid NOT NULL, PRIMARY KEY (group_id, user_id));`);
  for (const u of users) {
    await client.query(`INSERT INTO users VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, [
      u.id,
      org,
      u.userName,
      u.externalId ?? null,
      u.displayName ?? null,
      u.title,
      u.active,
      u.given ?? null,
      u.family ?? null,
      JSON.stringify(u.emails),
      u.enterprise && JSON.stringify(u.enterprise),
      u.timeout,
      u.created,
      u.updated,
    ]);
  }
  for (const [name, id] of [
    ['Admins', groups.admins],
    ['Readers', groups.readers],
    ['Empty', groups.empty],
  ]) {
    await client.query(`INSERT INTO groups VALUES ($1, $2, $3, NULL, now(), now())`, [id, org, name]);
  }
  for (const [group, user] of [
    [groups.admins, ids.bjensen],
    [groups.admins, ids.jsmith],
    [groups.readers, ids.alice],
  ]) {
    await client.query(`INSERT INTO group_members VALUES ($1, $2)`, [group, user]);
  }
});

afterAll(async () => {
  await client.query(`DROP SCHEMA IF EXISTS ${schemaName} CASCADE`);
  await client.end();
});

const ALL = ['JSmith', 'a_b%c\\d', 'alice', 'axbxcxd', 'bjensen'];

describe('filterToSql: strings', () => {
  it('compares case-insensitive strings with lower() on both sides', async () => {
    expect(await matching('userName eq "BJENSEN"')).toEqual(['bjensen']);
    expect(await matching('USERNAME Eq "jsmith"')).toEqual(['JSmith']);
    expect(filterToSql(parseFilter('userName eq "x"'), userCatalog)).toEqual({
      sql: 'lower(u.user_name) = lower(?)',
      params: ['x'],
    });
  });

  it('compares case-exact strings as written', async () => {
    expect(await matching('externalId eq "EXT-1"')).toEqual(['bjensen']);
    expect(await matching('externalId eq "ext-1"')).toEqual([]);
    expect(await matching(`id eq "${ids.alice}"`)).toEqual(['alice']);
    expect(await matching('id eq "not-a-uuid"')).toEqual([]);
  });

  it('handles co, sw and ew, escaping LIKE wildcards in the value', async () => {
    expect(await matching('userName sw "j"')).toEqual(['JSmith']);
    expect(await matching('userName ew "SMITH"')).toEqual(['JSmith']);
    expect(await matching('displayName co "SMITH"')).toEqual(['JSmith']);
    expect(await matching('userName co "_b"')).toEqual(['a_b%c\\d']);
    expect(await matching('userName co "%"')).toEqual(['a_b%c\\d']);
    expect(await matching('userName co "\\\\"')).toEqual(['a_b%c\\d']);
    expect(await matching('userName sw "a_"')).toEqual(['a_b%c\\d']);
    expect(await matching('userName ew "c\\\\d"')).toEqual(['a_b%c\\d']);
    expect(await matching('userName co ""')).toEqual(ALL);
  });

  it('orders strings lexicographically (case-insensitively) with gt/ge/lt/le', async () => {
    expect(await matching('userName gt "b"')).toEqual(['JSmith', 'bjensen']);
    expect(await matching('userName ge "JSMITH"')).toEqual(['JSmith']);
    expect(await matching('userName lt "alice"')).toEqual(['a_b%c\\d']);
    expect(await matching('userName le "alice"')).toEqual(['a_b%c\\d', 'alice']);
  });

  it('treats pr as neither NULL nor empty', async () => {
    expect(await matching('title pr')).toEqual(['a_b%c\\d', 'axbxcxd', 'bjensen']);
    expect(await matching('not (title pr)')).toEqual(['JSmith', 'alice']);
  });

  it('treats eq null as IS NULL and ne null as IS NOT NULL', async () => {
    expect(await matching('title eq null')).toEqual(['JSmith']);
    expect(await matching('title ne null')).toEqual(['a_b%c\\d', 'alice', 'axbxcxd', 'bjensen']);
  });

  it('lets ne match rows where the attribute has no value', async () => {
    expect(await matching('title ne "tour guide"')).toEqual(['JSmith', 'alice', 'axbxcxd']);
  });

  it('never puts values into the SQL text', async () => {
    const nasty = `x' OR '1'='1`;
    const { sql, params } = filterToSql(parseFilter(`userName eq ${JSON.stringify(nasty)}`), userCatalog);
    expect(sql).not.toContain('1');
    expect(params).toEqual([nasty]);
    expect(await matching(`userName eq ${JSON.stringify(nasty)} or title co "?"`)).toEqual([]);
  });
});

describe('filterToSql: logic', () => {
  it('evaluates not (A and B) as the negation of the conjunction', async () => {
    expect(await matching('not (active eq true and title eq "tour guide")')).toEqual(['JSmith', 'alice', 'axbxcxd']);
    expect(await matching('not (active eq true) and title pr')).toEqual(['axbxcxd']);
  });

  it('counts an unknown comparison as false before negating it', async () => {
    expect(await matching('not (title eq "tour guide")')).toEqual(['JSmith', 'alice', 'axbxcxd']);
    expect(await matching('not (title eq "x" or active eq false)')).toEqual(['JSmith', 'a_b%c\\d', 'bjensen']);
    expect(await matching('not (not (title eq "manager"))')).toEqual(['axbxcxd']);
  });

  it('binds and tighter than or, and honours parentheses', async () => {
    expect(await matching('userName eq "alice" or active eq true and title sw "tour"')).toEqual(['a_b%c\\d', 'alice', 'bjensen']);
    expect(await matching('(userName eq "alice" or active eq true) and title sw "tour"')).toEqual(['a_b%c\\d', 'bjensen']);
  });
});

describe('filterToSql: other types', () => {
  it('compares booleans and rejects ordering and mismatched values', async () => {
    expect(await matching('active eq false')).toEqual(['alice', 'axbxcxd']);
    expect(await matching('active ne true')).toEqual(['alice', 'axbxcxd']);
    expect(translationError('active eq "yes"').message).toMatch(/'active' is a boolean/);
    expect(translationError('active gt true').message).toMatch(/'gt' cannot compare the boolean attribute 'active'/);
    expect(translationError('userName eq 5').message).toMatch(/'userName' is a string/);
    expect(translationError('userName eq true').message).toMatch(/'userName' is a string/);
  });

  it('compares integers numerically, including with a decimal value', async () => {
    expect(await matching(`${TEST_EXTENSION}:tqlTimeout gt 20`)).toEqual(['axbxcxd', 'bjensen']);
    expect(await matching('tqlTimeout lt 30.5')).toEqual(['alice', 'bjensen']);
    expect(await matching('tqlTimeout eq 5')).toEqual(['alice']);
    expect(await matching('tqlTimeout ne 5')).toEqual(['JSmith', 'a_b%c\\d', 'axbxcxd', 'bjensen']);
    expect(await matching('tqlTimeout pr')).toEqual(['alice', 'axbxcxd', 'bjensen']);
    expect(translationError('tqlTimeout eq "5"').message).toMatch(/'tqlTimeout' is an integer/);
    expect(translationError('tqlTimeout co 5').message).toMatch(/'co' applies to strings/);
  });

  it('compares dateTimes as timestamptz and rejects values that are not dates', async () => {
    expect(await matching('meta.lastModified gt "2022-01-01T00:00:00Z"')).toEqual(['a_b%c\\d', 'alice', 'axbxcxd']);
    expect(await matching('meta.created ge "2022-01-01"')).toEqual(['a_b%c\\d', 'alice', 'axbxcxd']);
    expect(await matching('meta.created lt "2021-02-01T01:00:00-02:00"')).toEqual(['JSmith', 'bjensen']);
    expect(await matching('meta.lastModified eq "2022-06-01T00:00:00.123456Z"')).toEqual(['a_b%c\\d']);
    expect(await matching('meta.created eq "2020-01-01T00:00:00"')).toEqual(['bjensen']);
    expect(translationError('meta.created gt "yesterday"').message).toMatch(/'meta.created' is a dateTime/);
    expect(translationError('meta.created gt "2021-02-30"').message).toMatch(/not a date/);
    expect(translationError('meta.created gt 2021').message).toMatch(/dateTime/);
    expect(translationError('meta.created co "2021"').message).toMatch(/'co' applies to strings/);
    expect(translationError('meta.created gt null').message).toMatch(/needs a value/);
  });
});

describe('filterToSql: complex and extension attributes', () => {
  it('resolves sub-attributes of a single-valued complex attribute', async () => {
    expect(await matching('name.familyName eq "o\'hara"')).toEqual(['alice']);
    expect(await matching('NAME.GIVENNAME sw "b"')).toEqual(['bjensen']);
    expect(await matching('name pr')).toEqual(['JSmith', 'alice', 'bjensen']);
    expect(await matching('name[givenName eq "john" or familyName eq "jensen"]')).toEqual(['JSmith', 'bjensen']);
    expect(translationError('name eq "x"').message).toMatch(/'name' is complex.*name.givenName/);
    expect(translationError('name.middleName pr').message).toMatch(/unknown attribute 'name.middleName'/);
  });

  it('reads extension attributes from jsonb, qualified or not', async () => {
    expect(await matching(`${ENTERPRISE}:employeeNumber eq "701984"`)).toEqual(['bjensen']);
    expect(await matching(`${ENTERPRISE.toUpperCase()}:EMPLOYEENUMBER eq "42"`)).toEqual(['JSmith']);
    expect(await matching('employeeNumber pr')).toEqual(['JSmith', 'axbxcxd', 'bjensen']);
    expect(await matching(`${ENTERPRISE}:manager.value eq "M-1"`)).toEqual(['bjensen']);
    expect(await matching('manager eq "m-1"')).toEqual(['a_b%c\\d']);
    expect(await matching('manager.displayName co "smith"')).toEqual(['bjensen']);
    expect(await matching('manager pr')).toEqual(['a_b%c\\d', 'bjensen']);
    expect(await matching('not (manager pr)')).toEqual(['JSmith', 'alice', 'axbxcxd']);
  });

  it('casts jsonb values for numeric, boolean and dateTime comparisons', async () => {
    expect(await matching('level gt 5')).toEqual(['JSmith']);
    expect(await matching('level le 3')).toEqual(['bjensen']);
    expect(await matching('contractor eq true')).toEqual(['JSmith']);
    expect(await matching('contractor ne true')).toEqual(['a_b%c\\d', 'alice', 'axbxcxd', 'bjensen']);
    expect(await matching('hireDate lt "2021-01-01T00:00:00Z"')).toEqual(['bjensen']);
  });

  it('names unknown attributes and schemas', () => {
    expect(translationError('nickName eq "x"').message).toMatch(/unknown attribute 'nickName'/);
    expect(translationError(`${ENTERPRISE}:userName eq "x"`).message).toMatch(/unknown attribute 'userName' in schema/);
    expect(translationError('urn:example:nope:2.0:User:userName eq "x"').message).toMatch(/unknown schema/);
    expect(translationError('userName.first eq "x"').message).toMatch(/'userName' has no sub-attributes/);
    expect(translationError('title[value eq "x"]').message).toMatch(/not a complex attribute/);
  });
});

describe('filterToSql: multi-valued jsonb attributes', () => {
  it('matches when any element matches, using value by default', async () => {
    expect(await matching('emails co "example.com"')).toEqual(['JSmith', 'a_b%c\\d', 'bjensen']);
    expect(await matching('emails.value ew "ORG"')).toEqual(['axbxcxd', 'bjensen']);
    expect(await matching('emails.type eq "home"')).toEqual(['a_b%c\\d', 'bjensen']);
    expect(await matching('emails.primary eq true')).toEqual(['a_b%c\\d', 'bjensen']);
  });

  it('requires one element to satisfy the whole bracket filter', async () => {
    expect(await matching('emails[type eq "work" and value co "corp"]')).toEqual(['axbxcxd']);
    expect(await matching('emails.type eq "home" and emails.value co "example.com"')).toEqual(['a_b%c\\d', 'bjensen']);
    expect(await matching('emails[type eq "home" and value co "example.com"]')).toEqual([]);
    expect(await matching('emails[type eq "work"].value co "corp"')).toEqual(['axbxcxd']);
    expect(await matching('emails[not (type pr)]')).toEqual(['axbxcxd']);
  });

  it('gives each subquery its own alias', () => {
    const { sql } = filterToSql(parseFilter('emails[type eq "work"] and emails.type eq "home"'), userCatalog);
    expect(sql).toContain('AS scim_e1(v)');
    expect(sql).toContain('AS scim_e2(v)');
  });

  it('treats pr as non-empty, and ne as "some element differs"', async () => {
    expect(await matching('emails pr')).toEqual(['JSmith', 'a_b%c\\d', 'axbxcxd', 'bjensen']);
    expect(await matching('not (emails pr)')).toEqual(['alice']);
    expect(await matching('emails.type pr')).toEqual(['JSmith', 'a_b%c\\d', 'axbxcxd', 'bjensen']);
    expect(await matching('emails.type ne "work"')).toEqual(['a_b%c\\d', 'axbxcxd', 'bjensen']);
    expect(await matching('not (emails.type eq "work")')).toEqual(['alice']);
  });

  it('rejects unknown sub-attributes and nested value paths', () => {
    expect(translationError('emails.label eq "x"').message).toMatch(/unknown attribute 'emails.label'/);
    expect(translationError('emails[label eq "x"]').message).toMatch(/unknown attribute 'emails.label'/);
    const nested = {
      kind: 'valuePath',
      path: { attribute: 'emails' },
      filter: { kind: 'valuePath', path: { attribute: 'type' }, filter: { kind: 'present', path: { attribute: 'x' } } },
    } as const;
    expect(() => filterToSql(nested, userCatalog)).toThrow(/cannot be nested/);
  });
});

describe('filterToSql: relations', () => {
  it('filters groups by members', async () => {
    expect(await matching(`members[value eq "${ids.bjensen}"]`, groupCatalog)).toEqual(['Admins']);
    expect(await matching(`members.value eq "${ids.alice}"`, groupCatalog)).toEqual(['Readers']);
    expect(await matching(`members eq "${ids.jsmith}"`, groupCatalog)).toEqual(['Admins']);
    expect(await matching('members pr', groupCatalog)).toEqual(['Admins', 'Readers']);
    expect(await matching('not (members pr)', groupCatalog)).toEqual(['Empty']);
    expect(await matching('members.display co "HARA"', groupCatalog)).toEqual(['Readers']);
    expect(await matching('members[type eq "user" and display sw "john"]', groupCatalog)).toEqual(['Admins']);
    expect(await matching('displayName eq "admins" and members pr', groupCatalog)).toEqual(['Admins']);
  });

  it('filters users by their groups', async () => {
    expect(await matching(`groups.value eq "${groups.admins}"`)).toEqual(['JSmith', 'bjensen']);
    expect(await matching('groups[display eq "readers"]')).toEqual(['alice']);
    expect(await matching('not (groups pr)')).toEqual(['a_b%c\\d', 'axbxcxd']);
  });

  it('uses the catalog template', () => {
    expect(filterToSql(parseFilter('members[value eq "x"]'), groupCatalog)).toEqual({
      sql: 'EXISTS (SELECT 1 FROM group_members gm JOIN users mu ON mu.id = gm.user_id ' + 'WHERE gm.group_id = g.id AND gm.user_id::text = ?)',
      params: ['x'],
    });
  });
});

describe('sortToSql', () => {
  it('sorts case-insensitive strings by lower(), ascending by default', async () => {
    expect(sortFor(userCatalog, 'userName')).toEqual({ sql: 'lower(u.user_name) ASC NULLS LAST', params: [] });
    expect(await sorted('userName', 'Descending')).toEqual(['JSmith', 'bjensen', 'axbxcxd', 'alice', 'a_b%c\\d']);
  });

  it('puts missing values last when ascending and first when descending', async () => {
    expect((await sorted('tqlTimeout')).slice(-2)).toEqual(['JSmith', 'a_b%c\\d']);
    expect(await sorted('tqlTimeout', 'descending')).toEqual(['JSmith', 'a_b%c\\d', 'axbxcxd', 'bjensen', 'alice']);
  });

  it('sorts by sub-attributes, extension attributes and jsonb numbers', async () => {
    expect((await sorted('name.givenName')).slice(0, 3)).toEqual(['alice', 'bjensen', 'JSmith']);
    expect(await sorted(`${TEST_EXTENSION}:level`, 'descending')).toEqual(['a_b%c\\d', 'alice', 'axbxcxd', 'JSmith', 'bjensen']);
    expect(await sorted('meta.created', 'descending')).toEqual(['axbxcxd', 'a_b%c\\d', 'alice', 'JSmith', 'bjensen']);
  });

  it('sorts multi-valued attributes by the primary element, else the first', async () => {
    // bjensen: primary bjensen@...; odd: primary x@corp...; carol: first carol@...; jsmith: john@...; alice: none
    expect(await sorted('emails')).toEqual(['bjensen', 'axbxcxd', 'JSmith', 'a_b%c\\d', 'alice']);
    expect(await sorted('emails.type')).toEqual(['a_b%c\\d', 'JSmith', 'axbxcxd', 'bjensen', 'alice']);
  });

  it('rejects unsortable attributes and orders with sort.invalid', () => {
    for (const sortBy of ['members', 'groups.value', 'nickName', 'name']) {
      const catalog = sortBy === 'members' ? groupCatalog : userCatalog;
      try {
        sortFor(catalog, sortBy);
        throw new Error(`expected sortBy=${sortBy} to be rejected`);
      } catch (error) {
        expect(error).toBeInstanceOf(DomainError);
        expect((error as DomainError).kind).toBe('invalid_value');
        expect((error as DomainError).code).toBe('sort.invalid');
      }
    }
  });
});
