import { Migration } from '@mikro-orm/migrations';

export class Migration20261201070146_event_poll_acks extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "event_poll_acks" ("organization_id" uuid not null, "event_id" bigint not null, "acked_at" timestamptz not null default clock_timestamp(), "error" jsonb null, constraint "event_poll_acks_pkey" primary key ("organization_id", "event_id"));`,
    );

    this.addSql(
      `alter table "event_poll_acks" add constraint "event_poll_acks_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
    this.addSql(
      `alter table "event_poll_acks" add constraint "event_poll_acks_event_id_foreign" foreign key ("event_id") references "provisioning_events" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "event_poll_acks" cascade;`);
  }
}
