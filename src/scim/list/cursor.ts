import { isUtf8 } from 'node:buffer';
import { createHash } from 'node:crypto';
import type { ListQuery, Page, PageKey } from '../../domain/ports';
import { isUuid } from '../../domain/ids';
import { invalidCursor } from '../http/errors';
import type { QueryParams } from './search';

/**
 * Cursor paging (RFC 9865). In the default order a cursor holds the keyset key of the
 * last row served, so the next page is an index range scan however deep it is; with
 * sortBy it holds an offset. Either way it is bound to the filter and sort it was
 * made for: used with others it is `invalidCursor`.
 */
interface CursorState {
  v: 1;
  f: string;
  after?: PageKey;
  offset?: number;
  /** totalResults as counted for the first page, so later pages need not count again. */
  t?: number;
}

export interface CursorContext {
  fingerprint: string;
  /** Rows before this page (for offset cursors). */
  offset: number;
}

export function fingerprint(params: QueryParams): string {
  const parts = ['filter', 'sortBy', 'sortOrder'].map((k) => (typeof params[k] === 'string' ? (params[k] as string) : ''));
  return createHash('sha256').update(parts.join('\u0000')).digest('base64url').slice(0, 16);
}

/** `why` says which check failed (`cursor.not_issued.<why>` in the log); the client is told only that the cursor is not ours. */
const notIssued = (why: string) => invalidCursor(`cursor.not_issued.${why}`, 'the cursor is not one this server issued');

/** Longer than any cursor this server issues (about 200 characters). */
const MAX_CURSOR_LENGTH = 1024;
const BASE64URL = /^[A-Za-z0-9_-]*$/;
const FINGERPRINT = /^[A-Za-z0-9_-]{16}$/;
/** Positions and totals are PostgreSQL integers (`count(*)::int`). */
const MAX_POSITION = 2 ** 31 - 1;
/** `created_at::text` as PostgreSQL writes a timestamptz (DateStyle ISO), e.g. `2026-01-02 03:04:05.123456+00`. */
const PG_TIMESTAMPTZ = /^(\d{4})-(\d{2})-(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.\d{1,6})?[+-](\d{2})(?::(\d{2})(?::(\d{2}))?)?$/;

const isRecord = (value: unknown): value is Record<string, unknown> => value !== null && typeof value === 'object' && !Array.isArray(value);
const isPosition = (value: unknown): value is number => typeof value === 'number' && Number.isInteger(value) && value >= 0 && value <= MAX_POSITION;

/** Whether `text` is a timestamp as PostgreSQL writes one and reads back: year 1-9999, a real day and time, offset up to ±15:59:59. */
function isTimestamp(text: string): boolean {
  const m = PG_TIMESTAMPTZ.exec(text);
  if (!m) return false;
  const [year, month, day, hour, minute, second, offsetHours, offsetMinutes = 0, offsetSeconds = 0] = m
    .slice(1)
    .map((n) => (n === undefined ? undefined : Number(n))) as number[];
  const date = new Date(0);
  date.setUTCFullYear(year, month - 1, day);
  const realDay = year >= 1 && date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day;
  return realDay && hour <= 23 && minute <= 59 && second <= 59 && offsetHours <= 15 && offsetMinutes <= 59 && offsetSeconds <= 59;
}

/**
 * Reads a cursor back. Cursors are not signed (so any instance reads another's without
 * a shared key), so every field is checked for type, format and range before it
 * reaches SQL: a forged or damaged cursor is `400 invalidCursor`, never a query error.
 */
export function decodeCursor(text: string, expected: string): { after?: PageKey; offset?: number; total?: number } {
  if (text.length > MAX_CURSOR_LENGTH || !BASE64URL.test(text)) throw notIssued('encoding');
  const bytes = Buffer.from(text, 'base64url');
  if (!isUtf8(bytes)) throw notIssued('utf8');
  let state: unknown;
  try {
    state = JSON.parse(bytes.toString('utf8'));
  } catch {
    throw notIssued('json');
  }
  if (!isRecord(state) || state.v !== 1 || typeof state.f !== 'string' || !FINGERPRINT.test(state.f)) throw notIssued('header');
  if (Object.keys(state).some((key) => !['v', 'f', 'after', 'offset', 't'].includes(key))) throw notIssued('fields');
  if (state.f !== expected) throw invalidCursor('cursor.query_mismatch', 'the cursor was issued for another filter or sort order');
  if (state.t !== undefined && !isPosition(state.t)) throw notIssued('total');
  const total = state.t !== undefined ? { total: state.t } : {};
  const { after, offset } = state;
  if (after !== undefined && offset === undefined) {
    if (!isRecord(after) || Object.keys(after).length !== 2) throw notIssued('key_shape');
    const { createdAt, id } = after;
    if (typeof createdAt !== 'string' || !isTimestamp(createdAt) || typeof id !== 'string' || !isUuid(id)) throw notIssued('key_value');
    return { after: { createdAt, id }, ...total };
  }
  if (offset !== undefined && after === undefined && isPosition(offset)) return { offset, ...total };
  throw notIssued('position');
}

function encode(state: CursorState): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

/** The cursor of the page after this one (which showed `shown` resources), or undefined on the last page. */
export function nextCursor(context: CursorContext, query: ListQuery, page: Pick<Page<unknown>, 'total' | 'next'>, shown: number): string | undefined {
  if (!page.next) return undefined;
  if (query.sortBy) return encode({ v: 1, f: context.fingerprint, offset: context.offset + shown, t: page.total });
  return encode({ v: 1, f: context.fingerprint, after: page.next, t: page.total });
}
