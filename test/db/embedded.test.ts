import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Client, type ClientConfig } from 'pg';
import { openDatabase } from '../../src/orm/database';
import { DataDirLockedError, lockDataDir, runningEmbeddedUrl } from '../../src/orm/embedded';

/** Whatever under `root` is not a 0700 directory or a 0600 file, with its mode. */
function notOwnerOnly(root: string): string[] {
  const wrong: string[] = [];
  const visit = (file: string) => {
    const stat = fs.lstatSync(file);
    const mode = stat.mode & 0o7777;
    if (mode !== (stat.isDirectory() ? 0o700 : 0o600)) wrong.push(`${path.relative(root, file) || '.'} ${mode.toString(8)}`);
    if (stat.isDirectory()) for (const entry of fs.readdirSync(file)) visit(path.join(file, entry));
  };
  visit(root);
  return wrong;
}

/** Inodes of the TCP sockets this process listens on (Linux). */
function tcpListeners(): Set<string> {
  const mine = new Set<string>();
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    const link = (() => {
      try {
        return fs.readlinkSync(`/proc/self/fd/${fd}`);
      } catch {
        return '';
      }
    })();
    const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
    if (inode) mine.add(inode);
  }
  const listening = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    if (!fs.existsSync(table)) continue;
    for (const line of fs.readFileSync(table, 'utf8').split('\n').slice(1)) {
      const columns = line.trim().split(/\s+/);
      // st 0A is LISTEN; column 9 is the inode.
      if (columns[3] === '0A' && mine.has(columns[9])) listening.add(columns[9]);
    }
  }
  return listening;
}

/** How pg would connect with the URL, and with what password. */
function connection(url: string, password: string | undefined): ClientConfig {
  const parsed = new URL(url);
  return {
    host: decodeURIComponent(parsed.hostname),
    port: Number(parsed.port),
    user: decodeURIComponent(parsed.username),
    password,
    database: parsed.pathname.slice(1),
    connectionTimeoutMillis: 5_000,
  };
}

async function tryConnect(config: ClientConfig): Promise<string> {
  const client = new Client(config);
  try {
    await client.connect();
    const { rows } = await client.query<{ ok: number }>('select 1 as ok');
    return `connected ${rows[0].ok}`;
  } catch (error) {
    return (error as { code?: string }).code ?? (error as Error).message;
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** The embedded PostgreSQL on a data directory of its own, whatever DATABASE_URL says. */
describe('embedded PostgreSQL', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-embedded-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('keeps its data across a restart', async () => {
    const first = await openDatabase({ dataDir, poolMax: 2 });
    await first.orm.em.getConnection().execute(`insert into organizations (slug, name) values ('kept', 'Kept')`);
    await first.close();

    const second = await openDatabase({ dataDir, poolMax: 2 });
    try {
      const rows = await second.orm.em.getConnection().execute<{ name: string }[]>(`select name from organizations where slug = 'kept'`);
      expect(rows).toEqual([{ name: 'Kept' }]);
    } finally {
      await second.close();
    }
  }, 120_000);

  it('refuses a second opener of a data directory in use, and lets the CLI connect through the first', async () => {
    const first = await openDatabase({ dataDir, poolMax: 2 });
    try {
      // Another process holds the lock: simulate it with this test runner's parent pid.
      const lockFile = path.join(dataDir, 'roster.lock');
      const held = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
      expect(held.pid).toBe(process.pid);
      expect(held.url).toBe(first.url);
      fs.writeFileSync(lockFile, JSON.stringify({ ...held, pid: process.ppid }));
      await expect(openDatabase({ dataDir, poolMax: 2 })).rejects.toBeInstanceOf(DataDirLockedError);
      expect(runningEmbeddedUrl(dataDir)).toBe(first.url);
      const shared = await openDatabase({ dataDir, poolMax: 2, shareRunningEmbedded: true });
      try {
        expect(shared.embedded).toBe(false);
        expect(await shared.ping()).toBe(true);
      } finally {
        await shared.close();
      }
      // A socket directory others could enter is not trusted with the password.
      fs.chmodSync(held.socketDir, 0o755);
      expect(runningEmbeddedUrl(dataDir)).toBeUndefined();
      fs.chmodSync(held.socketDir, 0o700);
    } finally {
      await first.close();
    }
  }, 120_000);

  describe('is reachable only by its owner', () => {
    let umask: number;
    beforeEach(() => {
      umask = process.umask(0); // the most permissive: nothing may depend on it
    });
    afterEach(() => process.umask(umask));

    it('keeps the data directory 0700 and its files 0600, the lock file included, whatever the umask', async () => {
      const dir = path.join(dataDir, 'data');
      fs.mkdirSync(dir, { mode: 0o777 });
      const first = await openDatabase({ dataDir: dir, poolMax: 2 });
      try {
        expect(fs.statSync(path.join(dir, 'roster.lock')).mode & 0o777).toBe(0o600);
        expect(notOwnerOnly(dir)).toEqual([]);
        const connection = first.orm.em.getConnection();
        await connection.execute(`create table grown (id serial primary key, note text)`);
        await connection.execute(`insert into grown (note) select repeat('x', 200) from generate_series(1, 20000)`);
        await connection.execute(`create index on grown (note)`);
        await connection.execute(`insert into organizations (slug, name) values ('modes', 'Modes')`);
        expect(notOwnerOnly(dir)).toEqual([]);
      } finally {
        await first.close();
      }
      expect(notOwnerOnly(dir)).toEqual([]);

      // A directory an earlier version left open to everyone is closed again at the next start.
      const open = (file: string) => {
        const stat = fs.lstatSync(file);
        fs.chmodSync(file, stat.isDirectory() ? 0o777 : 0o666);
        if (stat.isDirectory()) for (const entry of fs.readdirSync(file)) open(path.join(file, entry));
      };
      open(dir);
      const second = await openDatabase({ dataDir: dir, poolMax: 2 });
      try {
        expect(notOwnerOnly(dir)).toEqual([]);
      } finally {
        await second.close();
      }
      expect(notOwnerOnly(dir)).toEqual([]);
    }, 180_000);

    it('serves no TCP port, and refuses a connection without its password', async () => {
      const listenersBefore = tcpListeners();
      const database = await openDatabase({ dataDir, poolMax: 2 });
      try {
        // The advertised URL is a Unix socket in a directory only the owner may enter.
        const held = JSON.parse(fs.readFileSync(path.join(dataDir, 'roster.lock'), 'utf8'));
        expect(held.url).toBe(database.url);
        const right = connection(database.url, new URL(database.url).password);
        expect(right.host).toMatch(/^\//);
        expect(path.dirname(path.join(right.host!, 'x'))).toBe(held.socketDir);
        expect(fs.statSync(held.socketDir).mode & 0o777).toBe(0o700);
        const socketFile = path.join(held.socketDir, `.s.PGSQL.${right.port}`);
        expect(fs.statSync(socketFile).isSocket()).toBe(true);
        expect(fs.statSync(socketFile).mode & 0o777).toBe(0o600);
        // No TCP listener: nothing for another local user to connect to.
        expect([...tcpListeners()].filter((inode) => !listenersBefore.has(inode))).toEqual([]);

        expect(await tryConnect(right)).toBe('connected 1');
        expect(await tryConnect({ ...right, password: 'postgres' })).toBe('28P01');
        expect(await tryConnect({ ...right, user: 'someone', password: 'wrong' })).toBe('28P01');
        expect(await tryConnect({ ...right, password: '' })).not.toBe('connected 1');
        // The pool still works after the refusals.
        expect(await database.ping()).toBe(true);

        if (process.getuid?.() === 0) {
          // Another user cannot even open the socket.
          const other = spawnSync(
            process.execPath,
            ['-e', `require('net').connect(${JSON.stringify(socketFile)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`],
            { uid: 65534, gid: 65534, cwd: '/', env: {}, encoding: 'utf8', timeout: 30_000 },
          );
          expect(other.stdout.trim()).toBe('EACCES');
        }
      } finally {
        await database.close();
      }
    }, 120_000);

    it('puts the socket of an in-memory database in a 0700 directory, removed at stop', async () => {
      const database = await openDatabase({ poolMax: 2 });
      const socketDir = decodeURIComponent(new URL(database.url).hostname);
      try {
        expect(fs.statSync(socketDir).mode & 0o777).toBe(0o700);
        expect(await tryConnect(connection(database.url, 'wrong'))).toBe('28P01');
      } finally {
        await database.close();
      }
      expect(fs.existsSync(socketDir)).toBe(false);
    }, 120_000);
  });

  it('takes over a lock left by a process that no longer runs, and removes its socket directory', () => {
    const socketDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-pg-'));
    fs.writeFileSync(path.join(dataDir, 'roster.lock'), JSON.stringify({ pid: 2 ** 22 + 12345, socketDir }));
    const lock = lockDataDir(dataDir);
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'roster.lock'), 'utf8')).pid).toBe(process.pid);
    expect(fs.existsSync(socketDir)).toBe(false);
    lock.release();
    expect(fs.existsSync(path.join(dataDir, 'roster.lock'))).toBe(false);
  });
});
