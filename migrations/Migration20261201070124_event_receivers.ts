import { Migration } from '@mikro-orm/migrations';

export class Migration20261201070124_event_receivers extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "event_receivers" ("id" uuid not null default gen_random_uuid(), "organization_id" uuid not null, "url" text not null, "audience" text not null, "events" jsonb null, "full" boolean not null default false, "created_at" timestamptz not null default now(), "last_delivered_id" bigint not null default 0, "last_delivered_at" timestamptz null, "attempts" int not null default 0, "next_attempt_at" timestamptz null, "last_error" text null, "failing_since" timestamptz null, "failing" boolean not null default false, constraint "event_receivers_pkey" primary key ("id"));`,
    );
    this.addSql(`create index "event_receivers_organization_id_index" on "event_receivers" ("organization_id");`);

    this.addSql(
      `alter table "event_receivers" add constraint "event_receivers_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "event_receivers" cascade;`);
  }
}
