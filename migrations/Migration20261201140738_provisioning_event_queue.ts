import { Migration } from '@mikro-orm/migrations';

export class Migration20261201140738_provisioning_event_queue extends Migration {
  override async up(): Promise<void> {
    // Writers append their events here, with no lock; the sequencer moves the committed rows to provisioning_events.
    this.addSql(
      `create table "provisioning_event_queue" ("id" bigserial primary key, "organization_id" uuid not null, "resource_type" text not null, "resource_id" uuid not null, "event_uris" jsonb not null, "attributes" jsonb not null, "txn" text null, "created_at" timestamptz not null default clock_timestamp());`,
    );
    // Rows only come from the queue, whose rows come from writes of existing organizations; Roster never deletes one.
    this.addSql(`alter table "provisioning_events" drop constraint "provisioning_events_organization_id_foreign";`);
  }

  override async down(): Promise<void> {
    // Events still queued are moved to the outbox first (in queue order), not dropped with the queue.
    this.addSql(
      `insert into "provisioning_events" ("organization_id", "resource_type", "resource_id", "event_uris", "attributes", "txn", "created_at") select "organization_id", "resource_type", "resource_id", "event_uris", "attributes", "txn", "created_at" from "provisioning_event_queue" order by "id";`,
    );
    this.addSql(`drop table if exists "provisioning_event_queue" cascade;`);
    this.addSql(
      `alter table "provisioning_events" add constraint "provisioning_events_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
  }
}
