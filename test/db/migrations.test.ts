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
