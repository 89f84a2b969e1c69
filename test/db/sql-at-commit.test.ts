import { inlined, literal, Sql, transaction } from '../../src/orm/sql';
import { openTestDatabase } from '../support/database';

/**
 * A write's audit event and outbox rows wait for its COMMIT (Sql.atCommit) and go with it
 * in one simple query, their values written in as literals. What a user relies on: the
 * value stored is the value given, whatever it holds; the rows are stored exactly when the
 * transaction commits; a statement asked for later still runs later; and a failure among
 * the waiting writes stores nothing of the transaction.
 */
let database: Awaited<ReturnType<typeof openTestDatabase>>;

beforeAll(async () => {
  // One connection: what a failed batch leaves behind is the connection the next write gets.
  database = await openTestDatabase({ poolMax: 1 });
  await database.pool.query('create table if not exists at_commit_probe (n serial primary key, t text, j jsonb, u uuid, k int)');
});
afterAll(async () => {
  await database.pool.query('drop table if exists at_commit_probe');
  await database.close();
});
beforeEach(async () => {
  await database.pool.query('truncate at_commit_probe restart identity');
});

const HOSTILE = [
  "it's",
  "'); drop table at_commit_probe; --",
  "back\\slash \\' and \\\\ two",
  "E'\\x41'",
  '$$ dollar $tag$ quoting $$',
  'line\nbreak\ttab\r',
  '?, $1 and :name',
  'ünïcödé ✓ 𝄞 and a lone \uD800 half',
  '',
];

describe('values written in as literals', () => {
  it.each(HOSTILE.map((t) => [t]))('reads back %j as it was given', async (text) => {
    const { rows } = await database.pool.query(`select ${literal(text)}::text as t`);
    // PostgreSQL stores a lone surrogate as U+FFFD, as it does a bound value (Buffer's UTF-8).
    expect(rows[0].t).toBe(Buffer.from(text, 'utf8').toString('utf8'));
  });

  it('reads back the same with standard_conforming_strings off (backslashes as escapes)', async () => {
    const client = await database.pool.connect();
    try {
      await client.query('set standard_conforming_strings = off');
      for (const text of HOSTILE) {
        const { rows } = await client.query(`select ${literal(text)}::text as t`);
        expect(rows[0].t).toBe(Buffer.from(text, 'utf8').toString('utf8'));
      }
    } finally {
      await client.query('reset standard_conforming_strings');
      client.release();
    }
  });

  it('writes null, numbers and booleans, and refuses what it cannot write', async () => {
    const { rows } = await database.pool.query(
      `select ${inlined('?::int as a, ?::numeric as b, ? as c, ?::bool as d, ?::int as e, 3 -? as f', [null, -2.5, true, false, -2147483648, -1])}`,
    );
    expect(rows[0]).toEqual({ a: null, b: '-2.5', c: true, d: false, e: -2147483648, f: 4 });
    expect(() => literal('a\u0000b')).toThrow(/NUL/);
    expect(() => literal(Number.NaN)).toThrow();
    expect(() => literal({})).toThrow();
    expect(() => literal(undefined)).toThrow();
    expect(() => inlined('select ?, ?', ['one'])).toThrow(/bindings/);
    expect(() => inlined('select ?', ['one', 'two'])).toThrow(/bindings/);
  });

  it("leaves a ? inside the statement's own strings alone", () => {
    expect(inlined(`select '?', ? -- why?\n, ?`, ["it's", 2])).toBe(`select '?', 'it''s' -- why?\n, (2)`);
  });
});

describe('writes that wait for COMMIT', () => {
  const probe = async () => (await database.pool.query('select t, j, u, k from at_commit_probe order by n')).rows;
  const INSERT = 'insert into at_commit_probe (t, j, u, k) values (?, ?::jsonb, ?::uuid, ?)';
  const ID = '0190f3a2-7c4e-7d2a-9b1e-3f6a1c2d4e5f';

  it('are stored with the COMMIT, each value as given, and not before', async () => {
    const json = JSON.stringify({ name: HOSTILE[1], nested: ["a'b", 'c\\d'] });
    let before: unknown[] = [];
    await transaction(database.pool, async (client, _begun, pending) => {
      const sql = Sql.onClient(client, false, pending);
      for (const text of HOSTILE) await sql.atCommit(INSERT, [text, json, ID, 7]);
      // Not sent yet: the transaction's own connection finds none of them (the embedded database serves one session).
      before = (await client.query('select t from at_commit_probe')).rows;
      expect(pending).toHaveLength(HOSTILE.length);
    });
    expect(before).toEqual([]);
    const rows = await probe();
    expect(rows.map((r) => r.t)).toEqual(HOSTILE.map((t) => Buffer.from(t, 'utf8').toString('utf8')));
    expect(rows[0]).toMatchObject({ j: JSON.parse(json), u: ID, k: 7 });
  });

  it('run before a statement asked for after them, in their order', async () => {
    const seen = await transaction(database.pool, async (client, _begun, pending) => {
      const sql = Sql.onClient(client, false, pending);
      await sql.atCommit(INSERT, ['first', '{}', ID, 1]);
      await sql.atCommit(INSERT, ['second', '{}', ID, 2]);
      const inside = await sql.all<{ t: string }>('select t from at_commit_probe order by n');
      expect(pending).toHaveLength(0);
      await sql.atCommit(INSERT, ['third', '{}', ID, 3]);
      return inside.map((r) => r.t);
    });
    expect(seen).toEqual(['first', 'second']);
    expect((await probe()).map((r) => r.t)).toEqual(['first', 'second', 'third']);
  });

  it('that fail store nothing of their transaction, and leave the connection usable', async () => {
    await expect(
      transaction(database.pool, async (client, _begun, pending) => {
        const sql = Sql.onClient(client, false, pending);
        await sql.run('insert into at_commit_probe (t) values (?)', ['kept only if committed']);
        await sql.atCommit(INSERT, ['fine', '{}', ID, 1]);
        await sql.atCommit(INSERT, ['bad uuid', '{}', 'not-a-uuid', 2]);
      }),
    ).rejects.toThrow(/uuid/);
    expect(await probe()).toEqual([]);
    await transaction(database.pool, async (client, _begun, pending) => {
      await Sql.onClient(client, false, pending).atCommit(INSERT, ['after', '{}', ID, 3]);
    });
    expect((await probe()).map((r) => r.t)).toEqual(['after']);
  });

  it('are dropped with their transaction when its work fails, and refused once it has ended', async () => {
    let late: Sql | undefined;
    await expect(
      transaction(database.pool, async (client, _begun, pending) => {
        late = Sql.onClient(client, false, pending);
        await late.atCommit(INSERT, ['never', '{}', ID, 1]);
        throw new Error('the work failed');
      }),
    ).rejects.toThrow('the work failed');
    expect(await probe()).toEqual([]);
    await expect((late as Sql).atCommit(INSERT, ['too late', '{}', ID, 2])).rejects.toThrow();
  });

  it('outside a transaction, run at once', async () => {
    await Sql.onPool(database.pool).atCommit(INSERT, ['now', '{}', ID, 1]);
    expect((await probe()).map((r) => r.t)).toEqual(['now']);
  });
});
