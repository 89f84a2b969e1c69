import { Migration } from '@mikro-orm/migrations';

export class Migration20261201114757_request_log_lighter_writes extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "request_log" drop constraint "request_log_organization_id_foreign";`);
    // Rows arrive in time order: a BRIN index serves the prune's range scan and costs a batch next to nothing.
    this.addSql(`drop index "request_log_created_at_index";`);
    this.addSql(`create index "request_log_created_at_index" on "request_log" using brin ("created_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "request_log_created_at_index";`);
    this.addSql(`create index "request_log_created_at_index" on "request_log" ("created_at");`);
    this.addSql(
      `alter table "request_log" add constraint "request_log_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
  }
}
