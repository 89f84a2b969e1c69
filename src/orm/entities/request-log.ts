import { EntitySchema } from '@mikro-orm/core';

export interface RequestLogEntity {
  id: string;
  organizationId: string | null;
  createdAt: Date;
  requestId: string;
  operation: number | null;
  credentialId: string | null;
  client: string;
  userAgent: string | null;
  method: string;
  path: string;
  filter: string | null;
  status: number;
  scimType: string | null;
  detail: string | null;
  errorCode: string | null;
  durationMs: number;
  resourceIds: string[];
  changes: unknown[];
  requestBody: string | null;
  responseBody: string | null;
}

/**
 * The request log (src/requestlog/): a row per SCIM request and per Bulk operation,
 * written after the response in batches. Bodies are stored redacted and capped at 64 KB.
 * `organization_id` is null for a request that did not authenticate. No foreign keys, to the
 * organization or the credential: the log outlives what it names, and a key checked on
 * every row of every batch (a share lock on the organization's row, taken alongside the
 * user writes that lock it too) cost more than the row itself (docs/benchmarks.md, #14).
 * The batch INSERT stores only entries of organizations that exist. Pruned by age and by
 * a per-organization cap.
 */
export const RequestLog = new EntitySchema<RequestLogEntity>({
  name: 'RequestLog',
  tableName: 'request_log',
  indexes: [
    { name: 'request_log_organization_id_index', properties: ['organizationId', 'id'] },
    { name: 'request_log_created_at_index', properties: ['createdAt'], type: 'brin' },
  ],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    organizationId: { type: 'uuid', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    requestId: { type: 'text' },
    operation: { type: 'integer', nullable: true },
    credentialId: { type: 'uuid', nullable: true },
    client: { type: 'text' },
    userAgent: { type: 'text', nullable: true },
    method: { type: 'text' },
    path: { type: 'text' },
    filter: { type: 'text', nullable: true },
    status: { type: 'smallint' },
    scimType: { type: 'text', nullable: true },
    detail: { type: 'text', nullable: true },
    errorCode: { type: 'text', nullable: true },
    durationMs: { type: 'real' },
    resourceIds: { type: 'json', columnType: 'jsonb' },
    changes: { type: 'json', columnType: 'jsonb' },
    requestBody: { type: 'text', nullable: true },
    responseBody: { type: 'text', nullable: true },
  },
});

export interface RequestReadBatchEntity {
  organizationId: string;
  lastId: string;
  firstId: string;
  entries: number;
  createdAt: Date;
  clients: string[];
  statuses: number[];
  ids: string[];
  reads: string;
}

/**
 * Successful reads (a GET answered 2xx), which are most of a sync's requests: one row per
 * organization per batch of the writer, not one per request. `ids` are the entries' ids,
 * taken from request_log's sequence so that the two tables' entries interleave in one
 * order, within one block of 512 ids the batch took; `reads` is the entries as one JSON
 * array, each entry a positional array (src/orm/request-read-batches.ts). `created_at` is
 * the newest entry's time: a batch is pruned whole. `clients` and `statuses` are the
 * distinct ones among its reads, so that a filtered list skips the batches with none.
 * Stored this way, a read costs PostgreSQL a third to a quarter of what a row of its own
 * did (docs/benchmarks.md, #14).
 */
export const RequestReadBatch = new EntitySchema<RequestReadBatchEntity>({
  name: 'RequestReadBatch',
  tableName: 'request_read_batches',
  indexes: [{ name: 'request_read_batches_created_at_index', properties: ['createdAt'], type: 'brin' }],
  properties: {
    organizationId: { type: 'uuid', primary: true },
    lastId: { type: 'bigint', primary: true },
    firstId: { type: 'bigint' },
    entries: { type: 'integer' },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    clients: { type: 'string[]', columnType: 'text[]' },
    statuses: { type: 'number[]', columnType: 'smallint[]' },
    ids: { type: 'string[]', columnType: 'bigint[]' },
    reads: { type: 'text' },
  },
});
