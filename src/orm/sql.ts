import { createHash } from 'node:crypto';
import type { EntityManager, Knex } from '@mikro-orm/postgresql';

/**
 * Statements run as named prepared statements, so PostgreSQL parses and plans each
 * once per connection instead of on every request (the hot list query spends more
 * time in the planner than in execution). Statement texts are finite (values are
 * always bound), but filters of many shapes could make many: past this many
 * distinct texts a process runs the rest unnamed.
 */
const MAX_PREPARED_STATEMENTS = 2000;

/** A statement's name and its text with PostgreSQL's `$n` placeholders (undefined: knex must compile it). */
interface Statement {
  name: string;
  text: string | undefined;
  /** How many values the text binds. */
  bindings: number;
}

const statements = new Map<string, Statement>();

function statement(sql: string): Statement | undefined {
  const known = statements.get(sql);
  if (known !== undefined || statements.size >= MAX_PREPARED_STATEMENTS) return known;
  const name = `roster_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
  const made = { name, ...positional(sql) };
  statements.set(sql, made);
  return made;
}

/**
 * The text knex would send for a raw statement: each `?` becomes `$1`, `$2`, …, and
 * `\?` a literal `?`. Identifier bindings (`??`) are left to knex (text undefined).
 */
function positional(sql: string): { text: string | undefined; bindings: number } {
  let bindings = 0;
  let identifiers = false;
  const text = sql.replace(/\\?\?\??/g, (match) => {
    if (match === '\\?') return '?';
    if (match === '??') {
      identifiers = true;
      return match;
    }
    bindings += 1;
    return `$${bindings}`;
  });
  return { text: identifiers ? undefined : text, bindings };
}

/** Arrays would be spread into several parameters by knex: such statements stay unnamed. */
const preparable = (params: unknown[]) => !params.some((value) => Array.isArray(value));

interface RawResult {
  rows: unknown[];
  rowCount: number | null;
}

/** The pg client of a pooled connection (what knex's pool hands out for PostgreSQL). */
export interface PgClient {
  query(config: { name?: string; text: string; values?: unknown[] }): Promise<RawResult>;
}

/** What Sql needs of knex's client: its connection pool. */
export interface KnexClient {
  acquireConnection(): Promise<PgClient>;
  releaseConnection(connection: PgClient): Promise<void>;
}

type Connection = ReturnType<EntityManager['getConnection']>;

/**
 * Plain parameterised SQL on the connection (and transaction) of one EntityManager,
 * or on the connection pool itself (`Sql.onPool`: reads, each statement on whichever
 * connection is free, as a forked EntityManager outside a transaction would run it).
 * Placeholders are `?`; values are always bound, never spliced into the text.
 */
export class Sql {
  private readonly connection: () => Connection;
  private readonly transaction: () => Knex.Transaction | undefined;
  /** One connection held for a transaction (`Sql.onClient`), and the knex that compiles for it. */
  private readonly client: { connection: PgClient; knex: Knex } | undefined;

  /** `prepare`: run statements as named prepared statements (not on a shared embedded session). */
  constructor(
    source: EntityManager | { pool: Connection } | { client: PgClient; pool: Connection },
    private readonly prepare = false,
  ) {
    if ('pool' in source) {
      const connection = source.pool;
      this.connection = () => connection;
      this.transaction = () => undefined;
      if ('client' in source) this.client = { connection: source.client, knex: connection.getKnex() };
    } else {
      this.connection = () => source.getConnection();
      this.transaction = () => source.getTransactionContext<Knex.Transaction>();
    }
  }

  /**
   * Statements outside any transaction, on the pool of this connection: no
   * EntityManager per unit of work. Prepared statements go straight to a pooled pg
   * client (the same pool, type parsers and statement names as through knex).
   */
  static onPool(connection: Connection, prepare = false): Sql {
    return new Sql({ pool: connection }, prepare);
  }

  /**
   * Statements on one pooled pg client the caller holds (and has begun a transaction
   * on: see OrmUnitOfWork.write), sent straight to it; statements that cannot be
   * prepared are compiled by knex first, as knex would send them.
   */
  static onClient(client: PgClient, pool: Connection, prepare = false): Sql {
    return new Sql({ client, pool }, prepare);
  }

  async all<T extends object>(sql: string, params: unknown[] = []): Promise<T[]> {
    if (this.client) return (await this.onHeldClient(sql, params)).rows as T[];
    const prepared = await this.prepared(sql, params);
    if (prepared) return prepared.rows as T[];
    return this.connection().execute<T[]>(sql, params, 'all', this.transaction());
  }

  async one<T extends object>(sql: string, params: unknown[] = []): Promise<T | null> {
    const rows = await this.all<T>(sql, params);
    return rows[0] ?? null;
  }

  /** Runs a statement and returns the number of rows it touched. */
  async run(sql: string, params: unknown[] = []): Promise<number> {
    if (this.client) return (await this.onHeldClient(sql, params)).rowCount ?? 0;
    const prepared = await this.prepared(sql, params);
    if (prepared) return prepared.rowCount ?? 0;
    const result = await this.connection().execute<{ affectedRows: number }>(sql, params, 'run', this.transaction());
    return result.affectedRows;
  }

  /** Runs the statement as a named prepared statement (same connection or transaction as execute). */
  private async prepared(sql: string, params: unknown[]): Promise<RawResult | undefined> {
    const named = this.prepare && preparable(params) ? statement(sql) : undefined;
    if (named === undefined) return undefined;
    const transaction = this.transaction();
    const knex = transaction ?? this.connection().getKnex();
    if (transaction === undefined && named.text !== undefined) return this.pooled(knex.client as KnexClient, named, sql, params);
    return (await knex.raw(sql, params as Knex.RawBinding[]).options({ name: named.name })) as unknown as RawResult;
  }

  private async onHeldClient(sql: string, params: unknown[]): Promise<RawResult> {
    const { connection, knex } = this.client as NonNullable<Sql['client']>;
    const named = this.prepare && preparable(params) ? statement(sql) : undefined;
    if (named?.text !== undefined) {
      checkBindings(named, sql, params);
      return connection.query({ name: named.name, text: named.text, values: params });
    }
    const native = knex.raw(sql, params as Knex.RawBinding[]).toSQL().toNative();
    return connection.query({ text: native.sql, values: native.bindings as unknown[] });
  }

  /** A prepared statement on a pooled connection, without compiling it through knex each time. */
  private async pooled(client: KnexClient, named: Statement, sql: string, params: unknown[]): Promise<RawResult> {
    checkBindings(named, sql, params);
    const connection = await client.acquireConnection();
    try {
      return await connection.query({ name: named.name, text: named.text as string, values: params });
    } finally {
      await client.releaseConnection(connection);
    }
  }
}

/** The checks knex.raw makes before it sends anything. */
function checkBindings(named: Statement, sql: string, params: unknown[]): void {
  if (params.length !== named.bindings) throw new Error(`Expected ${params.length} bindings, saw ${named.bindings}`);
  if (params.includes(undefined)) throw new Error(`Undefined binding(s) detected when compiling RAW query: ${sql}`);
}

/** `(?, ?, ?)` for a list of values. */
export function placeholders(count: number): string {
  return Array.from({ length: count }, () => '?').join(', ');
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export const isUuid = (value: string): boolean => UUID.test(value);

/**
 * A uuid[] parameter, bound as one PostgreSQL array literal (`{a,b}`) for
 * `= any(?::uuid[])`: knex would spread a JS array into a list of parameters.
 */
export function uuidArray(ids: string[]): string {
  const bad = ids.find((id) => !isUuid(id));
  if (bad !== undefined) throw new Error(`not a uuid: ${bad}`);
  return `{${ids.join(',')}}`;
}

/**
 * A timestamptz as a Date. MikroORM's pg setup hands timestamps over as text
 * (`2026-01-02 03:04:05.123456+00`), so rows read with plain SQL convert here.
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
