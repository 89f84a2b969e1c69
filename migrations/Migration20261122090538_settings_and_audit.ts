import { Migration } from '@mikro-orm/migrations';

export class Migration20261122090538_settings_and_audit extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "audit_events" ("id" bigserial primary key, "occurred_at" timestamptz not null default clock_timestamp(), "organization_id" uuid null, "credential_id" uuid null, "actor" text not null, "action" text not null, "target_type" text null, "target_id" uuid null, "target_name" text null, "details" jsonb not null default '{}');`,
    );
    this.addSql(`create index "audit_events_organization_occurred_index" on "audit_events" ("organization_id", "occurred_at");`);
    this.addSql(`create index "audit_events_target_index" on "audit_events" ("target_id");`);

    this.addSql(
      `create table "instance_settings" ("key" text not null, "value" jsonb not null, "updated_at" timestamptz not null default now(), constraint "instance_settings_pkey" primary key ("key"));`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "audit_events" cascade;`);

    this.addSql(`drop table if exists "instance_settings" cascade;`);
  }
}
