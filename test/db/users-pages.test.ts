import { servesOneSession } from '../../src/orm/database';
import { Sql } from '../../src/orm/sql';
import { openTestDatabase } from '../support/database';

/**
 * The users table keeps a tenth of each page free (fillfactor 90, migration
 * users_fillfactor): an update of columns no index holds (`active`, a role, a name part:
 * most of what identity providers PATCH) writes the row's new version on its own page,
 * with no new entry in any index (a HOT update; docs/benchmarks.md).
 */
describe('the users table', () => {
  it("keeps room on each page: an update of active leaves the row on its page, even on the table's first, filled page", async () => {
    const database = await openTestDatabase();
    const sql = Sql.onPool(database.pool, false, servesOneSession(database.pool));
    try {
      const org = await sql.one<{ id: string }>(`insert into organizations (slug, name) values ('pages', 'Pages') returning id`);
      await sql.run(
        `insert into users (organization_id, user_name, system_role, organization_role)
         select ?::uuid, 'paged-' || i || '@example.com', 'Standard User', 'Standard User' from generate_series(1, 200) as i`,
        [org?.id],
      );
      const pageOf = async (userName: string) =>
        (await sql.one<{ page: number }>(`select (ctid::text::point)[0]::int as page from users where user_name = ?`, [userName]))?.page;
      const first = await pageOf('paged-1@example.com');
      // The first page took as many rows as it would: the last ones are further on.
      expect(await pageOf('paged-200@example.com')).toBeGreaterThan(first as number);
      for (const i of [1, 2, 3]) {
        await sql.run(`update users set active = false, version = version + 1, updated_at = clock_timestamp() where user_name = ?`, [`paged-${i}@example.com`]);
        expect(await pageOf(`paged-${i}@example.com`)).toBe(first);
      }
    } finally {
      await database.close();
    }
  });
});
