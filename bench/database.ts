import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { openDatabase } from '../src/orm/database';
import { DEFAULT_RANGE_SIZE } from '../src/orm/user-order';

/**
 * The bench database: created fresh (or given), migrated by Roster's own migrations,
 * and seeded with bulk SQL. Ids are derived from numbers (md5 -> uuid) so the load
 * generator can name any seeded user or group without loading them.
 */

export const BENCH_SECRET = 'roster-bench-token-0123456789abcdef0123456789abcdef';
export const BENCH_ORG_SLUG = 'bench';
/**
 * The bench organization's license: standard users up to this many (the seeded users are
 * standard), and never closer than the seed itself to the limit, so creates stay far from it.
 */
export const BENCH_STANDARD_USER_LIMIT = 5_000_000;
export const standardUserLimit = (users: number) => Math.max(BENCH_STANDARD_USER_LIMIT, 2 * users);
export const SMALL_GROUPS = 1_000;
export const SMALL_GROUP_SIZE = 10;
export const BIG_GROUP_MAX = 100_000;
export const BIG_GROUP_NAME = 'All Staff';
/**
 * Users outside every group (`visitor…@bench.example`, sorting after every `user…`): the
 * members scenario 5 adds and removes.
 */
export const SPARE_USERS = 1_000;
const USER_BATCH = 100_000;
const spareMembershipsDelete = () =>
  `delete from group_members where user_id in (select ${SEEDED_ID('bench-spare-', 'i')} from generate_series(1, $1::int) as i)`;

export const DEFAULT_ADMIN_URL = 'postgres://postgres@127.0.0.1:5432/postgres';

export function adminUrl(): string {
  const fromEnv = process.env.DATABASE_URL;
  return fromEnv && fromEnv.trim() !== '' ? fromEnv : DEFAULT_ADMIN_URL;
}

function uuidFromMd5(text: string): string {
  const h = createHash('md5').update(text).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * The seeded users' ids, as Roster makes a user's (a UUID version 7, src/orm/ids.ts): the
 * user's creation time in milliseconds (the seed's `created_at`, `base` + i ms), then bits
 * of `md5(prefix || i)`. SEEDED_ID is the same in SQL.
 */
const USERS_CREATED = { 'bench-user-': '2025-01-01T00:00:00Z', 'bench-spare-': '2025-06-01T00:00:00Z', 'bench-storm-': '2025-09-01T00:00:00Z' } as const;
type SeededPrefix = keyof typeof USERS_CREATED;
function seededId(prefix: SeededPrefix, i: number): string {
  const time = (Date.parse(USERS_CREATED[prefix]) + i).toString(16).padStart(12, '0');
  const h = createHash('md5').update(`${prefix}${i}`).digest('hex');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${h.slice(0, 3)}-8${h.slice(3, 6)}-${h.slice(6, 18)}`;
}
/** seededId in SQL, of the index expression `i`. */
const SEEDED_ID = (prefix: SeededPrefix, i: string) =>
  `(lpad(to_hex((extract(epoch from timestamptz '${USERS_CREATED[prefix]}') * 1000)::bigint + (${i})), 12, '0') || '7' || substr(md5('${prefix}' || (${i})), 1, 3) || '8' || substr(md5('${prefix}' || (${i})), 4, 15))::uuid`;

export const userId = (i: number) => seededId('bench-user-', i);
export const spareId = (i: number) => seededId('bench-spare-', i);
export const groupId = (g: number) => uuidFromMd5(`bench-group-${g}`);
export const bigGroupId = () => uuidFromMd5('bench-group-all');

export function userNameWidth(users: number): number {
  return Math.max(7, String(users).length);
}

export function userName(i: number, width: number): string {
  return `user${String(i).padStart(width, '0')}@bench.example`;
}

export const groupName = (g: number) => `Group ${String(g).padStart(4, '0')}`;

export function databaseUrlFor(admin: string, name: string): string {
  const url = new URL(admin);
  url.pathname = `/${name}`;
  return url.toString();
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end().catch(() => undefined);
  }
}

export async function createFreshDatabase(admin: string): Promise<{ name: string; url: string }> {
  const name = `roster_bench_${randomBytes(5).toString('hex')}`;
  await withClient(admin, (c) => c.query(`create database "${name}"`));
  return { name, url: databaseUrlFor(admin, name) };
}

export async function dropDatabase(admin: string, name: string): Promise<void> {
  if (!/^roster_bench_[0-9a-f]+$/.test(name)) throw new Error(`refusing to drop ${name}: not a bench database`);
  await withClient(admin, (c) => c.query(`drop database if exists "${name}" with (force)`));
}

/** Roster's migrations, applied the way Roster applies them. */
export async function migrate(url: string): Promise<void> {
  const database = await openDatabase({ url, poolMax: 2, migrate: true });
  await database.close();
}

export interface SeedInfo {
  organizationId: string;
  users: number;
  width: number;
  bigGroupId: string;
  bigGroupSize: number;
  /** Whether the database already held this seed (a reused --database-url). */
  reused: boolean;
  timings: { step: string; seconds: number; rows: number }[];
}

const GIVEN = [
  'Ada',
  'Alan',
  'Grace',
  'Linus',
  'Barbara',
  'Dennis',
  'Margaret',
  'Ken',
  'Radia',
  'Edsger',
  'Frances',
  'Donald',
  'Hedy',
  'John',
  'Katherine',
  'Leslie',
  'Shafi',
  'Tim',
  'Sophie',
  'Vint',
  'Anita',
  'Guido',
  'Joan',
  'Bjarne',
  'Mary',
  'Niklaus',
  'Adele',
  'James',
  'Karen',
  'Robert',
  'Evelyn',
  'Carlos',
  'Amara',
  'Yuki',
  'Priya',
  'Omar',
  'Ingrid',
  'Mateo',
  'Chen',
  'Fatima',
  'Lars',
  'Zanele',
  'Aiko',
  'Diego',
  'Noor',
  'Pavel',
  'Siobhan',
  'Tariq',
  'Elif',
];
const FAMILY = [
  'Lovelace',
  'Turing',
  'Hopper',
  'Torvalds',
  'Liskov',
  'Ritchie',
  'Hamilton',
  'Thompson',
  'Perlman',
  'Dijkstra',
  'Allen',
  'Knuth',
  'Lamarr',
  'McCarthy',
  'Johnson',
  'Lamport',
  'Goldwasser',
  'Berners-Lee',
  'Wilson',
  'Cerf',
  'Borg',
  'van Rossum',
  'Clarke',
  'Stroustrup',
  'Keller',
  'Wirth',
  'Goldberg',
  'Gosling',
  'Jones',
  'Kahn',
  'Nemeth',
  'Silva',
  'Okafor',
  'Tanaka',
  'Sharma',
  'Haddad',
  'Larsen',
  'Garcia',
  'Wang',
  'Rahman',
  'Nilsson',
  'Dlamini',
  'Sato',
  'Lopez',
];
const DEPARTMENTS = ['Engineering', 'Threat Research', 'Sales', 'Support', 'Finance', 'Legal', 'Operations', 'Marketing'];
const TITLES = ['Analyst', 'Senior Analyst', 'Engineer', 'Manager', 'Director', 'Specialist', 'Consultant'];

const sqlArray = (items: string[]) => `array[${items.map((s) => `'${s.replace(/'/g, "''")}'`).join(', ')}]`;

/** The users i in [from, to], with realistic columns, in one statement. */
function usersInsert(prefix: 'user' | 'visitor' | 'storm', idPrefix: SeededPrefix): string {
  const createdBase = USERS_CREATED[idPrefix];
  return `
    with n as (
      select i, (${sqlArray(GIVEN)})[1 + (i * 7) % ${GIVEN.length}] as given,
                (${sqlArray(FAMILY)})[1 + (i * 13) % ${FAMILY.length}] as family
      from generate_series($2::int, $3::int) as i
    )
    insert into users (id, organization_id, user_name, external_id, display_name, title, user_type, preferred_language,
      locale, timezone, name_formatted, name_family_name, name_given_name, active, emails, enterprise, system_role,
      organization_role, password_reset_required, version, created_at, updated_at)
    select ${SEEDED_ID(idPrefix, 'i')}, $1::uuid,
      '${prefix}' || lpad(i::text, $4::int, '0') || '@bench.example',
      '${prefix}' || lpad(i::text, $4::int, '0'),
      given || ' ' || family,
      (${sqlArray(TITLES)})[1 + i % ${TITLES.length}],
      'Employee', 'en-US', 'en-US', 'Europe/Amsterdam',
      given || ' ' || family, family, given,
      true,
      jsonb_build_array(jsonb_build_object('value', lower(replace(given || '.' || family, ' ', '')) || i || '@bench.example',
        'type', 'work', 'primary', true)),
      jsonb_build_object('department', (${sqlArray(DEPARTMENTS)})[1 + i % ${DEPARTMENTS.length}], 'employeeNumber', i::text),
      'User', 'Standard User', false, 1,
      timestamptz '${createdBase}' + i * interval '1 millisecond',
      timestamptz '${createdBase}' + i * interval '1 millisecond'
    from n`;
}

type Progress = (line: string) => void;

async function timed<T extends number>(timings: SeedInfo['timings'], step: string, progress: Progress, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const rows = await work();
  const seconds = (performance.now() - started) / 1000;
  timings.push({ step, seconds, rows });
  progress(`  ${step}: ${rows.toLocaleString('en-US')} rows in ${seconds.toFixed(1)} s`);
  return rows;
}

/**
 * Seeds the bench organization: one credential with BENCH_SECRET, `users` users,
 * SPARE_USERS spare users, SMALL_GROUPS groups of SMALL_GROUP_SIZE, and one group of
 * min(users, BIG_GROUP_MAX). A database that already holds exactly this seed is reused.
 */
export async function seed(url: string, users: number, progress: Progress): Promise<SeedInfo> {
  const width = userNameWidth(users);
  const bigGroupSize = Math.min(users, BIG_GROUP_MAX);
  const timings: SeedInfo['timings'] = [];
  return withClient(url, async (c) => {
    const orgs = (await c.query<{ id: string; slug: string }>('select id, slug from organizations')).rows;
    const foreign = orgs.filter((o) => o.slug !== BENCH_ORG_SLUG && o.slug !== STORM_ORG_SLUG);
    if (foreign.length > 0) {
      throw new Error(
        `the database holds other organizations (${foreign
          .map((o) => o.slug)
          .slice(0, 3)
          .join(', ')}): use an empty or bench database`,
      );
    }
    const existing = orgs.find((o) => o.slug === BENCH_ORG_SLUG);
    if (existing) {
      const { rows } = await c.query<{ n: number }>(
        `select count(*)::int as n from users where organization_id = $1 and user_name like 'user%@bench.example'`,
        [existing.id],
      );
      const n = rows[0]?.n ?? 0;
      if (n !== users) throw new Error(`the database already holds a bench seed of ${n} users: pass --users ${n} or use a fresh database`);
      const current = await c.query('select 1 from users where id = $1', [userId(1)]);
      if (current.rowCount === 0) throw new Error('the database holds a bench seed of an earlier bench (its users have other ids): use a fresh database');
      progress(`  reusing the seed already in the database (${n.toLocaleString('en-US')} users)`);
      await c.query(spareMembershipsDelete(), [SPARE_USERS]);
      await timed(timings, 'user order index (pending deltas folded)', progress, () => compactUserOrder(c, existing.id));
      return { organizationId: existing.id, users, width, bigGroupId: bigGroupId(), bigGroupSize, reused: true, timings };
    }

    await c.query('set synchronous_commit = off');
    await c.query(`set maintenance_work_mem = '256MB'`);
    const organizationId = (
      await c.query<{ id: string }>(
        // Licensed as customers are: every create runs the license check (lock and count).
        `insert into organizations (id, slug, name, standard_user_limit) values (gen_random_uuid(), $1, 'Bench Corp', $2) returning id`,
        [BENCH_ORG_SLUG, standardUserLimit(users)],
      )
    ).rows[0]!.id;
    await c.query(
      `insert into api_credentials (id, organization_id, name, secret_hash, system_role, organization_role)
       values (gen_random_uuid(), $1, 'bench', $2, 'Api User', 'Organization Administrator')`,
      [organizationId, createHash('sha256').update(BENCH_SECRET, 'utf8').digest('hex')],
    );

    const started = performance.now();
    await timed(timings, 'users', progress, async () => {
      const sql = usersInsert('user', 'bench-user-');
      let done = 0;
      for (let from = 1; from <= users; from += USER_BATCH) {
        const to = Math.min(users, from + USER_BATCH - 1);
        const result = await c.query(sql, [organizationId, from, to, width]);
        done += result.rowCount ?? 0;
        // A line per batch up to 2,000,000 users, then one per 1,000,000.
        if (users > USER_BATCH && (users <= 2_000_000 || done % 1_000_000 === 0 || done === users)) {
          const elapsed = (performance.now() - started) / 1000;
          progress(`    ${done.toLocaleString('en-US')} / ${users.toLocaleString('en-US')} users (${elapsed.toFixed(0)} s)`);
        }
      }
      return done;
    });
    await timed(timings, 'spare users (in no group)', progress, async () => {
      // Created after every seeded user, so the default (creation) order starts with user0000001.
      const result = await c.query(usersInsert('visitor', 'bench-spare-'), [organizationId, 1, SPARE_USERS, width]);
      return result.rowCount ?? 0;
    });
    await timed(timings, 'groups', progress, async () => {
      const small = await c.query(
        `insert into groups (id, organization_id, display_name, external_id, created_at, updated_at)
         select md5('bench-group-' || g)::uuid, $1::uuid, 'Group ' || lpad(g::text, 4, '0'), 'grp-' || g,
           timestamptz '2024-06-01T00:00:00Z' + g * interval '1 second', timestamptz '2024-06-01T00:00:00Z' + g * interval '1 second'
         from generate_series(1, $2::int) as g`,
        [organizationId, SMALL_GROUPS],
      );
      const big = await c.query(
        `insert into groups (id, organization_id, display_name, external_id, created_at, updated_at)
         values (md5('bench-group-all')::uuid, $1::uuid, $2, 'grp-all', timestamptz '2024-05-01T00:00:00Z', timestamptz '2024-05-01T00:00:00Z')`,
        [organizationId, BIG_GROUP_NAME],
      );
      return (small.rowCount ?? 0) + (big.rowCount ?? 0);
    });
    await timed(timings, `memberships (${SMALL_GROUPS} x ${SMALL_GROUP_SIZE} + 1 x ${bigGroupSize.toLocaleString('en-US')})`, progress, async () => {
      const small = await c.query(
        `insert into group_members (group_id, user_id, created_at)
         select md5('bench-group-' || g)::uuid, ${SEEDED_ID('bench-user-', '((g - 1) * $2::int + j - 1) % $3::int + 1')},
           timestamptz '2024-07-01T00:00:00Z' + (g * $2::int + j) * interval '1 millisecond'
         from generate_series(1, $1::int) as g, generate_series(1, $2::int) as j`,
        [SMALL_GROUPS, SMALL_GROUP_SIZE, users],
      );
      const big = await c.query(
        `insert into group_members (group_id, user_id, created_at)
         select md5('bench-group-all')::uuid, ${SEEDED_ID('bench-user-', 'i')}, timestamptz '2024-08-01T00:00:00Z' + i * interval '1 millisecond'
         from generate_series(1, $1::int) as i`,
        [bigGroupSize],
      );
      return (small.rowCount ?? 0) + (big.rowCount ?? 0);
    });
    await timed(timings, `user order index (ranges of ${DEFAULT_RANGE_SIZE.toLocaleString('en-US')} users)`, progress, () =>
      compactUserOrder(c, organizationId),
    );
    await timed(timings, 'vacuum analyze', progress, async () => {
      await c.query(
        'vacuum analyze organizations, api_credentials, users, groups, group_members, user_order_deltas, user_name_ranges, user_created_ranges, user_account_deltas',
      );
      return 0;
    });
    // The seed's writes flushed now: otherwise the checkpoint they start runs beside the first scenarios and
    // charges them for the seed (a 100,000-member mapping's set, 12d, ran 5.9 s beside it and about 5 s after one).
    // CHECKPOINT needs a superuser or pg_checkpoint: without either the scenarios start beside it, as before.
    await timed(timings, 'checkpoint', progress, async () => {
      await c.query('checkpoint').catch((error: Error) => progress(`  checkpoint skipped: ${error.message}`));
      return 0;
    });
    return { organizationId, users, width, bigGroupId: bigGroupId(), bigGroupSize, reused: false, timings };
  });
}

/**
 * Folds the deltas the users' triggers appended into counted ranges, as the server's
 * compactor would in its first seconds, so the timed runs start from a compact index.
 */
async function compactUserOrder(c: pg.Client, organizationId: string): Promise<number> {
  await c.query('begin isolation level repeatable read');
  try {
    const { rows } = await c.query<{ folded: number }>('select roster_compact_user_order($1, $2) as folded', [organizationId, DEFAULT_RANGE_SIZE]);
    await c.query('commit');
    return rows[0]?.folded ?? 0;
  } catch (error) {
    await c.query('rollback');
    throw error;
  }
}

/**
 * Scenario 9's second organization, the one that storms: its own token and
 * `users` users (`storm…@bench.example`), added once and reused by later runs.
 */
export const STORM_ORG_SLUG = 'bench-storm';
export const STORM_SECRET = 'roster-bench-storm-token-0123456789abcdef0123456789abcdef';
export const stormUserId = (i: number) => seededId('bench-storm-', i);

export async function seedStormOrganization(url: string, users: number): Promise<{ organizationId: string }> {
  return withClient(url, async (c) => {
    await c.query(`insert into organizations (id, slug, name) values (gen_random_uuid(), $1, 'Storm Corp') on conflict do nothing`, [STORM_ORG_SLUG]);
    const organizationId = (await c.query<{ id: string }>('select id from organizations where slug = $1', [STORM_ORG_SLUG])).rows[0]!.id;
    await c.query(
      `insert into api_credentials (id, organization_id, name, secret_hash, system_role, organization_role)
       values (gen_random_uuid(), $1, 'storm', $2, 'Api User', 'Organization Administrator') on conflict do nothing`,
      [organizationId, createHash('sha256').update(STORM_SECRET, 'utf8').digest('hex')],
    );
    await c.query(`${usersInsert('storm', 'bench-storm-')} on conflict do nothing`, [organizationId, 1, users, 7]);
    return { organizationId };
  });
}

/** Removes the spare users from every group (scenario 5 leaves at most one per connection behind). */
export async function resetSpareMemberships(url: string): Promise<void> {
  await withClient(url, (c) => c.query(spareMembershipsDelete(), [SPARE_USERS]));
}

/** The database's size on disk (pg_database_size: tables, indexes, TOAST; not the WAL). */
export async function databaseSize(url: string): Promise<number> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ bytes: string }>('select pg_database_size(current_database())::text as bytes');
    return Number(rows[0]?.bytes ?? NaN);
  });
}

export async function serverInfo(url: string): Promise<{ version: string }> {
  return withClient(url, async (c) => {
    const { rows } = await c.query<{ version: string }>('select version()');
    return { version: rows[0]?.version ?? 'unknown' };
  });
}
