import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { Client, Pool, TypeOverrides, types } from 'pg';
import { migrations } from '../../migrations';
import { entities } from './entities';
import { runningEmbeddedUrl, startEmbeddedPostgres, type EmbeddedPostgres } from './embedded';

export const MIGRATIONS_TABLE = 'roster_migrations';

export interface DatabaseOptions {
  /** A PostgreSQL URL; undefined starts the embedded PostgreSQL. */
  url?: string;
  /** Where the embedded PostgreSQL keeps its data; undefined keeps it in memory. */
  dataDir?: string;
  poolMax: number;
  /** statement_timeout of every pooled connection, ms (default 15 s). */
  statementTimeoutMs?: number;
  /** Allow named prepared statements (default true; never on the embedded database). */
  preparedStatements?: boolean;
  /** Where the driver's warnings go (lost connections); default: dropped. */
  onWarning?: (message: string) => void;
  /** Apply pending migrations before returning (the default). */
  migrate?: boolean;
  /**
   * When another Roster process already serves the embedded database of `dataDir`,
   * connect through it instead of refusing (the CLI does; a second server must not).
   */
  shareRunningEmbedded?: boolean;
}

/**
 * An open database: Roster's own pg pool for the SQL it writes, MikroORM for entities
 * and migrations, where it runs, and how to close it.
 */
export interface Database {
  /** The connections Roster's repositories use (orm/sql.ts, orm/unit-of-work.ts). */
  pool: Pool;
  /** Entities and migrations, on a small connection pool of MikroORM's own. */
  orm: MikroORM;
  url: string;
  embedded: boolean;
  /**
   * Whether statements may be named prepared statements. Not on the embedded
   * PostgreSQL: its socket serves every connection from one session, where two
   * connections preparing the same name would collide.
   */
  preparedStatements: boolean;
  /** Whether the database answers a trivial query within `timeoutMs`. */
  ping(timeoutMs?: number): Promise<boolean>;
  /**
   * Whether the migrations table holds every migration this build knows, answered
   * within `timeoutMs`. Once true, it stays true without asking again (a migration is
   * never taken back while Roster runs), so readiness is then one ping.
   */
  migrated(timeoutMs?: number): Promise<boolean>;
  /** Connections of Roster's pool in use, idle, and requests waiting for one. */
  poolStats(): { used: number; free: number; pending: number };
  close(): Promise<void>;
}

/** MikroORM's own pool: migrations, the schema-diff test and tools only; the requests use `Database.pool`. */
const ORM_POOL_MAX = 2;

/**
 * Timestamps, dates and intervals as PostgreSQL's text (and arrays of them as arrays
 * of text), as MikroORM's PostgreSQL driver reads them: rows convert with toDate (sql.ts).
 */
function rosterTypes(): TypeOverrides {
  const overrides = new TypeOverrides();
  const textArray = types.getTypeParser(1009 as Parameters<typeof types.getTypeParser>[0]); // text[]: elements as strings, NULL as null
  for (const oid of [1082, 1114, 1184, 1186]) overrides.setTypeParser(oid, (text: string) => text); // date, timestamp, timestamptz, interval
  for (const oid of [1182, 1115, 1185, 1187]) overrides.setTypeParser(oid, textArray); // their arrays
  return overrides;
}

/**
 * The pool Roster's repositories run on. Every connection gets the same
 * statement_timeout as MikroORM's, and JIT off; a request waits at most 5 s for a connection, so a
 * database that is down makes it fail fast (503). An idle connection lost is reported
 * to `onWarning` and replaced on the next use.
 */
export function createPool(url: string, poolMax: number, statementTimeoutMs = 15_000, onWarning: (message: string) => void = () => undefined): Pool {
  const pool = new Pool({
    connectionString: url,
    max: poolMax,
    min: 0,
    idleTimeoutMillis: 30_000,
    connectionTimeoutMillis: 5_000,
    keepAlive: true,
    types: rosterTypes(),
  });
  asRosterConnections(pool, { statementTimeoutMs, onWarning });
  return pool;
}

const statementTimeouts = new WeakMap<Pool, number>();
const warningSinks = new WeakMap<Pool, (message: string) => void>();

/**
 * What every connection Roster opens gets, whichever pool it is in (Roster's own, the
 * sequencer's, the request log's, the rate-limit store's), in one place:
 * - its settings as the connection's first statement (pg runs a client's queries in
 *   order, so nothing runs before it): the statement timeout, JIT off, UTF8 as the client
 *   encoding, and any `settings` of that pool. Not startup parameters: PgBouncer refuses those it does not know.
 *   A first statement that fails (a pooler that refuses SET, a setting the server does not
 *   know) leaves the connection with none of them, as one simple query is one implicit
 *   transaction: said to `onWarning`, and the connection still serves (unbounded, as
 *   before the settings), rather than every request failing on a setting.
 * - a lost connection never crashes the process. Idle, it is reported to `onWarning` and the
 *   pool replaces it; lent out (between a transaction's statements, during a batch), the
 *   statement on it fails and the pool drops it when it is given back. Without a
 *   listener on the client, pg's 'error' event was unhandled and the process exited.
 */
export function asRosterConnections(
  pool: Pool,
  options: { statementTimeoutMs: number; settings?: Record<string, string>; onWarning?: (message: string) => void },
): void {
  const timeout = Math.trunc(options.statementTimeoutMs);
  // No JIT compilation: Roster's statements read a few rows each, but on a large table the planner's estimates can
  // pass the JIT thresholds, and compiling then costs far more than running (a deep page of users at 10,000,000
  // users: 46 ms with JIT, 2 ms without; docs/benchmarks.md). One text, one round trip.
  // UTF8 as the client encoding, whatever the database's: pg sends UTF-8, and a write's last records go as text with
  // their values written in (sql.ts, `literal`), which must be read in the encoding they were written in.
  const settings = { statement_timeout: String(timeout), jit: 'off', client_encoding: 'UTF8', ...options.settings };
  const first = Object.entries(settings)
    .map(([name, value]) => `set ${name} = ${value}`)
    .join('; ');
  const warn = options.onWarning ?? (() => undefined);
  pool.on('connect', (client) => {
    client
      .query(first)
      .catch((error: Error) =>
        warn(`database connection settings failed, so the connection runs without them (${Object.keys(settings).join(', ')}): ${error.message}`),
      );
    client.on('error', () => undefined);
  });
  pool.on('error', (error) => warn(`database connection lost: ${error.message}`));
  statementTimeouts.set(pool, timeout);
  warningSinks.set(pool, warn);
}

/** The statement_timeout (ms) asRosterConnections gave this pool's connections (15 s for a pool it did not set up). */
export function statementTimeoutOf(pool: Pool): number {
  return statementTimeouts.get(pool) ?? 15_000;
}

/** Where asRosterConnections reports this pool's warnings, so that a pool opened beside it (the sequencer's) reports to the same place. */
export function warningSinkOf(pool: Pool): (message: string) => void {
  return warningSinks.get(pool) ?? (() => undefined);
}

export function ormOptions(url: string, poolMax = ORM_POOL_MAX, statementTimeoutMs = 15_000, onWarning: (message: string) => void = () => undefined): Options {
  return {
    clientUrl: url,
    entities,
    extensions: [Migrator],
    preferTs: false,
    ensureDatabase: false,
    allowGlobalContext: false,
    discovery: { warnWhenNoEntities: false },
    pool: {
      min: 0,
      max: poolMax,
      // Every statement on every connection is bounded: a stuck query cannot hold a request forever.
      afterCreate: (connection: { query(sql: string, done: (error: Error | null) => void): void }, done: (error: Error | null, c: unknown) => void) =>
        connection.query(`set statement_timeout = ${Math.trunc(statementTimeoutMs)}`, (error) => done(error, connection)),
      // A database that is down makes requests fail fast (503), not wait a minute for a connection.
      acquireTimeoutMillis: 5_000,
      createTimeoutMillis: 3_000,
      // Used for migrations at start: its connections are not kept idle beside Roster's pool.
      idleTimeoutMillis: 5_000,
    },
    driverOptions: {
      connection: { connectionTimeoutMillis: 3_000, keepAlive: true },
      // knex would print its warnings to the console; they go to the structured log instead.
      log: { warn: onWarning, error: onWarning, deprecate: () => undefined, debug: () => undefined },
    },
    migrations: {
      tableName: MIGRATIONS_TABLE,
      migrationsList: migrations,
      transactional: true,
      allOrNothing: true,
      snapshot: false,
      silent: true,
      emit: 'ts',
      path: 'migrations',
    },
  };
}

export async function openDatabase(options: DatabaseOptions): Promise<Database> {
  let embedded: EmbeddedPostgres | undefined;
  let url = options.url;
  const sharedEmbedded = !url && options.shareRunningEmbedded && options.dataDir ? runningEmbeddedUrl(options.dataDir) : undefined;
  if (sharedEmbedded) url = sharedEmbedded;
  if (!url) {
    // Each connection is one socket: Roster's pool, MikroORM's (at most 2, for migrations) and spare ones.
    embedded = await startEmbeddedPostgres({ dataDir: options.dataDir, maxConnections: options.poolMax + 4 });
    url = embedded.url;
  }
  let orm: MikroORM | undefined;
  let oneSession = embedded !== undefined || sharedEmbedded !== undefined;
  const pool = createPool(url, options.poolMax, options.statementTimeoutMs, options.onWarning);
  try {
    orm = await MikroORM.init(ormOptions(url, ORM_POOL_MAX, options.statementTimeoutMs, options.onWarning));
    if (!oneSession && options.preparedStatements !== false) {
      // An embedded PostgreSQL reached by URL (pglite-socket) serves one session too.
      const [row] = await orm.em.getConnection().execute<{ version: string }[]>('select version() as version');
      oneSession = /PGlite/i.test(row?.version ?? '');
    }
    if (options.migrate !== false) {
      const migrator = orm.getMigrator();
      // Instances starting together take turns: the first applies, the others find nothing pending.
      if (embedded) await migrator.up();
      else await withAdvisoryLock(url, () => migrator.up());
    }
  } catch (error) {
    await orm?.close(true).catch(() => undefined);
    await pool.end().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  const opened = orm;
  pools.set(opened, pool);
  if (oneSession) oneSessionPools.add(pool);
  let closed = false;
  let allMigrated = false;
  return {
    pool,
    orm: opened,
    url,
    embedded: embedded !== undefined,
    preparedStatements: !oneSession && options.preparedStatements !== false,
    ping(timeoutMs = 2000) {
      return answersWithin(
        pool.query('select 1 as ok').then(() => true),
        timeoutMs,
      );
    },
    poolStats() {
      return { used: pool.totalCount - pool.idleCount, free: pool.idleCount, pending: pool.waitingCount };
    },
    async migrated(timeoutMs = 2000) {
      if (!allMigrated) allMigrated = await answersWithin(appliedEveryMigration(pool), timeoutMs);
      return allMigrated;
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await Promise.all([opened.close(true), pool.end()]);
      } finally {
        await embedded?.stop();
      }
    },
  };
}

/** What `check` answers, or false when it fails or takes longer than `timeoutMs`. */
async function answersWithin(check: Promise<boolean>, timeoutMs: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  try {
    return await Promise.race([check.catch(() => false), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Whether MikroORM's migrations table (in schema public, where the migrator keeps it)
 * names every migration of migrations/index.ts. One read on Roster's pool: unlike the
 * migrator's own check, it never creates the table.
 */
async function appliedEveryMigration(pool: Pool): Promise<boolean> {
  const { rows } = await pool.query<{ name: string }>(`select name from public.${MIGRATIONS_TABLE}`);
  const applied = new Set(rows.map((row) => row.name));
  return migrations.every((migration) => applied.has(migration.name));
}

const pools = new WeakMap<MikroORM, Pool>();
const oneSessionPools = new WeakSet<Pool>();

/**
 * Whether this pool's database serves every connection from one session (the embedded
 * PostgreSQL): statements with values must then run inside a transaction (Sql.onPool).
 */
export function servesOneSession(pool: Pool): boolean {
  return oneSessionPools.has(pool);
}

/** The pg pool opened with this MikroORM (by openDatabase): code handed `Database.orm` reaches Roster's pool. */
export function poolOf(orm: MikroORM): Pool {
  const pool = pools.get(orm);
  if (pool === undefined) throw new Error('this MikroORM was not opened by openDatabase: it has no Roster pool');
  return pool;
}

const MIGRATION_LOCK = 7_205_361_001; // pg_advisory_lock key of Roster's migrations

/** Runs `work` while holding a session-level advisory lock on a connection of its own. */
async function withAdvisoryLock<T>(url: string, work: () => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  // Idle while the migrations run on MikroORM's pool: if it is lost meanwhile, pg emits 'error', which unhandled
  // would end the process; the unlock then fails instead, and so does the start (the migrations are recorded).
  client.on('error', () => undefined);
  await client.connect();
  try {
    await client.query('select pg_advisory_lock($1)', [MIGRATION_LOCK]);
    try {
      return await work();
    } finally {
      await client.query('select pg_advisory_unlock($1)', [MIGRATION_LOCK]);
    }
  } finally {
    await client.end();
  }
}

/** Applies pending migrations and returns the names applied. */
export async function migrate(database: Database): Promise<string[]> {
  const up = () => database.orm.getMigrator().up();
  const applied = database.embedded ? await up() : await withAdvisoryLock(database.url, up);
  return applied.map((m) => m.name);
}
