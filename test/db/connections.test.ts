import { Pool } from 'pg';
import { asRosterConnections, createPool, servesOneSession } from '../../src/orm/database';
import { EventSequencer } from '../../src/orm/event-sequencer';
import { requestLogWritePool, sharedCounterStore } from '../../src/roster';
import { openTestDatabase } from '../support/database';
import { Outage } from '../support/outage';

/**
 * Every pool Roster opens (its own, the request log's, the rate-limit store's) sets its
 * connections up the same way: settings as a first statement, never as startup
 * parameters (PgBouncer refuses those it does not know), and a connection lost in the
 * middle of a statement fails that statement, not the process.
 */
let database: Awaited<ReturnType<typeof openTestDatabase>>;
let outage: Outage;
let proxiedUrl: string;

beforeAll(async () => {
  database = await openTestDatabase();
  ({ outage, url: proxiedUrl } = await Outage.before(database.url));
});
afterAll(async () => {
  await outage.up();
  await outage.down();
  await database.close();
});

type Setting = { name: string; setting: string; source: string };
const SETTINGS = `select name, setting, source from pg_settings where name in ('statement_timeout', 'jit', 'synchronous_commit') order by name`;

/** The settings a new connection of this query function sees, as its first statement after the pool's own. */
async function settingsOf(query: (text: string) => Promise<{ rows: unknown[] }>): Promise<Record<string, { setting: string; source: string }>> {
  const rows = (await query(SETTINGS)).rows as Setting[];
  return Object.fromEntries(rows.map((r) => [r.name, { setting: r.setting, source: r.source }]));
}

describe("every pool's connections", () => {
  it('get their statement timeout and JIT off in the session, not as startup parameters (source "session", not "client")', async () => {
    const roster = createPool(database.url, 1, 7_000);
    const log = requestLogWritePool(database.url);
    const limits = sharedCounterStore({ ...database, url: database.url }, () => undefined);
    try {
      const pools: [string, (text: string) => Promise<{ rows: unknown[] }>, string][] = [
        ['roster', (text) => roster.query(text), '7000'],
        ['request log', (text) => log.query(text), '5000'],
        ['rate limit', (text) => limits.store.query({ text, values: [] }) as Promise<{ rows: unknown[] }>, '1000'],
      ];
      for (const [name, query, timeout] of pools) {
        // On the embedded database every connection is one session: undo what the pool before set, so that
        // what is seen next is this pool's own first statement (on PostgreSQL this touches Roster's connection only).
        if (name !== 'roster') await roster.query('set jit = on; set statement_timeout = 0; set synchronous_commit = on');
        const seen = await settingsOf(query);
        expect([name, seen.statement_timeout]).toEqual([name, { setting: timeout, source: 'session' }]);
        expect([name, seen.jit]).toEqual([name, { setting: 'off', source: 'session' }]);
        // The request log's batches also commit without waiting for the WAL flush.
        if (name === 'request log') expect(seen.synchronous_commit).toEqual({ setting: 'off', source: 'session' });
      }
    } finally {
      await roster.end();
      await log.end();
      await limits.close();
    }
  });
});

describe('a connection whose settings fail', () => {
  it('is reported as a warning naming the settings and the reason, and still serves', async () => {
    const warnings: string[] = [];
    const pool = new Pool({ connectionString: database.url, max: 1 });
    asRosterConnections(pool, { statementTimeoutMs: 7_000, settings: { roster_no_such_setting: 'on' }, onWarning: (m) => warnings.push(m) });
    try {
      const { rows } = await pool.query('select 1 as one');
      expect(rows).toEqual([{ one: 1 }]);
      expect(warnings).toHaveLength(1);
      expect(warnings[0]).toMatch(
        /^database connection settings failed, so the connection runs without them \(statement_timeout, jit, client_encoding, roster_no_such_setting\): .*roster_no_such_setting/,
      );
    } finally {
      await pool.end();
    }
  });
});

describe("an idle connection lost, in each of Roster's pools", () => {
  const lost = (warnings: string[]) => warnings.filter((w) => w.startsWith('database connection lost'));
  /** Opens one idle connection through `use`, cuts the database away, and gives the warnings said meanwhile. */
  async function warningsWhenCut(use: () => Promise<unknown>, warnings: string[]): Promise<string[]> {
    await outage.up();
    await use();
    await outage.down();
    for (let i = 0; i < 100 && lost(warnings).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
    await outage.up();
    return lost(warnings);
  }

  it("is reported to the warning sink Roster gives the request log's pool", async () => {
    const warnings: string[] = [];
    const log = requestLogWritePool(proxiedUrl, (m) => warnings.push(m));
    try {
      expect(await warningsWhenCut(() => log.query('select 1'), warnings)).toHaveLength(1);
    } finally {
      await log.end();
    }
  });

  it("is reported to Roster's own warning sink from the sequencer's connection of its own", async () => {
    const warnings: string[] = [];
    const roster = createPool(proxiedUrl, 1, 7_000, (m) => warnings.push(m));
    const sequencer = EventSequencer.of(roster);
    try {
      // Only the sequencer's connection is open (its run does not use Roster's pool on a server database);
      // the embedded database serves one session, and the sequencer runs on Roster's pool there.
      expect(await warningsWhenCut(() => sequencer.run(), warnings)).toHaveLength(1);
      if (!servesOneSession(roster)) expect(roster.totalCount).toBe(0);
    } finally {
      await sequencer.close();
      await roster.end();
    }
  });

  it('is reported at most once a minute by the rate-limit store, among its failed counts', async () => {
    const warnings: string[] = [];
    const limits = sharedCounterStore({ ...database, url: proxiedUrl }, (m) => warnings.push(m));
    try {
      await outage.up();
      await limits.store.query({ text: 'select 1', values: [] });
      await outage.down();
      await new Promise((resolve) => setTimeout(resolve, 200)); // the idle connection's loss, then two failed counts
      await expect(limits.store.query({ text: 'select 1', values: [] })).rejects.toThrow();
      await expect(limits.store.query({ text: 'select 1', values: [] })).rejects.toThrow();
      expect(warnings).toEqual([expect.stringMatching(/^database connection lost/)]);
    } finally {
      await outage.up();
      await limits.close();
    }
  });
});

describe('a connection lost in the middle of a statement', () => {
  /**
   * On a connection lent out by the pool (a transaction's, a batch's), sends a statement and cuts every
   * connection before its answer can come back. Without a listener on the client, pg's 'error' event is
   * unhandled and ends the process (jest reports it as a failure). Then the pool works again.
   */
  async function survives(pool: Pool): Promise<void> {
    await outage.up();
    const client = await pool.connect();
    await client.query('select 1 as one'); // the pool's settings ran before it
    const pending = client.query('select 1 as one').then(
      () => 'answered',
      (error: Error) => `failed: ${error.message}`,
    );
    await outage.down();
    expect(await pending).toMatch(/^failed: /);
    await new Promise((resolve) => setTimeout(resolve, 50)); // the socket's close, and its 'error', after the failure
    client.release(true);
    await outage.up();
    expect((await pool.query<{ one: number }>('select 1 as one')).rows).toEqual([{ one: 1 }]);
  }

  it("fails that statement of the request log's pool, not the process, and the next one works", async () => {
    const log = requestLogWritePool(proxiedUrl);
    try {
      await survives(log);
    } finally {
      await log.end();
    }
  });

  it("fails that statement of Roster's own pool, not the process, and the next one works", async () => {
    const roster = createPool(proxiedUrl, 1);
    try {
      await survives(roster);
    } finally {
      await roster.end();
    }
  });
});
