import { encodeRead, type EncodedRead, keptAsRead, type NewRequestLogEntry, type RequestClient, type ResourceChange } from '../domain/request-log';
import { clientOf } from './client';
import { readSummary, type ReadResources } from './read-summary';
import { BODY_CAP_BYTES, redactText, redactValue, storable, storedBody } from './redact';

/**
 * A request log entry between its request and its batch: as the SCIM layer hands it to
 * the writer (RawEntry, references to what the request made), as the writer holds it
 * (holdable, sizeOf) and as its batch stores it (stored, or a successful read's
 * positional array, encodedRead). The writer (writer.ts) does the holding and batching.
 */
/** A body as the request left it: the parsed JSON value, or text (a response as sent, a request body that did not parse). */
export interface RawBody {
  value?: unknown;
  text?: string;
  /** Text Roster wrote (a response): it never holds a password. */
  ours?: boolean;
  /**
   * `kept` is a successful read's summary line (`readResponse` made it, with the read's
   * ids, when the response had gone): the writer may encode the entry as a read at once.
   */
  read?: boolean;
  /** A parsed value's size as received (the decoded body's bytes), for the writer's byte bound; unknown: stored at once. */
  bytes?: number;
  /** The body's stored form, made when the entry was recorded (a large body is redacted and capped then, not held). */
  kept?: string | null;
}

/**
 * A body larger than this (or a parsed one of unknown size, such as a Bulk operation's) is
 * redacted and capped when recorded, as it would be in its batch, and only its stored form
 * (at most 64 KB) is held: the entries held stay bounded by what the log stores, not by
 * what clients send. Most SCIM bodies are far smaller and wait for the batch as they are.
 */
const HELD_AS_IS_BYTES = 16 * 1024;
/** A parsed body takes more memory than its JSON: counted at this many times its size as received. */
const PARSED_OVERHEAD = 3;

/**
 * One request (or Bulk operation) as the SCIM layer hands it over when the response has
 * gone: references to its bodies, not yet redacted. The writer redacts, caps and
 * serialises it with its batch (the fields it shares with NewRequestLogEntry pass as they are).
 */
export interface RawEntry extends Omit<NewRequestLogEntry, 'client' | 'userAgent' | 'requestBody' | 'responseBody'> {
  /** The User-Agent header as sent (the writer tells the client from it). */
  userAgent: string | undefined;
  requestBody: RawBody;
  responseBody: RawBody;
  /** How much of the response body to keep (BODY_CAP_BYTES). */
  responseCap: number;
}

/** Whether a body is held as it is until its batch (see HELD_AS_IS_BYTES). */
function heldAsIs(body: RawBody): boolean {
  if (body.kept !== undefined) return true;
  if (body.value !== undefined) return body.bytes !== undefined && body.bytes <= HELD_AS_IS_BYTES;
  return (body.text?.length ?? 0) <= HELD_AS_IS_BYTES;
}

/** The entry to hold: as it is, or with its large bodies already in their stored form. */
export function holdable(entry: RawEntry): RawEntry {
  const request = heldAsIs(entry.requestBody);
  const response = heldAsIs(entry.responseBody);
  if (request && response) return entry;
  const held: RawEntry = { ...entry };
  if (!request) held.requestBody = { kept: storedRequest(entry.requestBody) };
  if (!response) held.responseBody = { kept: storedResponse(entry) };
  return held;
}

/** What an entry held counts against the byte bound: its bodies' sizes and a little more for the rest. */
export function sizeOf(entry: RawEntry): number {
  return 256 + bodySize(entry.requestBody) + bodySize(entry.responseBody);
}

function bodySize(body: RawBody): number {
  if (body.kept !== undefined) return body.kept?.length ?? 0;
  if (body.value !== undefined) return (body.bytes ?? 0) * PARSED_OVERHEAD;
  return body.text?.length ?? 0;
}

/** Short text fields: redacted, storable, at most `max` characters. */
function short(text: string | null | undefined, max: number): string | null {
  if (text === null || text === undefined) return null;
  return storable(redactText(text.length > max ? `${text.slice(0, max)}…` : text));
}

/** The User-Agent last seen, as the log stores it and the client it names: a sync sends one agent for all its requests. */
let lastAgent: { sent: string | undefined; client: RequestClient; stored: string | null } = { sent: undefined, client: 'other', stored: null };
function agentOf(userAgent: string | undefined): { client: RequestClient; stored: string | null } {
  if (userAgent !== lastAgent.sent) lastAgent = { sent: userAgent, client: clientOf(userAgent), stored: short(userAgent, 256) };
  return lastAgent;
}

/**
 * A successful read's response as the log keeps it (its summary line, which gives the
 * response's size in bytes as sent) and the ids it returned (`known`: as the route
 * handed them over): made when it has gone, so its text is not held for the batch.
 */
export function readResponse(text: string, bytes: number, known?: ReadResources): { body: RawBody; ids: string[] } {
  const read = readSummary(text, bytes, known);
  return { body: { kept: read.summary, read: true }, ids: read.ids };
}

/**
 * A successful read (keptAsRead, its response summarised by readResponse) encoded
 * straight into its batch's positional array: what `stored`, `encodeRequestLogEntry` and
 * the store's `encodeRead` make of it, without the two entry objects between. Anything
 * else: undefined (it goes the way of a row, where the store asks keptAsRead again).
 */
export function encodedRead(entry: RawEntry): EncodedRead | undefined {
  const { responseBody: response, organizationId } = entry;
  if (!response.read || response.kept === undefined || organizationId === null) return undefined;
  if (!keptAsRead(entry, sent(entry.requestBody), entry.changes.length > 0)) return undefined;
  const agent = agentOf(entry.userAgent);
  const time = entry.time.toISOString();
  const read = encodeRead({
    time,
    requestId: entry.requestId,
    credentialId: entry.credentialId,
    client: agent.client,
    userAgent: agent.stored,
    path: storedPath(entry),
    filter: storedFilter(entry),
    status: entry.status,
    durationMs: storedDuration(entry),
    resourceIds: JSON.stringify(entry.resourceIds),
    responseBody: response.kept,
  });
  return { organizationId, time, client: agent.client, status: entry.status, read };
}

/** A raw entry as stored: the client told, bodies redacted and capped, text made storable. */
export function stored(entry: RawEntry): NewRequestLogEntry {
  const agent = agentOf(entry.userAgent);
  return {
    time: entry.time,
    organizationId: entry.organizationId,
    requestId: entry.requestId,
    ...(entry.operation !== undefined ? { operation: entry.operation } : {}),
    credentialId: entry.credentialId,
    client: agent.client,
    userAgent: agent.stored,
    method: short(entry.method, 16) ?? '',
    path: storedPath(entry),
    filter: storedFilter(entry),
    status: entry.status,
    scimType: entry.scimType,
    detail: short(entry.detail, 4_096),
    errorCode: entry.errorCode,
    durationMs: storedDuration(entry),
    resourceIds: entry.resourceIds,
    // The values a write changed are the user's data, and redacted like a body.
    changes: entry.changes.length === 0 ? [] : (redactValue(entry.changes) as ResourceChange[]),
    requestBody: storedRequest(entry.requestBody),
    responseBody: storedResponse(entry),
  };
}

/** The fields a read and a row store alike (encodedRead, stored). */
function storedPath(entry: RawEntry): string {
  return short(entry.path, 2_048) ?? '';
}

function storedFilter(entry: RawEntry): string | null {
  return short(entry.filter, 4_096);
}

function storedDuration(entry: RawEntry): number {
  return Math.round(entry.durationMs * 10) / 10;
}

/** Whether a request body was sent: whether `storedRequest` stores one (without redacting it to find out). */
function sent(body: RawBody): boolean {
  return body.value !== undefined || (body.kept !== undefined && body.kept !== null) || (body.text !== undefined && body.text !== '');
}

/** A request body as stored: its kept form, or redacted and capped now. */
function storedRequest(body: RawBody): string | null {
  return body.kept !== undefined ? body.kept : storedBody(body, BODY_CAP_BYTES);
}

/** A response body as stored: its kept form, or redacted and capped now. */
function storedResponse(entry: RawEntry): string | null {
  const r = entry.responseBody;
  return r.kept !== undefined ? r.kept : storedBody(r, entry.responseCap);
}
