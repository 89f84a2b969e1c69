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
const statementNames = new Map<string, string>();

function statementName(sql: string): string | undefined {
  const known = statementNames.get(sql);
  if (known !== undefined || statementNames.size >= MAX_PREPARED_STATEMENTS) return known;
  const name = `roster_${createHash('sha256').update(sql).digest('hex').slice(0, 24)}`;
  statementNames.set(sql, name);
  return name;
}

/** Arrays would be spread into several parameters by knex: such statements stay unnamed. */
const preparable = (params: unknown[]) => !params.some((value) => Array.isArray(value));

interface RawResult {
  rows: unknown[];
  rowCount: number | null;
}

/**
 * Plain parameterised SQL on the connection (and transaction) of one EntityManager.
 * Placeholders are `?`; values are always bound, never spliced into the text.
 */
export class Sql {
  /** `prepare`: run statements as named prepared statements (not on a shared embedded session). */
  constructor(
    private readonly em: EntityManager,
    private readonly prepare = false,
  ) {}

  async all<T extends object>(sql: string, params: unknown[] = []): Promise<T[]> {
    const prepared = await this.prepared(sql, params);
    if (prepared) return prepared.rows as T[];
    return this.em.getConnection().execute<T[]>(sql, params, 'all', this.em.getTransactionContext());
  }

  async one<T extends object>(sql: string, params: unknown[] = []): Promise<T | null> {
    const rows = await this.all<T>(sql, params);
    return rows[0] ?? null;
  }

  /** Runs a statement and returns the number of rows it touched. */
  async run(sql: string, params: unknown[] = []): Promise<number> {
    const prepared = await this.prepared(sql, params);
    if (prepared) return prepared.rowCount ?? 0;
    const result = await this.em
      .getConnection()
      .execute<{ affectedRows: number }>(sql, params, 'run', this.em.getTransactionContext());
    return result.affectedRows;
  }

  /** Runs the statement as a named prepared statement (same connection or transaction as execute). */
  private async prepared(sql: string, params: unknown[]): Promise<RawResult | undefined> {
    const name = this.prepare && preparable(params) ? statementName(sql) : undefined;
    if (name === undefined) return undefined;
    const knex = this.em.getTransactionContext<Knex.Transaction>() ?? this.em.getConnection().getKnex();
    return (await knex.raw(sql, params as Knex.RawBinding[]).options({ name })) as unknown as RawResult;
  }
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
