import { Migration } from '@mikro-orm/migrations';

export class Migration20261202154500_request_read_batches extends Migration {
  override async up(): Promise<void> {
    // Successful reads, one row per organization per batch (docs/benchmarks.md, #14): their ids come from request_log's sequence.
    this.addSql(
      `create table "request_read_batches" ("organization_id" uuid not null, "last_id" bigint not null, "first_id" bigint not null, "entries" int not null, "created_at" timestamptz not null, "ids" bigint[] not null, "reads" text not null, constraint "request_read_batches_pkey" primary key ("organization_id", "last_id"));`,
    );
    this.addSql(`create index "request_read_batches_created_at_index" on "request_read_batches" using brin ("created_at");`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "request_read_batches" cascade;`);
  }
}
