import { migrate } from '../orm/database';
import type { Handler } from './command';
import { flatten, table } from './format';

/** settings get [--json] */
export const settingsGet: Handler = async (roster, _args, flags, io) => {
  const settings = await roster.settings.get();
  if (flags.json) return io.out(JSON.stringify(settings, null, 2));
  const rows = Object.entries(flatten(settings as unknown as Record<string, unknown>)).map(([key, value]) => ({ key, value }));
  io.out(table(rows, ['key', 'value']));
};

/** settings set <key> <value>: prints the value as stored. */
export const settingsSet: Handler = async (roster, [key, value], _flags, io) => {
  const settings = await roster.settings.set(key, value);
  io.out(String(flatten(settings as unknown as Record<string, unknown>)[key]));
};

/** migrate: applies the pending migrations and prints their names. */
export const migrateCommand: Handler = async (roster, _args, _flags, io) => {
  const applied = await migrate(roster.database);
  io.err(applied.length === 0 ? 'the database is up to date' : `applied ${applied.join(', ')}`);
  if (applied.length > 0) io.out(applied.join('\n'));
};
