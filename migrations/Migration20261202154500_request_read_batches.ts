import { Migration } from '@mikro-orm/migrations';

export class Migration20261202154500_request_read_batches extends Migration {
  override async up(): Promise<void> {
    // Successful reads, one row per organization per batch (docs/benchmarks.md, #14): their ids come from request_log's sequence.
    this.addSql(
      `create table "request_read_batches" ("organization_id" uuid not null, "last_id" bigint not null, "first_id" bigint not null, "entries" int not null, "created_at" timestamptz not null, "clients" text[] not null, "statuses" smallint[] not null, "ids" bigint[] not null, "reads" text not null, constraint "request_read_batches_pkey" primary key ("organization_id", "last_id"));`,
    );
    this.addSql(`create index "request_read_batches_created_at_index" on "request_read_batches" using brin ("created_at");`);
    // Each batch of the writer takes one block of 512 ids (src/orm/request-read-batches.ts, ID_BLOCK): a batch's ids lie
    // within 512 of its last, and two batches' never interleave, whoever wrote them.
    this.addSql(`alter sequence "request_log_id_seq" increment by 512;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "request_read_batches" cascade;`);
    this.addSql(`alter sequence "request_log_id_seq" increment by 1;`);
  }
}
