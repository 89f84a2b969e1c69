import { Migration } from '@mikro-orm/migrations';

export class Migration20261201090303_group_role_mappings extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "group_role_mappings" ("group_id" uuid not null, "organization_id" uuid not null, "organization_role" text null, "system_role" text null, "created_at" timestamptz not null default now(), "updated_at" timestamptz not null default now(), constraint "group_role_mappings_pkey" primary key ("group_id"), constraint group_role_mappings_grants_a_role check (organization_role is not null or system_role is not null));`,
    );
    this.addSql(`create index "group_role_mappings_organization_index" on "group_role_mappings" ("organization_id");`);

    this.addSql(
      `alter table "group_role_mappings" add constraint "group_role_mappings_group_id_foreign" foreign key ("group_id") references "groups" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "group_role_mappings" add constraint "group_role_mappings_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );

    this.addSql(
      `alter table "users" add column "system_role_group_id" uuid null, add column "organization_role_group_id" uuid null, add column "direct_system_role" text null, add column "direct_organization_role" text null;`,
    );

    // Roles from groups update many users in one statement. The update triggers join the
    // statement's old and new rows; once a session had run them on single rows, PostgreSQL
    // kept a nested loop, which on 20,000 rows ran for over a minute (2 s with a hash
    // join, which costs nothing more on one row). Without nested loops the lateral VALUES
    // is costed as disabled, which would JIT-compile every call (400 ms on one row): no JIT.
    for (const fn of ['roster_user_accounts_updated', 'roster_user_order_updated']) {
      this.addSql(`alter function ${fn}() set enable_nestloop = off;`);
      this.addSql(`alter function ${fn}() set jit = off;`);
    }
  }

  override async down(): Promise<void> {
    for (const fn of ['roster_user_accounts_updated', 'roster_user_order_updated']) {
      this.addSql(`alter function ${fn}() reset enable_nestloop;`);
      this.addSql(`alter function ${fn}() reset jit;`);
    }
    this.addSql(`drop table if exists "group_role_mappings" cascade;`);

    this.addSql(
      `alter table "users" drop column "system_role_group_id", drop column "organization_role_group_id", drop column "direct_system_role", drop column "direct_organization_role";`,
    );
  }
}
