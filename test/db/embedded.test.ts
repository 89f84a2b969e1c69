import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase } from '../../src/orm/database';
import { DataDirLockedError, lockDataDir, runningEmbeddedUrl } from '../../src/orm/embedded';

/** The embedded PostgreSQL on a data directory of its own, whatever DATABASE_URL says. */
describe('embedded PostgreSQL', () => {
  let dataDir: string;
  beforeEach(() => {
    dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-embedded-'));
  });
  afterEach(() => fs.rmSync(dataDir, { recursive: true, force: true }));

  it('keeps its data across a restart', async () => {
    const first = await openDatabase({ dataDir, poolMax: 2 });
    await first.orm.em.getConnection().execute(`insert into organizations (slug, name) values ('kept', 'Kept')`);
    await first.close();

    const second = await openDatabase({ dataDir, poolMax: 2 });
    try {
      const rows = await second.orm.em.getConnection().execute<{ name: string }[]>(`select name from organizations where slug = 'kept'`);
      expect(rows).toEqual([{ name: 'Kept' }]);
    } finally {
      await second.close();
    }
  }, 120_000);

  it('refuses a second opener of a data directory in use, and lets the CLI connect through the first', async () => {
    const first = await openDatabase({ dataDir, poolMax: 2 });
    try {
      // Another process holds the lock: simulate it with this test runner's parent pid.
      const lockFile = path.join(dataDir, 'roster.lock');
      const held = JSON.parse(fs.readFileSync(lockFile, 'utf8'));
      expect(held.pid).toBe(process.pid);
      expect(held.url).toBe(first.url);
      fs.writeFileSync(lockFile, JSON.stringify({ pid: process.ppid, url: first.url }));
      await expect(openDatabase({ dataDir, poolMax: 2 })).rejects.toBeInstanceOf(DataDirLockedError);
      expect(runningEmbeddedUrl(dataDir)).toBe(first.url);
      const shared = await openDatabase({ dataDir, poolMax: 2, shareRunningEmbedded: true });
      try {
        expect(shared.embedded).toBe(false);
        expect(await shared.ping()).toBe(true);
      } finally {
        await shared.close();
      }
    } finally {
      await first.close();
    }
  }, 120_000);

  it('takes over a lock left by a process that no longer runs', () => {
    fs.writeFileSync(path.join(dataDir, 'roster.lock'), JSON.stringify({ pid: 2 ** 22 + 12345 }));
    const lock = lockDataDir(dataDir);
    expect(JSON.parse(fs.readFileSync(path.join(dataDir, 'roster.lock'), 'utf8')).pid).toBe(process.pid);
    lock.release();
    expect(fs.existsSync(path.join(dataDir, 'roster.lock'))).toBe(false);
  });
});
