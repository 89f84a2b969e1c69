import { Migration } from '@mikro-orm/migrations';

export class Migration20261201060000_send_account_info_email extends Migration {
  override async up(): Promise<void> {
    this.addSql(`alter table "users" add column "send_account_info_email" boolean not null default false;`);
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "users" drop column "send_account_info_email";`);
  }
}
