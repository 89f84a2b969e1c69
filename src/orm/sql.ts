import type { EntityManager } from '@mikro-orm/postgresql';

/**
 * Plain parameterised SQL on the connection (and transaction) of one EntityManager.
 * Placeholders are `?`; values are always bound, never spliced into the text.
 */
export class Sql {
  constructor(private readonly em: EntityManager) {}

  all<T extends object>(sql: string, params: unknown[] = []): Promise<T[]> {
    return this.em.getConnection().execute<T[]>(sql, params, 'all', this.em.getTransactionContext());
  }

  async one<T extends object>(sql: string, params: unknown[] = []): Promise<T | null> {
    const rows = await this.all<T>(sql, params);
    return rows[0] ?? null;
  }

  /** Runs a statement and returns the number of rows it touched. */
  async run(sql: string, params: unknown[] = []): Promise<number> {
    const result = await this.em
      .getConnection()
      .execute<{ affectedRows: number }>(sql, params, 'run', this.em.getTransactionContext());
    return result.affectedRows;
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
  return new Date(String(value).replace(' ', 'T').replace(/([+-]\d\d)$/, '$1:00'));
}

export function toDateOrNull(value: unknown): Date | null {
  return value === null || value === undefined ? null : toDate(value);
}
