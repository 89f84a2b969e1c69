import { Client } from 'pg';
import { openDatabase } from '../../src/orm/database';
import { openTestDatabase } from '../support/database';
import { migrations } from '../../migrations';

describe('migrations', () => {
  it('produce exactly the schema the entities describe (empty schema diff)', async () => {
    const database = await openTestDatabase();
    try {
      const diff = await database.orm.getSchemaGenerator().getUpdateSchemaSQL({ wrap: false });
      expect(diff.trim()).toBe('');
    } finally {
      await database.close();
    }
  });

  it('are all applied at start, and a second run applies nothing', async () => {
    const database = await openTestDatabase();
    try {
      const executed = await database.orm.getMigrator().getExecutedMigrations();
      expect(executed.map((m) => m.name)).toEqual(migrations.map((m) => m.name));
      expect(await database.orm.getMigrator().up()).toEqual([]);
    } finally {
      await database.close();
    }
  });
});

describe('migrations on a shared PostgreSQL', () => {
  it('are applied once when several instances start together', async () => {
    const first = await openTestDatabase({ poolMax: 2 });
    if (first.embedded) {
      await first.close();
      return; // one process per embedded data directory: nothing to race
    }
    const fresh = first.url.replace(/\/([^/]+)$/, '/$1_race');
    const admin = new Client({ connectionString: first.url });
    await admin.connect();
    await admin.query(`create database "${new URL(fresh).pathname.slice(1)}"`);
    try {
      const opened = await Promise.all([0, 1, 2].map(() => openDatabase({ url: fresh, poolMax: 2 })));
      const executed = await opened[0].orm.getMigrator().getExecutedMigrations();
      expect(executed.map((m) => m.name)).toEqual(migrations.map((m) => m.name));
      await Promise.all(opened.map((d) => d.close()));
    } finally {
      await admin.query(`drop database if exists "${new URL(fresh).pathname.slice(1)}" with (force)`);
      await admin.end();
      await first.close();
    }
  });
});

describe('statement timeout', () => {
  it('stops a statement that runs longer than ROSTER_STATEMENT_TIMEOUT_MS', async () => {
    const first = await openTestDatabase({ poolMax: 2 });
    const bounded = first.embedded ? first : await openDatabase({ url: first.url, poolMax: 2, statementTimeoutMs: 200, migrate: false });
    try {
      if (first.embedded) {
        // PGlite runs a statement to its end in its single thread; the setting is still applied.
        const rows = await bounded.orm.em.getConnection().execute<{ statement_timeout: string }[]>('show statement_timeout');
        expect(rows[0].statement_timeout).toBe('15s');
        expect((await bounded.pool.query('show statement_timeout')).rows[0].statement_timeout).toBe('15s');
        return;
      }
      const started = Date.now();
      await expect(bounded.orm.em.getConnection().execute('select pg_sleep(3)')).rejects.toThrow(/statement timeout/);
      expect(Date.now() - started).toBeLessThan(2_000);
      // Roster's own pool (the requests' connections) is bounded the same way.
      const pooled = Date.now();
      await expect(bounded.pool.query('select pg_sleep(3)')).rejects.toThrow(/statement timeout/);
      expect(Date.now() - pooled).toBeLessThan(2_000);
    } finally {
      if (bounded !== first) await bounded.close();
      await first.close();
    }
  });
});
