import type { QueryParams } from './search';
import type { AttributePath } from '../../domain/filter';
import type { ListQuery } from '../../domain/ports';
import { decodeCursor, fingerprint, type CursorContext } from './cursor';
import { invalidPath, invalidValue } from '../http/errors';
import { parseAttributePath, parseFilter } from '../filter/filter-parser';
import { MAX_RESULTS } from '../http/limits';

export const DEFAULT_COUNT = 100;

function single(value: unknown, name: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalidValue('query.parameter_repeated', `${name} must be given once`);
  return value;
}

/**
 * The largest startIndex or count taken as written: a larger one (any number of
 * digits) means the same, a position past every collection, and stays exact in
 * JavaScript and in PostgreSQL's bigint.
 */
export const MAX_INDEX = Number.MAX_SAFE_INTEGER;

/** A decimal integer, of any length, clamped to ±MAX_INDEX; anything else is 400 invalidValue. */
function integer(value: string | undefined, name: string): number | undefined {
  if (value === undefined || value.trim() === '') return undefined;
  const match = /^\s*([+-]?)0*(\d+)\s*$/.exec(value);
  if (!match) throw invalidValue('query.integer_invalid', `${name} must be an integer`);
  const magnitude = match[2].length > 16 ? MAX_INDEX : Math.min(Number(match[2]), MAX_INDEX);
  return match[1] === '-' ? -magnitude : magnitude;
}

/** Parses `a.b` or `urn:...:attr.sub` (sortBy, attributes): a bad one is 400 invalidPath. */
export function attributePath(text: string, parameter: string): AttributePath {
  try {
    // `emails[type eq "work"]` in attributes= (Microsoft's test suite) means `emails`.
    return parseAttributePath(text.trim().replace(/\[.*\]$/, ''));
  } catch {
    throw invalidPath('query.attribute_path_invalid', `${parameter}: "${text}" is not an attribute path`);
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
  if (params.startIndex !== undefined) throw invalidValue('query.cursor_with_start_index', 'startIndex and cursor cannot be used together');
  const context: CursorContext = { fingerprint: fingerprint(params), offset: 0 };
  if (cursorText === '') return { query: { ...query, startIndex: 1 }, cursor: context };
  const position = decodeCursor(cursorText, context.fingerprint);
  const known = position.total !== undefined ? { knownTotal: position.total } : {};
  if (position.after) return { query: { ...query, startIndex: 1, after: position.after, ...known }, cursor: context };
  const offset = position.offset ?? 0;
  return { query: { ...query, startIndex: offset + 1, ...known }, cursor: { ...context, offset } };
}

/**
 * The collection query of a GET: filter, startIndex (1-based; below 1 means 1; past
 * the end is an empty page, RFC 7644 section 3.4.2.4), count (capped at maxResults; 0
 * asks only for totalResults; below 0 means 0), sortBy and sortOrder.
 */
export function listQueryFrom(query: QueryParams): ListQuery {
  const filterText = single(query.filter, 'filter');
  const startIndex = Math.max(1, integer(single(query.startIndex, 'startIndex'), 'startIndex') ?? 1);
  const count = Math.min(MAX_RESULTS, Math.max(0, integer(single(query.count, 'count'), 'count') ?? DEFAULT_COUNT));
  const sortBy = single(query.sortBy, 'sortBy');
  const sortOrder = single(query.sortOrder, 'sortOrder')?.toLowerCase();
  if (sortOrder !== undefined && sortOrder !== 'ascending' && sortOrder !== 'descending') {
    throw invalidValue('query.sort_order_invalid', 'sortOrder must be "ascending" or "descending"');
  }
  return {
    ...(filterText !== undefined && filterText.trim() !== '' ? { filter: parseFilter(filterText) } : {}),
    startIndex,
    count,
    ...(sortBy ? { sortBy: { attribute: attributePath(sortBy, 'sortBy'), descending: sortOrder === 'descending' } } : {}),
  };
}
