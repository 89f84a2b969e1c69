import { Migration } from '@mikro-orm/migrations';

export class Migration20261201064638_provisioning_events extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "provisioning_events" ("id" bigserial primary key, "organization_id" uuid not null, "resource_type" text not null, "resource_id" uuid not null, "event_uris" jsonb not null, "attributes" jsonb not null, "txn" text null, "created_at" timestamptz not null default clock_timestamp());`,
    );
    this.addSql(`create index "provisioning_events_organization_id_index" on "provisioning_events" ("organization_id", "id");`);

    this.addSql(
      `alter table "provisioning_events" add constraint "provisioning_events_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "provisioning_events" cascade;`);
  }
}
