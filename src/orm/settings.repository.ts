import type { SettingsRepository } from '../domain/ports';
import type { Sql } from './sql';

/** The settings' statement: parameterless, so a write's transaction sends it with its BEGIN (unit-of-work.ts). */
export const SETTINGS_QUERY = 'select key, value from instance_settings';

/** A row of instance_settings as the settings' statement reads it. */
export type SettingsRow = { key: string; value: unknown };

const fromRows = (rows: SettingsRow[]): Record<string, unknown> => Object.fromEntries(rows.map((r) => [r.key, r.value]));

/**
 * instance_settings. In a write's transaction (`once`), the settings are read once and
 * that reading serves the rest of the transaction until it sets one: a mapped group's
 * membership change authorizes the change, then its role recompute, on one view of the
 * policy's settings, and holds the group's row lock for one round trip less. A write's
 * reading comes with its BEGIN (`begun`: the rows read there), so it costs no round trip
 * of its own; it is taken before any lock the write then waits for, so a setting changed
 * during that wait applies from the next write. Reads outside a transaction always go to
 * the database.
 */
export class SettingsSqlRepository implements SettingsRepository {
  private read: Promise<Record<string, unknown>> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly once = false,
    begun?: SettingsRow[],
  ) {
    if (once && begun) this.read = Promise.resolve(fromRows(begun));
  }

  all(): Promise<Record<string, unknown>> {
    if (!this.once) return this.load();
    if (!this.read) {
      this.read = this.load();
      // A failed read is not kept (the caller's transaction fails with it anyway).
      this.read.catch(() => (this.read = undefined));
    }
    return this.read;
  }

  async set(key: string, value: unknown): Promise<void> {
    this.read = undefined;
    await this.sql.run(
      `insert into instance_settings (key, value, updated_at) values (?, ?::jsonb, now())
       on conflict (key) do update set value = excluded.value, updated_at = now()`,
      [key, JSON.stringify(value)],
    );
  }

  private async load(): Promise<Record<string, unknown>> {
    return fromRows(await this.sql.all<SettingsRow>(SETTINGS_QUERY));
  }
}
