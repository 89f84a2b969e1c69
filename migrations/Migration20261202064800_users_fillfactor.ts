import { Migration } from '@mikro-orm/migrations';

export class Migration20261202064800_users_fillfactor extends Migration {
  override async up(): Promise<void> {
    // A tenth of each page of users kept free, so that an update of columns no index holds (active, a
    // role, a name part: most of what identity providers PATCH) writes its new row version on the same
    // page: a HOT update, no new entry in any of the table's six indexes. At 1,000,000 users, PATCHes
    // of active ran about 20% faster for 12% more heap, creates of an initial sync 6-9% slower
    // (docs/benchmarks.md, "users with fillfactor 90").
    // New pages get the room; an existing table's full pages only after a rewrite (docs/operations.md).
    this.addSql(`alter table "users" set (fillfactor = 90);`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "users" reset (fillfactor);`);
  }
}
