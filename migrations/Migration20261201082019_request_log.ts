import { Migration } from '@mikro-orm/migrations';

export class Migration20261201082019_request_log extends Migration {
  override async up(): Promise<void> {
    this.addSql(
      `create table "request_log" ("id" bigserial primary key, "organization_id" uuid null, "created_at" timestamptz not null, "request_id" text not null, "operation" int null, "credential_id" uuid null, "client" text not null, "user_agent" text null, "method" text not null, "path" text not null, "filter" text null, "status" smallint not null, "scim_type" text null, "detail" text null, "error_code" text null, "duration_ms" real not null, "resource_ids" jsonb not null, "changes" jsonb not null, "request_body" text null, "response_body" text null);`,
    );
    this.addSql(`create index "request_log_organization_id_index" on "request_log" ("organization_id", "id");`);
    this.addSql(`create index "request_log_created_at_index" on "request_log" ("created_at");`);

    this.addSql(
      `alter table "request_log" add constraint "request_log_organization_id_foreign" foreign key ("organization_id") references "organizations" ("id") on update cascade on delete cascade;`,
    );
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "request_log" cascade;`);
  }
}
