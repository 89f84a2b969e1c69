import { Migration } from '@mikro-orm/migrations';

export class Migration20261201030000_manager_index extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create index "users_organization_manager_index" on "users" ("organization_id", lower("enterprise" #>> '{manager,value}')) where ("enterprise" #>> '{manager,value}') is not null;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "users_organization_manager_index";`);
  }
}
