import { randomBytes } from 'node:crypto';
import { Client } from 'pg';
import { openDatabase, type Database } from '../../src/orm/database';

/**
 * A database of the test file's own, so test files never see each other's rows:
 * with DATABASE_URL, a fresh database on that server (dropped afterwards); without
 * it, an in-memory embedded PostgreSQL. Migrations are applied either way.
 */
export async function openTestDatabase(options: { poolMax?: number } = {}): Promise<Database & { name?: string }> {
  const poolMax = options.poolMax ?? 5;
  const serverUrl = process.env.DATABASE_URL;
  if (!serverUrl) return openDatabase({ poolMax });

  const name = `roster_test_${randomBytes(6).toString('hex')}`;
  await admin(serverUrl, `create database "${name}"`);
  const url = new URL(serverUrl);
  url.pathname = `/${name}`;
  let database: Database;
  try {
    database = await openDatabase({ url: url.toString(), poolMax });
  } catch (error) {
    await admin(serverUrl, `drop database if exists "${name}"`);
    throw error;
  }
  return {
    ...database,
    name,
    async close() {
      await database.close();
      await admin(serverUrl, `drop database if exists "${name}" with (force)`);
    },
  };
}

async function admin(serverUrl: string, sql: string): Promise<void> {
  const client = new Client({ connectionString: serverUrl });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}
