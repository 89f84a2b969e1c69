import { Migration } from '@mikro-orm/migrations';

export class Migration20261201084456_console_admins extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "console_setup_tokens" ("token_hash" text not null, "expires_at" timestamptz not null, constraint "console_setup_tokens_pkey" primary key ("token_hash"));`,
    );

    this.addSql(
      `create table "console_admins" ("id" uuid not null default gen_random_uuid(), "email" text not null, "password_hash" text not null, "organization_id" uuid null, "system_role" text not null, "organization_role" text not null, "created_at" timestamptz not null default now(), "disabled_at" timestamptz null, "last_sign_in_at" timestamptz null, constraint "console_admins_pkey" primary key ("id"));`,
    );
    this.addSql(`create unique index "console_admins_email_lower_unique" on "console_admins" (lower("email"));`);

    this.addSql(
      `create table "console_sessions" ("id_hash" text not null, "admin_id" uuid not null, "created_at" timestamptz not null, "last_seen_at" timestamptz not null, constraint "console_sessions_pkey" primary key ("id_hash"));`,
    );
    this.addSql(`create index "console_sessions_admin_index" on "console_sessions" ("admin_id");`);

    this.addSql(
      `alter table "console_admins" add constraint "console_admins_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "console_sessions" add constraint "console_sessions_admin_id_foreign" foreign key ("admin_id") references "console_admins" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`alter table "console_sessions" drop constraint "console_sessions_admin_id_foreign";`);

    this.addSql(`drop table if exists "console_setup_tokens" cascade;`);

    this.addSql(`drop table if exists "console_admins" cascade;`);

    this.addSql(`drop table if exists "console_sessions" cascade;`);
  }
}
