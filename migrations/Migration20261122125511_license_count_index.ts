import { Migration } from '@mikro-orm/migrations';

export class Migration20261122125511_license_count_index extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create index "users_organization_system_role_index" on "users" ("organization_id", "system_role");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop index "users_organization_system_role_index";`);
  }
}
