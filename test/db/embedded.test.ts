import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { Client, type ClientConfig } from 'pg';
import { openDatabase } from '../../src/orm/database';
import { DataDirLockedError, lockDataDir, runningEmbeddedUrl, startEmbeddedPostgres, type EmbeddedPostgres } from '../../src/orm/embedded';

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
            [
              '-e',
              `require('net').connect(${JSON.stringify(socketFile)}).on('connect', () => { console.log('connected'); process.exit(0); }).on('error', (e) => { console.log(e.code); process.exit(0); })`,
            ],
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

// --- Fuzzing the password gate and the lock file ------------------------------------

const PROTOCOL_3 = 196_608;
const SSL_REQUEST = 80_877_103;
const GSSENC_REQUEST = 80_877_104;
/** The gate's limits: a startup packet of 8 to 10 000 bytes, a PasswordMessage of 5 to 1 024 (type byte excluded). */
const STARTUP_MAX = 10_000;
const PASSWORD_MESSAGE_MAX = 1_024;
/** A run that neither sees the gate close nor closes by itself within this is a failure, not a slow run. */
const RUN_CAP_MS = 3_000;

const int32 = (value: number) => {
  const buffer = Buffer.alloc(4);
  buffer.writeInt32BE(value);
  return buffer;
};
const request = (code: number) => Buffer.concat([int32(8), int32(code)]);
function startupMessage(parameters: [string, string][]): Buffer {
  const body = Buffer.concat([int32(PROTOCOL_3), ...parameters.map(([name, value]) => Buffer.from(`${name}\0${value}\0`, 'utf8')), Buffer.from([0])]);
  return Buffer.concat([int32(4 + body.length), body]);
}
/** A PasswordMessage: 'p', its length, the password and its terminating NUL (or `terminator`). */
function passwordMessage(password: Buffer, terminator = 0): Buffer {
  return Buffer.concat([Buffer.from('p'), int32(4 + password.length + 1), password, Buffer.from([terminator])]);
}
function typedMessage(type: string, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from(type, 'latin1'), int32(4 + body.length), body]);
}
/** Cuts `bytes` at the given positions (taken modulo its length). */
function cut(bytes: Buffer, positions: number[]): Buffer[] {
  if (bytes.length < 2) return [bytes];
  const at = [...new Set(positions.map((p) => 1 + (p % (bytes.length - 1))))].sort((a, b) => a - b);
  const chunks: Buffer[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    chunks.push(bytes.subarray(from, to));
    from = to;
  }
  return chunks;
}

interface Reply {
  /** The 'N' bytes answering SSLRequest and GSSENCRequest, before any message. */
  ns: number;
  messages: { type: string; body: Buffer }[];
  /** Bytes after the last complete message. */
  trailing: number;
}
function parseReply(reply: Buffer): Reply {
  let i = 0;
  let ns = 0;
  while (i < reply.length && reply[i] === 0x4e) {
    ns++;
    i++;
  }
  const messages: Reply['messages'] = [];
  while (i + 5 <= reply.length) {
    const length = reply.readInt32BE(i + 1);
    if (length < 4 || i + 1 + length > reply.length) break;
    messages.push({ type: String.fromCharCode(reply[i]), body: reply.subarray(i + 5, i + 1 + length) });
    i += 1 + length;
  }
  return { ns, messages, trailing: reply.length - i };
}
const errorFields = (body: Buffer) =>
  Object.fromEntries(
    body
      .toString('utf8')
      .split('\0')
      .filter(Boolean)
      .map((field) => [field[0], field.slice(1)]),
  );
const isAuthentication = (message: { type: string; body: Buffer }, code: number) =>
  message.type === 'R' && message.body.length >= 4 && message.body.readInt32BE(0) === code;
const describeReply = (reply: Reply) =>
  `${'N'.repeat(reply.ns)}${reply.messages.map((m) => (m.type === 'R' && m.body.length >= 4 ? `R${m.body.readInt32BE(0)}` : m.type)).join(' ')}` +
  (reply.trailing ? ` +${reply.trailing} bytes` : '');

/**
 * What the protocol says the gate must answer to `input` sent by a client that then
 * ends its side: 'N' per SSLRequest/GSSENCRequest, AuthenticationCleartextPassword
 * once a startup message is complete, and FATAL `error` as soon as the input is
 * refused (an invalid startup packet, anything but a PasswordMessage after it, a
 * wrong password); no error while the input is merely incomplete.
 */
function expectedAnswer(input: Buffer, password: Buffer): { ns: number; asked: boolean; error?: string; accepted?: true } {
  let i = 0;
  let ns = 0;
  for (;;) {
    if (input.length - i < 8) return { ns, asked: false };
    const length = input.readInt32BE(i);
    if (length < 8 || length > STARTUP_MAX) return { ns, asked: false, error: '08P01' };
    if (input.length - i < length) return { ns, asked: false };
    const code = input.readInt32BE(i + 4);
    i += length;
    if (code === SSL_REQUEST || code === GSSENC_REQUEST) {
      ns++;
      continue;
    }
    if (code !== PROTOCOL_3) return { ns, asked: false, error: '08P01' };
    break;
  }
  if (input.length - i < 5) return { ns, asked: true };
  const length = input.readInt32BE(i + 1);
  if (input[i] !== 0x70 || length < 5 || length > PASSWORD_MESSAGE_MAX) return { ns, asked: true, error: '28P01' };
  if (input.length - i < 1 + length) return { ns, asked: true };
  // A String: the password, then a NUL ending the message.
  const body = input.subarray(i + 5, i + 1 + length);
  if (body[body.length - 1] === 0 && body.subarray(0, -1).equals(password)) return { ns, asked: true, accepted: true };
  return { ns, asked: true, error: '28P01' };
}

/** Sends `chunks` (a pause between them), ends the client side, and collects what comes back until the connection closes. */
function exchange(socketFile: string, chunks: Buffer[]): Promise<{ reply: Buffer; closed: boolean }> {
  return new Promise((resolve) => {
    const received: Buffer[] = [];
    const socket = net.connect(socketFile);
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(cap);
      socket.destroy();
      resolve({ reply: Buffer.concat(received), closed });
    };
    const cap = setTimeout(() => finish(false), RUN_CAP_MS);
    socket.on('data', (data) => received.push(data));
    socket.on('error', () => undefined); // a reset after a refusal: what was received still counts
    socket.on('close', () => finish(true));
    socket.on('connect', async () => {
      for (const [index, chunk] of chunks.entries()) {
        if (socket.destroyed || socket.writableEnded) return;
        if (index > 0) await new Promise((resolve) => setTimeout(resolve, 1));
        socket.write(chunk);
      }
      if (!socket.destroyed) socket.end();
    });
  });
}

/** A raw protocol conversation: write bytes, wait until what was received satisfies a test. */
function conversation(socketFile: string) {
  const socket = net.connect(socketFile);
  let received = Buffer.alloc(0);
  let closed = false;
  const listeners = new Set<() => void>();
  socket.on('data', (data) => {
    received = Buffer.concat([received, data]);
    for (const listener of [...listeners]) listener();
  });
  socket.on('close', () => {
    closed = true;
    for (const listener of [...listeners]) listener();
  });
  socket.on('error', () => undefined);
  const connected = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  const waitFor = (what: string, test: (reply: Reply) => boolean) =>
    new Promise<Reply>((resolve, reject) => {
      const done = () => {
        clearTimeout(timer);
        listeners.delete(check);
      };
      const check = () => {
        const reply = parseReply(received);
        if (test(reply)) {
          done();
          resolve(reply);
        } else if (closed) {
          done();
          reject(new Error(`closed before ${what}; received ${describeReply(reply)}`));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no ${what} within ${RUN_CAP_MS} ms; received ${describeReply(parseReply(received))}`));
      }, RUN_CAP_MS);
      listeners.add(check);
      check();
    });
  return { socket, connected, waitFor };
}

/** The states of the server-side connections accepted on `socketFile` (Linux: /proc/net/unix lists them with its path). */
function acceptedConnections(socketFile: string): string[] {
  return fs
    .readFileSync('/proc/net/unix', 'utf8')
    .split('\n')
    .slice(1)
    .map((line) => line.trim().split(/\s+/))
    .filter((columns) => columns[7] === socketFile && columns[5] !== '01') // 01: the listening socket itself
    .map((columns) => columns[5]);
}
async function eventually<T>(probe: () => T, ok: (value: T) => boolean, deadlineMs = 5_000): Promise<T> {
  const until = Date.now() + deadlineMs;
  for (;;) {
    const value = probe();
    if (ok(value) || Date.now() > until) return value;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('the password gate, fuzzed', () => {
  let database: EmbeddedPostgres;
  let socketFile: string;
  let password: Buffer;
  let url: string;
  beforeAll(async () => {
    database = await startEmbeddedPostgres({ maxConnections: 4 });
    url = database.url;
    const parsed = new URL(url);
    socketFile = path.join(decodeURIComponent(parsed.hostname), `.s.PGSQL.${parsed.port}`);
    password = Buffer.from(decodeURIComponent(parsed.password), 'utf8');
  }, 120_000);
  afterAll(async () => {
    await database?.stop();
  });

  const servesTheRightPassword = async () => {
    const client = new Client({ connectionString: url, connectionTimeoutMillis: 5_000 });
    try {
      await client.connect();
      const { rows } = await client.query<{ ok: number }>('select 1 as ok');
      return rows[0].ok;
    } finally {
      await client.end().catch(() => undefined);
    }
  };

  const bytes = (maxLength: number) => fc.uint8Array({ maxLength }).map((array) => Buffer.from(array));
  const text = fc.string({ unit: 'binary', maxLength: 40 }).map((value) => value.replace(/\0/g, ''));
  const parameters = fc.array(fc.tuple(fc.oneof(fc.constantFrom('user', 'database', 'application_name', 'options'), text), text), { maxLength: 5 });
  /** Passwords that are not the right one: its prefixes and extensions, empty, long, with NULs, random. */
  const wrongPassword = () =>
    fc
      .oneof(
        fc.nat().map((n) => password.subarray(0, n % password.length)),
        bytes(20).map((tail) => Buffer.concat([password, tail.length ? tail : Buffer.from('x')])),
        fc.constant(Buffer.alloc(0)),
        fc.integer({ min: 1, max: 3_000 }).map((n) => Buffer.alloc(n, 'a')),
        fc.nat().map((n) => Buffer.concat([password.subarray(0, n % password.length), Buffer.from([0]), password.subarray(n % password.length)])),
        fc.nat().map((n) => Buffer.concat([password, Buffer.from([0]), Buffer.from(String(n))])),
        fc.nat().map((n) => {
          const changed = Buffer.from(password);
          changed[n % changed.length] ^= 1 + (n % 127);
          return changed;
        }),
        bytes(64),
      )
      .filter((candidate) => !candidate.equals(password));
  const startup = parameters.map(startupMessage);
  const sslOrGss = fc.constantFrom(request(SSL_REQUEST), request(GSSENC_REQUEST));
  /** A startup message whose length field lies: too short, negative, too long, or longer than what follows. */
  const lyingStartup = fc
    .tuple(
      startup,
      fc.oneof(fc.integer({ min: -(2 ** 31), max: 7 }), fc.integer({ min: STARTUP_MAX + 1, max: 2 ** 31 - 1 }), fc.integer({ min: 8, max: STARTUP_MAX })),
    )
    .map(([message, length]) => Buffer.concat([int32(length), message.subarray(4)]));
  /** A PasswordMessage whose length field lies, or of another type. */
  const lyingPassword = fc
    .tuple(
      wrongPassword(),
      fc.oneof(
        fc.integer({ min: -(2 ** 31), max: 4 }),
        fc.integer({ min: PASSWORD_MESSAGE_MAX + 1, max: 2 ** 31 - 1 }),
        fc.integer({ min: 5, max: PASSWORD_MESSAGE_MAX }),
      ),
      fc.integer({ min: 0, max: 255 }),
    )
    .map(([given, length, type]) => Buffer.concat([Buffer.from([type]), int32(length), given, Buffer.from([0])]));

  const hostileInput = fc.oneof(
    bytes(64),
    bytes(12_000),
    fc.tuple(startup, bytes(64)).map((parts) => Buffer.concat(parts)),
    fc.tuple(fc.array(sslOrGss, { minLength: 1, maxLength: 3 }), bytes(64)).map(([requests, junk]) => Buffer.concat([...requests, junk])),
    fc
      .tuple(fc.array(sslOrGss, { maxLength: 2 }), startup, wrongPassword(), bytes(16))
      .map(([requests, message, given, after]) => Buffer.concat([...requests, message, passwordMessage(given), after])),
    // The right password, but not as a String: its terminating NUL replaced.
    fc.tuple(startup, fc.integer({ min: 1, max: 255 })).map(([message, terminator]) => Buffer.concat([message, passwordMessage(password, terminator)])),
    lyingStartup,
    fc.tuple(startup, lyingPassword).map((parts) => Buffer.concat(parts)),
    fc
      .tuple(startup, fc.constantFrom(request(SSL_REQUEST), startupMessage([['user', 'postgres']]), typedMessage('Q', Buffer.from('select 1\0'))))
      .map((parts) => Buffer.concat(parts)),
  );

  it('never lets in a wrong password, answers FATAL or waits, and always lets go of the connection', async () => {
    await fc.assert(
      fc.asyncProperty(
        hostileInput,
        fc.oneof(fc.constant<number[] | 'bytes'>([]), fc.array(fc.nat(), { maxLength: 12 }), fc.constant<'bytes'>('bytes')),
        async (input, split) => {
          const expected = expectedAnswer(input, password);
          expect(expected.accepted).toBeUndefined(); // the generators hold no right password
          const chunks = split === 'bytes' ? (input.length <= 64 ? [...input].map((byte) => Buffer.from([byte])) : [input]) : cut(input, split);
          const { reply, closed } = await exchange(socketFile, chunks);
          const parsed = parseReply(reply);
          const seen = describeReply(parsed);
          // Never past the gate: no AuthenticationOk, no ReadyForQuery, nothing PGlite would say.
          expect(parsed.messages.some((m) => isAuthentication(m, 0))).toBe(false);
          expect(parsed.messages.some((m) => m.type === 'Z')).toBe(false);
          // Exactly what the protocol asks for: N*, then AuthenticationCleartextPassword once a startup is complete, then FATAL once refused.
          expect(seen).toBe(`${'N'.repeat(expected.ns)}${[expected.asked ? 'R3' : '', expected.error ? 'E' : ''].filter(Boolean).join(' ')}`);
          if (expected.error) {
            const error = errorFields(parsed.messages[parsed.messages.length - 1].body);
            expect({ severity: error.S, code: error.C }).toEqual({ severity: 'FATAL', code: expected.error });
          }
          // Refused or merely waiting, the gate lets the connection go once the client ends its side.
          expect(closed).toBe(true);
        },
      ),
      { numRuns: 150 },
    );
    // No connection is left open on the server side.
    expect(
      await eventually(
        () => acceptedConnections(socketFile),
        (open) => open.length === 0,
      ),
    ).toEqual([]);
    // And the database still serves the right password.
    expect(await servesTheRightPassword()).toBe(1);
  }, 300_000);

  it('closes a refused connection even when the client keeps its side open', async () => {
    for (const input of [Buffer.concat([int32(4), int32(0)]), Buffer.concat([startupMessage([['user', 'postgres']]), passwordMessage(Buffer.from('wrong'))])]) {
      const socket = net.connect({ path: socketFile, allowHalfOpen: true });
      socket.on('error', () => undefined);
      try {
        await new Promise<void>((resolve) => socket.once('connect', () => resolve()));
        const received: Buffer[] = [];
        socket.on('data', (data) => received.push(data));
        const ended = new Promise<boolean>((resolve) => {
          const cap = setTimeout(() => resolve(false), RUN_CAP_MS);
          socket.once('end', () => {
            clearTimeout(cap);
            resolve(true);
          });
        });
        socket.write(input);
        // The refusal came, and the gate ended its side.
        expect(await ended).toBe(true);
        expect(parseReply(Buffer.concat(received)).messages.at(-1)?.type).toBe('E');
        expect(
          await eventually(
            () => acceptedConnections(socketFile),
            (open) => open.length === 0,
          ),
        ).toEqual([]);
      } finally {
        socket.destroy();
      }
    }
  }, 60_000);

  it('lets in the right password however the startup and the password are cut, and serves the connection', async () => {
    const name = fc.stringMatching(/^[a-z0-9_]{0,20}$/);
    await fc.assert(
      fc.asyncProperty(
        fc.array(sslOrGss, { maxLength: 2 }),
        fc.option(name, { nil: undefined }),
        fc.oneof(fc.array(fc.nat(), { maxLength: 30 }), fc.constant<'bytes'>('bytes')),
        fc.boolean(),
        async (requests, applicationName, split, pipelined) => {
          const parameters: [string, string][] = [
            ['user', 'postgres'],
            ['database', 'postgres'],
          ];
          if (applicationName !== undefined) parameters.push(['application_name', applicationName]);
          const query = typedMessage('Q', Buffer.from('select 1\0'));
          // A pipelining client sends its first query right after the password, before AuthenticationOk.
          const login = Buffer.concat([...requests, startupMessage(parameters), passwordMessage(password), ...(pipelined ? [query] : [])]);
          const chunks = split === 'bytes' ? [...login].map((byte) => Buffer.from([byte])) : cut(login, split);
          const { socket, connected, waitFor } = conversation(socketFile);
          try {
            await connected;
            for (const [index, chunk] of chunks.entries()) {
              if (index > 0) await new Promise((resolve) => setImmediate(resolve));
              socket.write(chunk);
            }
            const readyAt = (reply: Reply) => reply.messages.findIndex((m) => m.type === 'Z');
            const ready = await waitFor('ReadyForQuery', (reply) => readyAt(reply) >= 0);
            expect(ready.ns).toBe(requests.length);
            // AuthenticationCleartextPassword, AuthenticationOk, then ParameterStatus and BackendKeyData up to ReadyForQuery.
            expect(isAuthentication(ready.messages[0], 3)).toBe(true);
            expect(isAuthentication(ready.messages[1], 0)).toBe(true);
            expect(ready.messages.slice(2, readyAt(ready)).every((m) => m.type === 'S' || m.type === 'K')).toBe(true);
            if (!pipelined) socket.write(query);
            const answered = await waitFor('the answer to select 1', (reply) => reply.messages.filter((m) => m.type === 'Z').length >= 2);
            // ParameterStatus may come along (PGlite reports its settings again); nothing else.
            const answer = answered.messages.slice(readyAt(answered) + 1).filter((m) => m.type !== 'S');
            expect(answer.map((m) => m.type)).toEqual(['T', 'D', 'C', 'Z']);
            const row = answer[1].body;
            expect(row.readInt16BE(0)).toBe(1);
            expect(row.subarray(6, 6 + row.readInt32BE(2)).toString()).toBe('1');
            expect(answered.trailing).toBe(0);
            socket.end(typedMessage('X', Buffer.alloc(0)));
            await new Promise<void>((resolve) => (socket.closed ? resolve() : socket.once('close', () => resolve())));
          } finally {
            socket.destroy();
          }
        },
      ),
      { numRuns: 40 },
    );
    expect(await servesTheRightPassword()).toBe(1);
  }, 300_000);
});

describe('hostile lock files', () => {
  let root: string;
  const uid = process.getuid?.() ?? -1;
  const isRoot = uid === 0;
  /** A pid that ran and no longer runs. */
  let deadPid: number;
  beforeAll(() => {
    root = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-lockfuzz-'));
    deadPid = spawnSync(process.execPath, ['-e', '0']).pid!;
  });
  afterAll(() => fs.rmSync(root, { recursive: true, force: true }));

  /** Live as the kernel sees it, independently of how the code asks. */
  const live = (pid: unknown) => Number.isInteger(pid) && (pid as number) > 0 && fs.existsSync(`/proc/${pid}`);

  const jsonJunk = fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant(null), fc.boolean(), fc.integer(), fc.double(), fc.array(fc.string(), { maxLength: 2 }));
  const pids = () =>
    fc.oneof(
      { arbitrary: fc.constantFrom(process.ppid, 1), weight: 4 }, // live, and not this process
      fc.constantFrom(process.pid, 0, -1, -process.pid),
      fc.constant(deadPid),
      fc.integer({ min: -5, max: 40_000 }),
      fc.integer(),
      fc.double(),
      fc.string({ maxLength: 6 }),
      jsonJunk,
    );

  it('runningEmbeddedUrl never throws, and trusts only a live other process with a socket directory closed to others', () => {
    // Socket directories of every kind, made once; `trusted` says whether the rule accepts them.
    const made: Record<string, { dir: string; trusted: boolean }> = {};
    const make = (kind: string, mode: number, trusted: boolean, owner?: number) => {
      const dir = fs.mkdtempSync(path.join(root, `roster-pg-${kind}-`));
      fs.chmodSync(dir, mode);
      if (owner !== undefined) fs.chownSync(dir, owner, owner);
      made[kind] = { dir, trusted };
    };
    make('private', 0o700, true);
    make('readonly', 0o500, true); // closed to others: the rule only asks that
    make('world', 0o755, false);
    make('group', 0o750, false);
    make('open', 0o777, false);
    make('sticky', 0o1777, false);
    if (isRoot) make('others', 0o700, false, 65534);
    const file = path.join(root, 'roster-pg-file');
    fs.writeFileSync(file, '', { mode: 0o600 });
    const link = path.join(root, 'roster-pg-link');
    fs.symlinkSync(made.private.dir, link);
    const socketDirs = fc.oneof(
      {
        arbitrary: fc.constantFrom(...Object.values(made)).map(({ dir, trusted }) => ({ value: dir as unknown, trusted: trusted as boolean | undefined })),
        weight: 3,
      },
      fc.constantFrom(file, link, path.join(root, 'missing'), 'relative', '', '/', '/etc', '/tmp', os.homedir(), '/proc/self').map((value) => ({
        value: value as unknown,
        trusted: value === link || value === file ? false : undefined, // undefined: decided by the kernel's answer below
      })),
      jsonJunk.map((value) => ({ value, trusted: false as boolean | undefined })),
    );
    const urls = fc.oneof(
      fc.constantFrom('postgresql://postgres:pw@elsewhere.example:5432/postgres', 'postgresql://postgres:pw@%2Ftmp%2Fx:5432/postgres', ''),
      fc.string({ maxLength: 20 }),
      jsonJunk,
    );
    const holders = fc
      .oneof(fc.record({ pid: pids(), url: urls, socketDir: socketDirs }, { requiredKeys: [] }), fc.record({ pid: pids(), url: urls, socketDir: socketDirs }))
      .map(({ socketDir, ...rest }) => ({
        content: JSON.stringify(socketDir === undefined ? rest : { ...rest, socketDir: socketDir.value }),
        holder: { ...rest, socketDir },
      }));
    const lock = fc.oneof(
      { arbitrary: holders, weight: 3 },
      fc
        .oneof(
          fc.string(),
          fc.string({ unit: 'binary' }),
          jsonJunk.map((value) => JSON.stringify(value) ?? ''),
        )
        .map((content) => ({ content, holder: undefined })),
    );

    let dirIndex = 0;
    fc.assert(
      fc.property(lock, ({ content, holder }) => {
        const dataDir = path.join(root, `data-${dirIndex++}`);
        fs.mkdirSync(dataDir, { mode: 0o700 });
        try {
          fs.writeFileSync(path.join(dataDir, 'roster.lock'), content, { mode: 0o600 });
          const result = runningEmbeddedUrl(dataDir);
          let expected: string | undefined;
          if (holder && typeof holder.url === 'string' && holder.url !== '' && holder.socketDir) {
            const dir = holder.socketDir.value;
            let trusted = holder.socketDir.trusted;
            if (trusted === undefined) {
              const stat = typeof dir === 'string' && dir !== '' ? fs.lstatSync(dir, { throwIfNoEntry: false }) : undefined;
              trusted = !!stat && stat.isDirectory() && stat.uid === uid && (stat.mode & 0o077) === 0;
            }
            if (trusted && holder.pid !== process.pid && live(holder.pid)) expected = holder.url;
          }
          expect(result).toBe(expected);
        } finally {
          fs.rmSync(dataDir, { recursive: true, force: true });
        }
      }),
      { numRuns: 300 },
    );
  });

  it('taking over a stale lock removes only an absolute roster-pg-* directory of this user, and never throws but DataDirLockedError', () => {
    let runIndex = 0;
    type Decoy = { kind: string; make: (parent: string) => { socketDir: unknown; victim: string; removable: boolean } };
    const decoys: Decoy[] = [
      { kind: 'ours', make: (parent) => ({ ...dir(parent, 'roster-pg-ours'), removable: true }) },
      {
        kind: 'ours, trailing slash',
        make: (parent) => {
          const d = dir(parent, 'roster-pg-slash');
          return { socketDir: `${d.victim}/`, victim: d.victim, removable: true };
        },
      },
      { kind: 'other name', make: (parent) => ({ ...dir(parent, 'decoy'), removable: false }) },
      { kind: 'prefix in the middle', make: (parent) => ({ ...dir(parent, 'x-roster-pg-decoy'), removable: false }) },
      {
        kind: 'dot-dot out of a roster-pg dir',
        make: (parent) => {
          const victim = dir(parent, 'decoy').victim;
          fs.mkdirSync(path.join(parent, 'roster-pg-up'));
          return { socketDir: path.join(parent, 'roster-pg-up') + '/../' + path.basename(victim), victim, removable: false };
        },
      },
      {
        kind: 'roster-pg dot-dot',
        make: (parent) => {
          const victim = dir(parent, 'roster-pg-parent').victim;
          fs.mkdirSync(path.join(victim, 'child'));
          return { socketDir: path.join(victim, 'child') + '/..', victim, removable: false };
        },
      },
      {
        kind: 'symbolic link named roster-pg',
        make: (parent) => {
          const victim = dir(parent, 'decoy').victim;
          const link = path.join(parent, 'roster-pg-link');
          fs.symlinkSync(victim, link);
          return { socketDir: link, victim, removable: false };
        },
      },
      {
        kind: 'file named roster-pg',
        make: (parent) => {
          const victim = path.join(parent, 'roster-pg-file');
          fs.writeFileSync(victim, 'keep');
          return { socketDir: victim, victim, removable: false };
        },
      },
      {
        kind: 'relative',
        make: (parent) => {
          const victim = dir(parent, 'roster-pg-relative').victim;
          return { socketDir: path.relative(process.cwd(), victim), victim, removable: false };
        },
      },
      ...(isRoot
        ? [
            {
              kind: 'roster-pg of another user',
              make: (parent: string) => {
                const d = dir(parent, 'roster-pg-others');
                fs.chownSync(d.victim, 65534, 65534);
                return { ...d, removable: false };
              },
            },
          ]
        : []),
    ];
    function dir(parent: string, prefix: string) {
      const victim = fs.mkdtempSync(path.join(parent, `${prefix}-`));
      fs.writeFileSync(path.join(victim, 'keep'), 'keep');
      return { socketDir: victim as unknown, victim };
    }

    fc.assert(
      fc.property(
        fc.oneof(
          fc.constantFrom(...decoys).map((decoy) => ({ decoy, junk: undefined as unknown })),
          jsonJunk.map((junk) => ({ decoy: undefined, junk })),
        ),
        fc.oneof(
          fc.constant(deadPid),
          fc.constantFrom(0, -1, process.pid, process.ppid),
          fc.integer({ min: -5, max: 40_000 }),
          fc.double(),
          fc.string({ maxLength: 4 }),
          fc.constant(undefined),
        ),
        fc.option(fc.string({ maxLength: 10 }), { nil: undefined }),
        ({ decoy, junk }, pid, url) => {
          const parent = path.join(root, `takeover-${runIndex++}`);
          const dataDir = path.join(parent, 'data');
          fs.mkdirSync(dataDir, { recursive: true, mode: 0o700 });
          try {
            const made = decoy?.make(parent);
            const socketDir = made ? made.socketDir : junk;
            fs.writeFileSync(path.join(dataDir, 'roster.lock'), JSON.stringify({ pid, url, socketDir }), { mode: 0o600 });
            const held = pid !== process.pid && live(pid);
            let outcome: string;
            try {
              lockDataDir(dataDir).release();
              outcome = 'locked';
            } catch (error) {
              outcome = error instanceof DataDirLockedError ? 'held' : `threw ${(error as Error).message}`;
            }
            expect(outcome).toBe(held ? 'held' : 'locked');
            // Only a lock that names a pid (a lock at all) names a socket directory to clean up.
            if (made) expect(fs.existsSync(made.victim)).toBe(!(made.removable && !held && Number.isInteger(pid)));
          } finally {
            fs.rmSync(parent, { recursive: true, force: true });
          }
        },
      ),
      { numRuns: 200 },
    );
  });
});
