import fs from 'node:fs';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * The embedded PostgreSQL: PGlite (PostgreSQL compiled to WebAssembly) served over a
 * loopback socket by pglite-socket, so the same pg driver, SQL and migrations run on
 * it as on a real server. `dataDir` undefined keeps the data in memory (tests).
 */
export interface EmbeddedPostgres {
  url: string;
  stop(): Promise<void>;
}

export class DataDirLockedError extends Error {
  constructor(dataDir: string, pid: number) {
    super(
      `the embedded database in ${dataDir} is in use by another Roster process (pid ${pid}); ` +
        'stop it first, or set ROSTER_DATA_DIR to another folder, or DATABASE_URL to a PostgreSQL server',
    );
    this.name = 'DataDirLockedError';
  }
}

export async function startEmbeddedPostgres(options: { dataDir?: string; maxConnections: number }): Promise<EmbeddedPostgres> {
  const lock = options.dataDir ? lockDataDir(options.dataDir) : undefined;
  const release = () => lock?.release();
  try {
    const db = options.dataDir ? await PGlite.create(path.join(options.dataDir, 'pglite')) : await PGlite.create();
    const server = new PGLiteSocketServer({ db, host: '127.0.0.1', port: 0, maxConnections: options.maxConnections });
    await server.start();
    const url = `postgresql://postgres:postgres@${server.getServerConn()}/postgres`;
    lock?.advertise(url);
    let stopped = false;
    return {
      url,
      async stop() {
        if (stopped) return;
        stopped = true;
        try {
          await server.stop();
          await db.close();
        } finally {
          release();
        }
      },
    };
  } catch (error) {
    release();
    throw error;
  }
}

interface LockContent {
  pid: number;
  /** Where the holder serves the embedded database, for the CLI to connect through. */
  url?: string;
}

function readLock(lockFile: string): LockContent | undefined {
  try {
    const content = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as LockContent;
    return Number.isInteger(content.pid) ? content : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Two processes on one PGlite data directory silently lose writes, so a start takes
 * an exclusive lock file holding its pid (and, once serving, the loopback URL of its
 * database). A lock left by a process that no longer runs (a crash, a kill -9) is
 * taken over.
 */
export function lockDataDir(dataDir: string): { release(): void; advertise(url: string): void } {
  fs.mkdirSync(dataDir, { recursive: true });
  const lockFile = path.join(dataDir, 'roster.lock');
  const mine = () => readLock(lockFile)?.pid === process.pid;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockFile, JSON.stringify({ pid: process.pid }), { flag: 'wx' });
      let released = false;
      return {
        advertise(url: string) {
          if (mine()) fs.writeFileSync(lockFile, JSON.stringify({ pid: process.pid, url }));
        },
        release() {
          if (released) return;
          released = true;
          if (mine()) fs.rmSync(lockFile, { force: true });
        },
      };
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      const holder = readLock(lockFile);
      if (holder && holder.pid !== process.pid && isRunning(holder.pid)) {
        throw new DataDirLockedError(dataDir, holder.pid);
      }
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`could not lock ${dataDir}`);
}

/**
 * The URL of the embedded database a running Roster serves from this data directory,
 * if one does: the CLI connects through it instead of opening the files a second time.
 */
export function runningEmbeddedUrl(dataDir: string): string | undefined {
  const holder = readLock(path.join(dataDir, 'roster.lock'));
  if (!holder?.url || holder.pid === process.pid || !isRunning(holder.pid)) return undefined;
  return holder.url;
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
