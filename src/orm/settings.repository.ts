import type { SettingsRepository } from '../domain/ports';
import type { Sql } from './sql';

export class SettingsSqlRepository implements SettingsRepository {
  constructor(private readonly sql: Sql) {}

  async all(): Promise<Record<string, unknown>> {
    const rows = await this.sql.all<{ key: string; value: unknown }>('select key, value from instance_settings');
    return Object.fromEntries(rows.map((r) => [r.key, r.value]));
  }

  async set(key: string, value: unknown): Promise<void> {
    await this.sql.run(
      `insert into instance_settings (key, value, updated_at) values (?, ?::jsonb, now())
       on conflict (key) do update set value = excluded.value, updated_at = now()`,
      [key, JSON.stringify(value)],
    );
  }
}
