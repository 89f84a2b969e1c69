import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import fs from 'node:fs';
import net, { type Socket } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { PGlite } from '@electric-sql/pglite';
import { PGLiteSocketServer } from '@electric-sql/pglite-socket';

/**
 * The embedded PostgreSQL: PGlite (PostgreSQL compiled to WebAssembly) served by
 * pglite-socket, so the same pg driver, SQL and migrations run on it as on a real
 * server. `dataDir` undefined keeps the data in memory (tests).
 *
 * Only the process that started it and the owner of its data directory can reach it:
 * - It listens on a Unix socket in a fresh directory of mode 0700 (never on TCP), so
 *   other users of the machine cannot even connect.
 * - Every connection must give a password drawn at random at each start (PGlite
 *   itself accepts any); it is in the URL, which only the lock file (0600, in the
 *   0700 data directory) holds for the CLI.
 * - The data directory is 0700, and its files (PGlite gives them explicit modes such
 *   as 0666 whatever the umask) are made 0600 at start and at stop.
 */
export interface EmbeddedPostgres {
  /** postgresql://postgres:<password>@<socket directory, URL-encoded>:5432/postgres */
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

/** Only names the socket file (`.s.PGSQL.5432`), as libpq and pg expect it. */
const SOCKET_PORT = 5432;
/** sun_path is 108 bytes on Linux and 104 on macOS, the terminating NUL included. */
const SOCKET_PATH_MAX = 103;
const SOCKET_DIR_PREFIX = 'roster-pg-';
const LOCK_FILE = 'roster.lock';
const PGLITE_DIR = 'pglite';

export async function startEmbeddedPostgres(options: { dataDir?: string; maxConnections: number }): Promise<EmbeddedPostgres> {
  const lock = options.dataDir ? lockDataDir(options.dataDir) : undefined;
  let db: PGlite | undefined;
  let server: PGLiteSocketServer | undefined;
  let socketDir: string | undefined;
  let dropUnauthenticated: () => void = () => undefined;
  const restrict = () => {
    if (options.dataDir) restrictToOwner(path.join(options.dataDir, PGLITE_DIR));
  };
  const removeSocketDir = () => {
    if (socketDir) fs.rmSync(socketDir, { recursive: true, force: true });
  };
  const release = async () => {
    try {
      dropUnauthenticated();
      await server?.stop();
      await db?.close();
      restrict();
    } finally {
      process.off('exit', removeSocketDir);
      removeSocketDir();
      lock?.release();
    }
  };
  try {
    // Files an earlier version left readable or writable by others are fixed before PGlite opens them.
    restrict();
    db = options.dataDir ? await PGlite.create(path.join(options.dataDir, PGLITE_DIR)) : await PGlite.create();
    restrict();
    socketDir = makeSocketDir();
    // A process that exits without stopping the database (process.exit) leaves no directory behind.
    process.on('exit', removeSocketDir);
    const socketFile = path.join(socketDir, `.s.PGSQL.${SOCKET_PORT}`);
    const password = randomBytes(32).toString('base64url');
    // pglite-socket serves PGlite on an inner socket; clients reach it only through the
    // password check that listens on the socket they are given.
    const innerFile = path.join(socketDir, 'pglite.sock');
    server = new PGLiteSocketServer({ db, path: innerFile, maxConnections: options.maxConnections });
    await server.start();
    fs.chmodSync(innerFile, 0o600);
    const gate = await passwordGate(socketFile, innerFile, password);
    dropUnauthenticated = gate.close;
    fs.chmodSync(socketFile, 0o600);
    const url = `postgresql://postgres:${password}@${encodeURIComponent(socketDir)}:${SOCKET_PORT}/postgres`;
    lock?.advertise(url, socketDir);
    let stopped = false;
    return {
      url,
      async stop() {
        if (stopped) return;
        stopped = true;
        await release();
      },
    };
  } catch (error) {
    await release().catch(() => undefined);
    throw error;
  }
}

/** A fresh directory of mode 0700 for the socket, short enough for a socket path. */
function makeSocketDir(): string {
  for (const base of [os.tmpdir(), '/tmp']) {
    const longest = path.join(path.resolve(base), `${SOCKET_DIR_PREFIX}XXXXXX`, `.s.PGSQL.${SOCKET_PORT}`);
    if (Buffer.byteLength(longest) > SOCKET_PATH_MAX) continue;
    const dir = fs.mkdtempSync(path.join(path.resolve(base), SOCKET_DIR_PREFIX));
    fs.chmodSync(dir, 0o700);
    return dir;
  }
  throw new Error(`the temporary directory ${os.tmpdir()} is too long a path for the embedded database's socket; set TMPDIR to a shorter one`);
}

/** Directories 0700 and files 0600 under `root` (symbolic links are left alone). */
export function restrictToOwner(root: string): void {
  const visit = (file: string) => {
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(file);
      if (stat.isSymbolicLink()) return;
      const mode = stat.isDirectory() ? 0o700 : 0o600;
      if ((stat.mode & 0o7777) !== mode) fs.chmodSync(file, mode);
      if (stat.isDirectory()) for (const entry of fs.readdirSync(file)) visit(path.join(file, entry));
    } catch (error) {
      // A file PGlite removed meanwhile needs no restricting.
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  };
  visit(root);
}

// --- Password authentication in front of pglite-socket ----------------------------

const PROTOCOL_3 = 196_608;
const SSL_REQUEST = 80_877_103;
const GSSENC_REQUEST = 80_877_104;
const AUTHENTICATION_TIMEOUT_MS = 10_000;
/** AuthenticationCleartextPassword: over a 0700 Unix socket nobody else can listen on or read. */
const ASK_PASSWORD = Buffer.from([0x52, 0, 0, 0, 8, 0, 0, 0, 3]);

/**
 * The socket clients connect to. Every connection authenticates with `password`
 * first: its startup message is held back, the password asked for and checked, and
 * only then is the connection joined to pglite-socket's inner socket (startup
 * message first), whose PGlite answers as on any connection. A wrong or missing
 * password gets FATAL 28P01. Only Node's public `net` API is used: pglite-socket has
 * no authentication hook. `close` ends the gate and every connection through it.
 */
async function passwordGate(socketFile: string, innerFile: string, password: string): Promise<{ close(): void }> {
  const expected = digest(Buffer.from(password));
  const open = new Set<Socket>();
  const gate = net.createServer((client) => {
    open.add(client);
    client.on('close', () => open.delete(client));
    void authenticate(client, expected).then((startup) => {
      if (!startup || client.destroyed) return;
      const inner = net.connect(innerFile);
      open.add(inner);
      inner.on('close', () => {
        open.delete(inner);
        client.destroy();
      });
      inner.on('error', () => client.destroy());
      client.on('close', () => inner.destroy());
      inner.write(startup);
      client.pipe(inner);
      inner.pipe(client);
    });
  });
  await new Promise<void>((resolve, reject) => {
    gate.once('error', reject);
    gate.listen(socketFile, () => {
      gate.off('error', reject);
      resolve();
    });
  });
  return {
    close() {
      gate.close();
      for (const socket of open) socket.destroy();
    },
  };
}

const digest = (value: Buffer) => createHash('sha256').update(value).digest();

/** Resolves with the startup message to replay once the password is right; undefined when refused. */
function authenticate(socket: Socket, expected: Buffer): Promise<Buffer | undefined> {
  // Errors after a refusal (a reset) must not become an uncaught exception.
  socket.on('error', () => undefined);
  return new Promise((resolve) => {
    let buffer = Buffer.alloc(0);
    let startup: Buffer | undefined;
    let user = '';
    let settled = false;
    const settle = (result: Buffer | undefined) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.off('data', onData);
      socket.off('close', onClose);
      resolve(result);
    };
    const refuse = (code: string, message: string) => {
      socket.end(errorResponse(code, message));
      // A client that keeps its side open must not hold the connection for ever.
      setTimeout(() => socket.destroy(), 1_000).unref();
      settle(undefined);
    };
    const onClose = () => settle(undefined);
    const timer = setTimeout(() => refuse('08P01', 'authentication timed out'), AUTHENTICATION_TIMEOUT_MS).unref();
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (!startup) {
          if (buffer.length < 8) return;
          const length = buffer.readInt32BE(0);
          if (length < 8 || length > 10_000) return refuse('08P01', 'invalid startup packet');
          if (buffer.length < length) return;
          const code = buffer.readInt32BE(4);
          const packet = Buffer.from(buffer.subarray(0, length));
          buffer = buffer.subarray(length);
          if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
            socket.write('N');
            continue;
          }
          if (code !== PROTOCOL_3) return refuse('08P01', 'unsupported startup request');
          startup = packet;
          user = startupParameter(packet, 'user') ?? '';
          socket.write(ASK_PASSWORD);
          continue;
        }
        if (buffer.length < 5) return;
        const length = buffer.readInt32BE(1);
        if (buffer[0] !== 0x70 || length < 5 || length > 1_024) return refuse('28P01', `password authentication failed for user "${user}"`);
        if (buffer.length < 1 + length) return;
        const given = buffer.subarray(5, length); // without the terminating NUL
        if (buffer[length] !== 0 || !timingSafeEqual(digest(given), expected)) return refuse('28P01', `password authentication failed for user "${user}"`);
        return settle(Buffer.concat([startup, buffer.subarray(1 + length)]));
      }
    };
    socket.on('data', onData);
    socket.on('close', onClose);
  });
}

function startupParameter(packet: Buffer, name: string): string | undefined {
  const fields = packet.subarray(8).toString('utf8').split('\0');
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}

function errorResponse(code: string, message: string): Buffer {
  const field = (type: string, value: string) => Buffer.from(`${type}${value}\0`, 'utf8');
  const body = Buffer.concat([field('S', 'FATAL'), field('V', 'FATAL'), field('C', code), field('M', message), Buffer.from([0])]);
  const head = Buffer.alloc(5);
  head.write('E', 0, 'latin1');
  head.writeInt32BE(4 + body.length, 1);
  return Buffer.concat([head, body]);
}

// --- The data-directory lock -------------------------------------------------------

interface LockContent {
  pid: number;
  /** Where the holder serves the embedded database, password included, for the CLI to connect through. */
  url?: string;
  /** The directory of the holder's socket (removed when a dead holder's lock is taken over). */
  socketDir?: string;
}

function readLock(lockFile: string): LockContent | undefined {
  try {
    const content = JSON.parse(fs.readFileSync(lockFile, 'utf8')) as LockContent;
    if (!Number.isInteger(content.pid)) return undefined;
    // Fields of another type are as good as absent (path functions throw on them).
    const text = (value: unknown) => (typeof value === 'string' ? value : undefined);
    return { pid: content.pid, url: text(content.url), socketDir: text(content.socketDir) };
  } catch {
    return undefined;
  }
}

/** Writes the lock file owner-only (0600), whatever the umask and whatever mode it had. */
function writeLock(lockFile: string, content: LockContent, flag: 'wx' | 'w'): void {
  const fd = fs.openSync(lockFile, flag, 0o600);
  try {
    fs.fchmodSync(fd, 0o600);
    fs.ftruncateSync(fd, 0);
    fs.writeSync(fd, JSON.stringify(content));
  } finally {
    fs.closeSync(fd);
  }
}

/** Removes a socket directory a dead holder left in the temporary directory, if it is one of ours. */
function removeStaleSocketDir(dir: string | undefined): void {
  if (!dir || !path.isAbsolute(dir) || !path.basename(dir).startsWith(SOCKET_DIR_PREFIX)) return;
  try {
    const stat = fs.lstatSync(dir);
    if (stat.isDirectory() && stat.uid === process.getuid?.()) fs.rmSync(dir, { recursive: true, force: true });
  } catch {
    // already gone
  }
}

/**
 * Two processes on one PGlite data directory silently lose writes, so a start takes
 * an exclusive lock file holding its pid (and, once serving, the URL of its
 * database). A lock left by a process that no longer runs (a crash, a kill -9) is
 * taken over. The data directory is made 0700 and the lock file 0600: the URL holds
 * the database's password.
 */
export function lockDataDir(dataDir: string): { release(): void; advertise(url: string, socketDir: string): void } {
  fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  fs.chmodSync(dataDir, 0o700);
  const lockFile = path.join(dataDir, LOCK_FILE);
  const mine = () => readLock(lockFile)?.pid === process.pid;
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      writeLock(lockFile, { pid: process.pid }, 'wx');
      let released = false;
      return {
        advertise(url: string, socketDir: string) {
          if (mine()) writeLock(lockFile, { pid: process.pid, url, socketDir }, 'w');
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
      removeStaleSocketDir(holder?.socketDir);
      fs.rmSync(lockFile, { force: true });
    }
  }
  throw new Error(`could not lock ${dataDir}`);
}

/**
 * The URL of the embedded database a running Roster serves from this data directory,
 * if one does: the CLI connects through it instead of opening the files a second time.
 * Only a socket directory owned by the lock file's owner and closed to everyone else
 * is trusted with the password.
 */
export function runningEmbeddedUrl(dataDir: string): string | undefined {
  const lockFile = path.join(dataDir, LOCK_FILE);
  const holder = readLock(lockFile);
  if (!holder?.url || !holder.socketDir || holder.pid === process.pid || !isRunning(holder.pid)) return undefined;
  try {
    const owner = fs.statSync(lockFile).uid;
    const socketDir = fs.lstatSync(holder.socketDir);
    if (!socketDir.isDirectory() || socketDir.uid !== owner || (socketDir.mode & 0o077) !== 0) return undefined;
  } catch {
    return undefined;
  }
  return holder.url;
}

function isRunning(pid: number): boolean {
  // 0 and negative numbers name process groups (kill(0) and kill(-1) succeed), not a process.
  if (pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
