import { createHash } from 'node:crypto';
import type { ListQuery, Page, PageKey } from '../domain/ports';
import { ScimError } from './errors';
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

const invalidCursor = (detail: string) => new ScimError(400, 'invalidCursor', detail);

export function decodeCursor(text: string, expected: string): { after?: PageKey; offset?: number; total?: number } {
  let state: CursorState;
  try {
    state = JSON.parse(Buffer.from(text, 'base64url').toString('utf8')) as CursorState;
  } catch {
    throw invalidCursor('the cursor is not one this server issued');
  }
  if (!state || state.v !== 1 || typeof state.f !== 'string') throw invalidCursor('the cursor is not one this server issued');
  if (state.f !== expected) throw invalidCursor('the cursor was issued for another filter or sort order');
  const total = Number.isInteger(state.t) && (state.t as number) >= 0 ? { total: state.t } : {};
  if (state.after && typeof state.after.createdAt === 'string' && typeof state.after.id === 'string') {
    return { after: { createdAt: state.after.createdAt, id: state.after.id }, ...total };
  }
  if (Number.isInteger(state.offset) && (state.offset as number) >= 0) return { offset: state.offset, ...total };
  throw invalidCursor('the cursor is not one this server issued');
}

function encode(state: CursorState): string {
  return Buffer.from(JSON.stringify(state), 'utf8').toString('base64url');
}

/** The cursor of the page after this one (which showed `shown` resources), or undefined on the last page. */
export function nextCursor(
  context: CursorContext,
  query: ListQuery,
  page: Pick<Page<unknown>, 'total' | 'next'>,
  shown: number,
): string | undefined {
  if (!page.next) return undefined;
  if (query.sortBy) return encode({ v: 1, f: context.fingerprint, offset: context.offset + shown, t: page.total });
  return encode({ v: 1, f: context.fingerprint, after: page.next, t: page.total });
}
