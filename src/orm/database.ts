import { MikroORM, type Options } from '@mikro-orm/postgresql';
import { Migrator } from '@mikro-orm/migrations';
import { Client } from 'pg';
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

/** An open database: the ORM, where it runs, and how to close it. */
export interface Database {
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
  /** Whether every migration has been applied. */
  migrated(): Promise<boolean>;
  /** Connections of the pool in use, idle, and requests waiting for one. */
  poolStats(): { used: number; free: number; pending: number };
  close(): Promise<void>;
}

export function ormOptions(
  url: string,
  poolMax: number,
  statementTimeoutMs = 15_000,
  onWarning: (message: string) => void = () => undefined,
): Options {
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
    // Each pooled connection is one socket; a few spare for migrations and pings.
    embedded = await startEmbeddedPostgres({ dataDir: options.dataDir, maxConnections: options.poolMax + 4 });
    url = embedded.url;
  }
  let orm: MikroORM | undefined;
  let oneSession = embedded !== undefined || sharedEmbedded !== undefined;
  try {
    orm = await MikroORM.init(ormOptions(url, options.poolMax, options.statementTimeoutMs, options.onWarning));
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
    await embedded?.stop().catch(() => undefined);
    throw error;
  }
  const opened = orm;
  let closed = false;
  return {
    orm: opened,
    url,
    embedded: embedded !== undefined,
    preparedStatements: !oneSession && options.preparedStatements !== false,
    async ping(timeoutMs = 2000) {
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<boolean>((resolve) => {
        timer = setTimeout(() => resolve(false), timeoutMs);
      });
      const query = opened.em
        .getConnection()
        .execute('select 1 as ok')
        .then(() => true)
        .catch(() => false);
      try {
        return await Promise.race([query, timeout]);
      } finally {
        clearTimeout(timer);
      }
    },
    poolStats() {
      const pool = (opened.em.getConnection().getKnex().client as { pool?: { numUsed(): number; numFree(): number; numPendingAcquires(): number } }).pool;
      return pool ? { used: pool.numUsed(), free: pool.numFree(), pending: pool.numPendingAcquires() } : { used: 0, free: 0, pending: 0 };
    },
    async migrated() {
      try {
        return (await opened.getMigrator().getPendingMigrations()).length === 0;
      } catch {
        return false;
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      try {
        await opened.close(true);
      } finally {
        await embedded?.stop();
      }
    },
  };
}

const MIGRATION_LOCK = 7_205_361_001; // pg_advisory_lock key of Roster's migrations

/** Runs `work` while holding a session-level advisory lock on a connection of its own. */
async function withAdvisoryLock<T>(url: string, work: () => Promise<T>): Promise<T> {
  const client = new Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
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
