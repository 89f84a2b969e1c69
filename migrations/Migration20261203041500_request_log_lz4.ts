import { Migration } from '@mikro-orm/migrations';

/**
 * The request log's large texts compressed with lz4 rather than PostgreSQL's default,
 * pglz, where the server has lz4 (PostgreSQL 14 and later built with it, as Debian's
 * and the official images are; the embedded database is not, and keeps pglz). Measured
 * by bench/request-log-insert.ts (docs/benchmarks.md, #14): a batch's reads cost the
 * writer's backend about 1.0 µs a read instead of 2.7, and a create's row 25-34 µs
 * instead of 33-36 (two runs), in a quarter of the space (pglz left a create's bodies
 * uncompressed and moved them out of line).
 * Only values written from now on: existing ones stay as they are until pruned.
 */
const LOG_TEXTS = [
  ['request_log', 'request_body'],
  ['request_log', 'response_body'],
  ['request_log', 'changes'],
  ['request_read_batches', 'reads'],
] as const;

const WHEN_LZ4 = `exists (select 1 from pg_settings where name = 'default_toast_compression' and 'lz4' = any(enumvals))`;

export class Migration20261203041500_request_log_lz4 extends Migration {
  override async up(): Promise<void> {
    this.addSql(setCompression('lz4'));
  }

  override async down(): Promise<void> {
    this.addSql(setCompression('default'));
  }
}

function setCompression(method: 'lz4' | 'default'): string {
  const alters = LOG_TEXTS.map(([table, column]) => `alter table "${table}" alter column "${column}" set compression ${method};`).join(' ');
  return `do $$ begin if ${WHEN_LZ4} then ${alters} end if; end $$;`;
}
