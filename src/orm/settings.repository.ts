import type { SettingsRepository } from '../domain/ports';
import type { Sql } from './sql';

/**
 * instance_settings. In a write's transaction (`once`), the settings are read once and
 * that reading serves the rest of the transaction until it sets one: a mapped group's
 * membership change authorizes the change, then its role recompute, on one view of the
 * policy's settings, and holds the group's row lock for one round trip less. Reads
 * outside a transaction always go to the database.
 */
export class SettingsSqlRepository implements SettingsRepository {
  private read: Promise<Record<string, unknown>> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly once = false,
  ) {}

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
    const rows = await this.sql.all<{ key: string; value: unknown }>('select key, value from instance_settings');
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }
}
