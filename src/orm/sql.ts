import { createHash } from 'node:crypto';
import type { Pool, PoolClient } from 'pg';
import { isUuid } from '../domain/ids';

/**
 * Statements run as named prepared statements, so PostgreSQL parses and plans each
 * once per connection instead of on every request (the hot list query spends more
 * time in the planner than in execution). Statement texts are finite (values are
 * always bound), but filters of many shapes could make many: past this many
 * distinct texts a process runs the rest unnamed.
 */
const MAX_PREPARED_STATEMENTS = 2000;

/** A statement as PostgreSQL receives it: its name, its text with `$n` placeholders, and how many values it binds. */
interface Statement {
  name: string;
  text: string;
  bindings: number;
}

const statements = new Map<string, Statement>();

function statement(sql: string): { statement: Statement; cached: boolean } {
  const known = statements.get(sql);
  if (known !== undefined) return { statement: known, cached: true };
  const made = { name: `roster_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`, ...numbered(sql) };
  if (statements.size >= MAX_PREPARED_STATEMENTS) return { statement: made, cached: false };
  statements.set(sql, made);
  return { statement: made, cached: true };
}

/**
 * Roster's SQL in PostgreSQL's own placeholders: each `?` becomes `$1`, `$2`, … in
 * order. A `?` inside a quoted string ('…', '' doubling a quote), a quoted
 * identifier ("…") or a `--` comment is text and stays. Roster writes no `??` and no `\?` (PostgreSQL's
 * jsonb `?` operators are spelt as functions here): both are refused rather than guessed at.
 */
export function numbered(sql: string): { text: string; bindings: number } {
  let bindings = 0;
  const text = eachPlaceholder(sql, () => `$${++bindings}`);
  return { text, bindings };
}

/** `sql` with each `?` (as `numbered` finds them) replaced by what `replace` returns for it, in order. */
function eachPlaceholder(sql: string, replace: () => string): string {
  let text = '';
  let from = 0;
  for (let i = 0; i < sql.length; i++) {
    const c = sql[i];
    if (c === "'" || c === '"') {
      const end = sql.indexOf(c, i + 1);
      if (end < 0) throw new Error(`unterminated ${c === "'" ? 'string' : 'identifier'} in SQL: ${sql}`);
      i = end; // a doubled quote ('' or "") closes and reopens: the scan carries on inside
    } else if (c === '-' && sql[i + 1] === '-') {
      const end = sql.indexOf('\n', i);
      i = end < 0 ? sql.length : end; // a comment: its text is not SQL
    } else if (c === '?') {
      if (sql[i + 1] === '?' || sql[i - 1] === '\\') throw new Error(`Roster's SQL binds values with a single ?: ${sql}`);
      text += sql.slice(from, i) + replace();
      from = i + 1;
    }
  }
  return text + sql.slice(from);
}

/**
 * A value as an SQL literal, for a statement sent with its transaction's COMMIT
 * (`Sql.atCommit`), where nothing can be bound: null, a finite number (in parentheses, so
 * that a minus sign never meets an operator or a cast: `x -(-1)`, `(-2147483648)::int`),
 * a boolean, or text quoted as PostgreSQL reads it whatever `standard_conforming_strings`
 * says (pg's escapeLiteral: quotes doubled, and with a backslash in it the E'' form with
 * backslashes doubled). Text holding NUL is refused: the simple query protocol ends its
 * text at a NUL (the SCIM layer refuses NUL in every value before it gets here). The
 * connection's client encoding is UTF8 (database.ts), as the text is sent.
 */
export function literal(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new Error(`not a finite number: ${value}`);
    return `(${String(value)})`;
  }
  if (typeof value === 'boolean') return value ? 'true' : 'false';
  if (typeof value !== 'string') throw new Error(`no literal for a ${typeof value}`);
  if (value.includes('\u0000')) throw new Error('text holding NUL cannot be sent as a literal');
  const quoted = `'${value.replaceAll("'", "''")}'`;
  return value.includes('\\') ? ` E${quoted.replaceAll('\\', '\\\\')}` : quoted;
}

/** `sql` with its values written in as literals (see `literal`). */
export function inlined(sql: string, params: unknown[]): string {
  let n = 0;
  const text = eachPlaceholder(sql, () => {
    if (n >= params.length) throw new Error(`Expected ${params.length} bindings, saw more in: ${sql}`);
    return literal(params[n++]);
  });
  if (n !== params.length) throw new Error(`Expected ${params.length} bindings, saw ${n}`);
  return text;
}

export interface RawResult {
  rows: unknown[];
  rowCount: number | null;
}

/** What statements are sent to: the pool (each statement on a free connection) or one held connection. */
export interface Queryable {
  query(config: { name?: string; text: string; values?: unknown[] }): Promise<RawResult>;
}

/**
 * Plain parameterised SQL on the database's pg pool (`Sql.onPool`: reads, each
 * statement on whichever connection is free) or on one connection a transaction
 * holds (`Sql.onClient`). Placeholders are `?`; values are always bound, never
 * spliced into the text.
 */
export class Sql {
  /**
   * `prepare`: run statements as named prepared statements (not on a shared embedded
   * session). `pending`: a transaction's statements that wait for its next round trip
   * (`atCommit`), from `transaction`.
   */
  constructor(
    private readonly target: Queryable,
    private readonly prepare = false,
    private readonly pending?: string[],
  ) {}

  /** Statements outside any transaction, each on whichever pooled connection is free. */
  static onPool(pool: Pool, prepare = false, oneSession = false): Sql {
    // On a database that serves every connection from one session (embedded), a statement with values
    // runs in a transaction of its own: pglite-socket then keeps other connections' statements out.
    if (oneSession) return new Sql({ query: (config) => transaction(pool, (client) => client.query(config)) }, prepare);
    return new Sql({ query: (config) => onFreeConnection(pool, config) }, prepare);
  }

  /** Statements on one pooled connection the caller holds (and has begun a transaction on: see `transaction`). */
  static onClient(client: PoolClient, prepare = false, pending?: string[]): Sql {
    return new Sql(client as unknown as Queryable, prepare, pending);
  }

  async all<T extends object>(sql: string, params: unknown[] = []): Promise<T[]> {
    return (await this.send(sql, params)).rows as T[];
  }

  async one<T extends object>(sql: string, params: unknown[] = []): Promise<T | null> {
    const rows = await this.all<T>(sql, params);
    return rows[0] ?? null;
  }

  /** Runs a statement and returns the number of rows it touched. */
  async run(sql: string, params: unknown[] = []): Promise<number> {
    return (await this.send(sql, params)).rowCount ?? 0;
  }

  /**
   * A write whose outcome nothing in the transaction reads (an audit event, the outbox's
   * rows): in a transaction (`pending`), it waits, its values written in as literals, and
   * goes with the transaction's next statement that needs a round trip anyway: COMMIT
   * when it is the last (one simple query: `transaction`), else just before that
   * statement, so statements still run in the order they were asked for. A create or a
   * PATCH, whose audit event and outbox rows are its last writes, saves their two round
   * trips (docs/benchmarks.md, #16). Outside a transaction, it runs now.
   */
  async atCommit(sql: string, params: unknown[] = []): Promise<void> {
    if (this.pending === undefined) {
      await this.run(sql, params);
      return;
    }
    if (params.includes(undefined)) throw new Error(`Undefined binding(s) in: ${sql}`);
    this.pending.push(inlined(sql, params));
  }

  private async send(sql: string, params: unknown[]): Promise<RawResult> {
    const { statement: s, cached } = statement(sql);
    if (params.length !== s.bindings) throw new Error(`Expected ${params.length} bindings, saw ${s.bindings}`);
    if (params.includes(undefined)) throw new Error(`Undefined binding(s) in: ${sql}`);
    if (this.pending !== undefined && this.pending.length > 0) await this.target.query({ text: this.pending.splice(0).join(';\n') });
    return this.target.query(this.prepare && cached ? { name: s.name, text: s.text, values: params } : { text: s.text, values: params });
  }
}

/**
 * One statement on a free pooled connection. Unlike `pool.query`, a statement that
 * fails (a timeout, a refused value) does not cost the connection and its prepared
 * statements: pg's pool drops a connection that is no longer queryable by itself.
 */
async function onFreeConnection(pool: Pool, config: { name?: string; text: string; values?: unknown[] }): Promise<RawResult> {
  const client = await pool.connect();
  try {
    return await client.query(config);
  } finally {
    client.release();
  }
}

/**
 * Runs `work` in one transaction on one pooled connection, held from BEGIN (`begin`:
 * the statement that opens it) to COMMIT or ROLLBACK. A connection that cannot roll
 * back is discarded (`release(error)`: pg closes it instead of pooling it again).
 * `begin` may be BEGIN and parameterless statements after it, sent as one simple query
 * (one round trip); `work` gets their results (`begun`: one per statement, BEGIN's first),
 * and the list of statements that wait for the next round trip (`pending`: Sql.atCommit).
 */
export function transaction<T>(pool: Pool, work: (client: PoolClient, begun: RawResult[], pending: string[]) => Promise<T>, begin = 'begin'): Promise<T> {
  return holding(pool, async (client) => {
    const opened = (await client.query(begin)) as unknown as RawResult | RawResult[];
    const pending: string[] = [];
    try {
      const result = await work(client, Array.isArray(opened) ? opened : [opened], pending);
      // The writes left waiting (Sql.atCommit) and COMMIT, in one simple query: a failure among them skips the rest,
      // COMMIT included, and the transaction is rolled back (holding).
      await client.query(pending.length === 0 ? 'commit' : `${pending.splice(0).join(';\n')};\ncommit`);
      return result;
    } finally {
      // Closed with its transaction: a write asked for after it (work that went on without being awaited) throws
      // instead of being dropped in silence.
      Object.freeze(pending);
    }
  });
}

/**
 * Parameterless statements run in one transaction in one round trip: BEGIN, the
 * statements and COMMIT sent as one simple query. Each statement still takes its own
 * snapshot when it starts (READ COMMITTED), as it would sent alone. Resolves with the
 * statements' results (BEGIN's and COMMIT's left out). On a failure the statements after
 * the failed one are not run and the transaction is rolled back.
 */
export function transactionInOneTrip(pool: Pool, statements: string[]): Promise<RawResult[]> {
  return holding(pool, async (client) => {
    const results = (await client.query(['begin', ...statements, 'commit'].join(';\n'))) as unknown as RawResult[];
    return results.slice(1, 1 + statements.length);
  });
}

/** A pooled connection for a transaction `work` opens and ends: on a failure, rolled back, or discarded if it cannot be. */
async function holding<T>(pool: Pool, work: (client: PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  try {
    return await work(client);
  } catch (error) {
    await client.query('rollback').catch((rollbackError: unknown) => {
      broken = rollbackError instanceof Error ? rollbackError : new Error(String(rollbackError));
    });
    throw error;
  } finally {
    client.release(broken);
  }
}

/** `(?, ?, ?)` for a list of values. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}

/** A uuid[] parameter, bound as one PostgreSQL array literal (`{a,b}`) for `= any(?::uuid[])`, its ids checked first. */
export function uuidArray(ids: string[]): string {
  const bad = ids.find((id) => !isUuid(id));
  if (bad !== undefined) throw new Error(`not a uuid: ${bad}`);
  return `{${ids.join(',')}}`;
}

/**
 * A timestamptz as a Date. Roster's pool (database.ts), like MikroORM's driver,
 * hands timestamps over as text (`2026-01-02 03:04:05.123456+00`): rows convert here.
 */
export function toDate(value: unknown): Date {
  if (value instanceof Date) return value;
  const text = String(value);
  // V8 reads PostgreSQL's form as it is, three times faster than rewriting it to ISO first.
  const direct = new Date(text);
  if (!Number.isNaN(direct.getTime())) return direct;
  return new Date(text.replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
}

export function toDateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : toDate(value);
}
