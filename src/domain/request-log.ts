import { USER_CHANGE_RULES } from './policy-user-rules';

/**
 * The request log: one entry per SCIM request, and one per operation of a Bulk request,
 * kept so that an administrator can see what the identity provider sent, what Roster
 * answered, which rule refused it and what a write changed. Entries belong to one
 * organization and are read only through it (`RequestLogReader`); a request that did
 * not authenticate belongs to none.
 *
 * The writing side (src/requestlog/) fills it after the response, in batches; the
 * store (src/orm/request-log.repository.ts) implements both ports below.
 */

/** Which identity provider sent a request, from its User-Agent. */
export type RequestClient = 'okta' | 'entra' | 'other';
export const REQUEST_CLIENTS: readonly RequestClient[] = ['okta', 'entra', 'other'];

/** One attribute a successful write changed: its value before and after (absent: not set; `[changed]`: a secret). */
export interface AttributeChange {
  attribute: string;
  before?: unknown;
  after?: unknown;
}

/** What one write did to one resource, as the domain worked it out. */
export interface ResourceChange {
  resourceType: 'User' | 'Group';
  resourceId: string;
  action: 'created' | 'updated' | 'deleted';
  changes: AttributeChange[];
}

/**
 * Where a service reports the changes it committed (an actor may carry one: the SCIM
 * layer gives each request, and each Bulk operation, its own). The report comes from
 * the diff the service already made to authorize and store the change; nothing is
 * diffed twice.
 */
export interface ChangeJournal {
  changed(change: ResourceChange): void;
}

/** The DOMAIN.md rule behind a refusal: its stable code, and when a rule of the book refused, its name and words. */
export interface RefusalRule {
  code: string;
  /** The rule's name and number in DOMAIN.md, e.g. `2. no acting upward`. */
  rule?: string;
  /** The rule in words. */
  says?: string;
}

/** An entry as it is listed: everything but the bodies and the changes. */
export interface RequestLogSummary {
  id: string;
  time: Date;
  organizationId: string | null;
  requestId: string;
  /** 1-based position of a Bulk operation in its request; undefined for a request. */
  operation?: number;
  credentialId: string | null;
  credentialName: string | null;
  client: RequestClient;
  userAgent: string | null;
  method: string;
  path: string;
  filter: string | null;
  status: number;
  scimType: string | null;
  detail: string | null;
  /** The refusal's rule; null on success. */
  rule: RefusalRule | null;
  durationMs: number;
  resourceIds: string[];
}

/** An entry in full: the redacted, capped bodies (text, JSON when they were) and the changes of a successful write. */
export interface RequestLogEntry extends RequestLogSummary {
  requestBody: string | null;
  responseBody: string | null;
  changes: ResourceChange[];
}

/** What a list asks for: entries at or after `since`, of a status or class, from a client, newest first, at most `limit`. */
export interface RequestLogQuery {
  since?: Date;
  /** An exact status (403) or a class: 400 to 499 is `{ min: 400, max: 499 }`. */
  status?: { min: number; max: number };
  client?: RequestClient;
  limit: number;
}

/**
 * Reading an organization's request log: the port the CLI and the admin console use.
 * Both methods are scoped by organization: another organization's entry is not found.
 */
export interface RequestLogReader {
  list(organizationId: string, query: RequestLogQuery): Promise<RequestLogSummary[]>;
  get(organizationId: string, id: string): Promise<RequestLogEntry | null>;
}

/** An entry ready to store: bodies already redacted and capped. */
export interface NewRequestLogEntry {
  time: Date;
  organizationId: string | null;
  requestId: string;
  operation?: number;
  credentialId: string | null;
  client: RequestClient;
  userAgent: string | null;
  method: string;
  path: string;
  filter: string | null;
  status: number;
  scimType: string | null;
  detail: string | null;
  /** The refusal's dotted code; null on success. */
  errorCode: string | null;
  durationMs: number;
  resourceIds: string[];
  changes: ResourceChange[];
  requestBody: string | null;
  responseBody: string | null;
}

/**
 * An entry made ready for its batch: a NewRequestLogEntry whose time is ISO text and whose
 * JSON fields (resourceIds, changes) are serialised already, so that an entry that cannot
 * be is dropped alone, not with its batch. The store sends the rest of its fields as they are.
 */
export interface EncodedRequestLogEntry extends Omit<NewRequestLogEntry, 'time' | 'resourceIds' | 'changes'> {
  time: string;
  resourceIds: string;
  changes: string;
}

export function encodeRequestLogEntry(entry: NewRequestLogEntry): EncodedRequestLogEntry {
  return { ...entry, time: entry.time.toISOString(), resourceIds: JSON.stringify(entry.resourceIds), changes: JSON.stringify(entry.changes) };
}

/**
 * Whether an entry is kept as a successful read, one of its organization's reads of a
 * batch (request_read_batches, src/orm/request-read-batches.ts), rather than as a row of
 * its own: a GET of an organization, answered 2xx, no Bulk operation, no refusal, no
 * request body, no change. Such an entry has nothing but what READ_FIELDS holds. The
 * writer asks it of an entry as recorded (its fast path, `encodedRead`), the store of one
 * made ready for its batch: one rule, whoever asks.
 */
export function keptAsRead(
  entry: Pick<NewRequestLogEntry, 'organizationId' | 'method' | 'status' | 'operation' | 'errorCode'>,
  sent: boolean,
  changed: boolean,
): boolean {
  return (
    entry.organizationId !== null &&
    entry.method === 'GET' &&
    entry.status >= 200 &&
    entry.status < 300 &&
    entry.operation === undefined &&
    entry.errorCode === null &&
    !sent &&
    !changed
  );
}

/**
 * A successful read's fields as its batch stores them, in the order of its positional
 * JSON array: the store keeps an organization's reads of a batch as one row
 * (src/orm/request-read-batches.ts), and a read keeps nothing else (no request body, no
 * changes, no refusal; method GET).
 */
export const READ_FIELDS = [
  'time',
  'requestId',
  'credentialId',
  'client',
  'userAgent',
  'path',
  'filter',
  'status',
  'durationMs',
  'resourceIds',
  'responseBody',
] as const;

export type ReadFields = Pick<EncodedRequestLogEntry, (typeof READ_FIELDS)[number]>;

/** One read as its positional JSON array (resourceIds is JSON already; the text fields were made storable by the writer, the request id is Roster's). */
export function encodeRead(e: ReadFields): string {
  return `[${JSON.stringify(e.time)},${JSON.stringify(e.requestId)},${JSON.stringify(e.credentialId)},${JSON.stringify(e.client)},${JSON.stringify(
    e.userAgent,
  )},${JSON.stringify(e.path)},${JSON.stringify(e.filter)},${e.status},${Number.isFinite(e.durationMs) ? e.durationMs : 0},${e.resourceIds},${JSON.stringify(e.responseBody)}]`;
}

/**
 * A successful read made ready by the writer without the entry a row needs: its
 * positional array (`encodeRead`) and what its batch's row is kept by. The store puts it
 * with its organization's other reads of the batch, in its place among the batch's entries.
 */
export interface EncodedRead {
  organizationId: string;
  time: string;
  client: RequestClient;
  status: number;
  read: string;
}

/** What a batch holds: entries stored as rows (or, when they are successful reads, re-encoded as one), and reads encoded already. */
export type EncodedForBatch = EncodedRequestLogEntry | EncodedRead;

export function isEncodedRead(entry: EncodedForBatch): entry is EncodedRead {
  return 'read' in entry;
}

/** The store behind the log: batches in, retention out, and the reads. */
export interface RequestLogStore extends RequestLogReader {
  /** Stores the entries in one statement. */
  insert(entries: readonly EncodedForBatch[]): Promise<void>;
  /** Deletes entries older than `before`, and each organization's beyond its newest `maxRows`; returns how many. */
  prune(before: Date, maxRows: number): Promise<number>;
  /** Deletes the entries of these organizations (null: the unauthenticated) beyond each one's newest `maxRows`; returns how many. */
  pruneBeyond(maxRows: number, organizationIds: readonly (string | null)[]): Promise<number>;
  /** Instance level (the operator's CLI): the entries of requests that did not authenticate, newest first. */
  listUnauthenticated(query: RequestLogQuery): Promise<RequestLogSummary[]>;
  /** Instance level (the operator's CLI): any entry by id, whichever organization it belongs to. */
  find(id: string): Promise<RequestLogEntry | null>;
}

/** A refusal's rule as people read it (the CLI's `refused by:` line and the console's Requests page): `code (rule name: words)`. */
export function refusalInWords(rule: RefusalRule): string {
  return `${rule.code}${rule.rule ? ` (rule ${rule.rule}: ${rule.says})` : ''}`;
}

/** The refusals whose rule is not in the user rule table, by code (a code ending in `*` is a prefix). */
const OTHER_RULES: readonly { codes: readonly string[]; rule: string; says: string }[] = [
  {
    codes: ['license.*'],
    rule: '10. licenses',
    says: "creating or re-typing a user beyond the organization's limit for that account type is refused; API users need the " + 'API-user license flag',
  },
  {
    codes: ['user.user_name_taken'],
    rule: '13. tenancy',
    says: 'userName is unique across the instance (case-insensitive); a collision names no other organization and leaks none of its data',
  },
  {
    codes: ['user.password_policy'],
    rule: '9. new accounts',
    says: 'an initial password must meet the password policy and is stored only as an argon2id hash',
  },
];

/** The rule behind a refusal's code: a rule of the book when one refuses with it, else the code alone. */
export function refusalRule(code: string): RefusalRule {
  const matches = (codes: readonly string[]) => codes.some((c) => (c.endsWith('*') ? code.startsWith(c.slice(0, -1)) : c === code));
  const found = USER_CHANGE_RULES.find((r) => matches(r.codes)) ?? OTHER_RULES.find((r) => matches(r.codes));
  return found ? { code, rule: found.rule, says: found.says } : { code };
}
