import type { QueryParams } from './search';
import type { AttributePath } from '../domain/filter';
import type { ListQuery } from '../domain/ports';
import { decodeCursor, fingerprint, type CursorContext } from './cursor';
import { badRequest } from './errors';
import { parseAttributePath, parseFilter } from './filter-parser';
import { MAX_RESULTS } from './limits';

export const DEFAULT_COUNT = 100;

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest('invalidValue', `${name} must be given once`);
  return value;
}

function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  if (!/^\s*-?\d{1,15}\s*$/.test(value)) throw badRequest('invalidValue', `${name} must be an integer`);
  return Number(value);
}

/** Parses `a.b` or `urn:...:attr.sub` (sortBy, attributes): a bad one is 400 invalidPath. */
export function attributePath(text: string, parameter: string): AttributePath {
  try {
    // `emails[type eq "work"]` in attributes= (Microsoft's test suite) means `emails`.
    return parseAttributePath(text.trim().replace(/\[.*\]$/, ''));
  } catch {
    throw badRequest('invalidPath', `${parameter}: "${text}" is not an attribute path`);
  }
}

/**
 * A list request: the query, and the cursor context when the client pages by cursor
 * (RFC 9865: `cursor` empty to start, then each response's `nextCursor`).
 */
export function listRequestFrom(params: QueryParams): { query: ListQuery; cursor?: CursorContext } {
  const query = listQueryFrom(params);
  const cursorText = single(params.cursor, 'cursor');
  if (cursorText === undefined) return { query };
  if (params.startIndex !== undefined) throw badRequest('invalidValue', 'startIndex and cursor cannot be used together');
  const context: CursorContext = { fingerprint: fingerprint(params), offset: 0 };
  if (cursorText === '') return { query: { ...query, startIndex: 1 }, cursor: context };
  const position = decodeCursor(cursorText, context.fingerprint);
  const known = position.total !== undefined ? { knownTotal: position.total } : {};
  if (position.after) return { query: { ...query, startIndex: 1, after: position.after, ...known }, cursor: context };
  const offset = position.offset ?? 0;
  return { query: { ...query, startIndex: offset + 1, ...known }, cursor: { ...context, offset } };
}

/**
 * The collection query of a GET: filter, startIndex (1-based; below 1 means 1),
 * count (capped at maxResults; 0 asks only for totalResults), sortBy and sortOrder.
 */
export function listQueryFrom(query: QueryParams): ListQuery {
  const filterText = single(query.filter, 'filter');
  const startIndex = Math.max(1, integer(single(query.startIndex, 'startIndex'), 'startIndex') ?? 1);
  const count = Math.min(MAX_RESULTS, Math.max(0, integer(single(query.count, 'count'), 'count') ?? DEFAULT_COUNT));
  const sortBy = single(query.sortBy, 'sortBy');
  const sortOrder = single(query.sortOrder, 'sortOrder')?.toLowerCase();
  if (sortOrder !== undefined && sortOrder !== 'ascending' && sortOrder !== 'descending') {
    throw badRequest('invalidValue', 'sortOrder must be "ascending" or "descending"');
  }
  return {
    ...(filterText !== undefined && filterText.trim() !== '' ? { filter: parseFilter(filterText) } : {}),
    startIndex,
    count,
    ...(sortBy ? { sortBy: { attribute: attributePath(sortBy, 'sortBy'), descending: sortOrder === 'descending' } } : {}),
  };
}
