import type { AttributePath, Filter } from '../domain/filter';
import type { ListQuery, PageKey } from '../domain/ports';
import type { Sql } from './sql';
import { orderedPageSql, userTotal, type UserOrdering } from './user-order';
import { GROUP_CATALOG, USER_CATALOG } from './attribute-sql';
import { filterToSql, scalar, sortToSql, type AttributeCatalog, type SqlFragment, type TranslateOptions } from './filter-sql';
import { USER_SCHEMA } from '../schema/resources';

/**
 * The page engine: one page of a list of users or groups (WHERE from the client's filter,
 * ORDER BY from its sortBy, the total, keyset and ranged pages). Where each attribute
 * lives in SQL is ./attribute-sql's, derived from the attribute registry.
 */

/** One member of a group, as `members[...]` filters see it (rows `gm` of group_members, `mu` of users). */
const MEMBER_CATALOG: AttributeCatalog = {
  coreSchema: 'member',
  schemas: {
    member: {
      value: scalar('gm.user_id::text', 'string', { caseExact: true }),
      display: scalar('coalesce(mu.display_name, mu.user_name)'),
      type: scalar(`'User'::text`),
      $ref: scalar(`('Users/' || gm.user_id::text)`, 'reference'),
    },
  },
};

/** The SQL condition an element filter on group members stands for. */
export function memberFilterSql(filter: Filter): SqlFragment {
  return filterToSql(filter, MEMBER_CATALOG);
}

const CATALOGS = { users: USER_CATALOG, groups: GROUP_CATALOG };
type Table = keyof typeof CATALOGS;

/** The WHERE clause of a list: always the organization, then the client's filter. */
export function listWhere(table: Table, alias: string, organizationId: string, filter: Filter | undefined, options: TranslateOptions = {}): SqlFragment {
  if (!filter) return { sql: `${alias}.organization_id = ?`, params: [organizationId] };
  const translated = filterToSql(filter, CATALOGS[table], options);
  return { sql: `${alias}.organization_id = ? and (${translated.sql})`, params: [organizationId, ...translated.params] };
}

/**
 * ORDER BY for a list: creation order then id by default; the client's sortBy then id
 * otherwise, so pages are stable and (for userName, displayName) index-backed.
 */
export function orderBy(table: Table, alias: string, sortBy: { attribute: AttributePath; descending: boolean } | undefined): SqlFragment {
  if (!sortBy) return { sql: `${alias}.created_at asc, ${alias}.id asc`, params: [] };
  const sort = sortToSql(CATALOGS[table], sortBy.attribute, sortBy.descending);
  return { sql: `${sort.sql}, ${alias}.id ${sortBy.descending ? 'desc' : 'asc'}`, params: sort.params };
}

type PackedRow = { row_json?: Record<string, unknown> } & Record<string, unknown>;

/**
 * A page's rows arrive as one JSON value each (`row_to_json`): the driver parses it
 * with one JSON.parse instead of converting some fifty columns one by one, which was
 * most of the time a page of users spent in Node. Column names stay the keys.
 */
function unpackRows(rows: PackedRow[]): Record<string, unknown>[] {
  return rows.map(({ row_json: row, ...rest }) => (row === undefined ? rest : Object.assign(row, rest)));
}

/** The select list of a page's rows: each whole row, packed (see unpackRows), then `extra`. */
export const packedColumns = (alias: string, extra = ''): SqlFragment => ({ sql: `row_to_json(${alias}) as row_json${extra}`, params: [] });

/**
 * One page of users or groups of an organization: the total from SQL, the rows the
 * client asked for (by offset, or after a keyset key in the default order), and the
 * key of the last row when more follow.
 *
 * The page is found first by id alone (a "deferred join"), so skipping rows walks an
 * index instead of sorting whole rows, and the wide columns and `extra` (subqueries
 * such as a user's groups) are read for the page's rows only. A filtered list
 * (usually a few rows: an identity provider's lookup) counts in the same query
 * (`count(*) over ()`); an unfiltered one counts apart, so the page itself can stop
 * at its LIMIT. A total the caller already knows (a cursor's) is not counted again.
 * `columns` is what is read of each row of the page (default: the whole row, packed);
 * its parameters come first.
 */
export async function listPage(
  sql: Sql,
  table: Table,
  alias: string,
  organizationId: string,
  query: ListQuery,
  columns: SqlFragment = packedColumns(alias),
): Promise<{ total: number; rows: Record<string, unknown>[]; next?: PageKey }> {
  const ranged = table === 'users' && !query.filter && !query.after ? rangedOrder(query.sortBy) : undefined;
  if (ranged) return rangedUserPage(sql, organizationId, query, ranged, columns);
  const where = listWhere(table, alias, organizationId, query.filter, query);
  const countApart = query.knownTotal === undefined && (!query.filter || query.count === 0);
  const counted = async () =>
    (await sql.one<{ total: number }>(`select count(*)::int as total from ${table} ${alias} where ${where.sql}`, where.params))?.total ?? 0;
  let total = query.knownTotal ?? (countApart ? await counted() : -1);
  if (query.count === 0 || (total >= 0 && !query.after && total < query.startIndex)) return { total: Math.max(total, 0), rows: [] };
  const order = orderBy(table, alias, query.after ? undefined : query.sortBy);
  const after = query.after
    ? { sql: ` and (${alias}.created_at, ${alias}.id) > (?::timestamptz, ?::uuid)`, params: [query.after.createdAt, query.after.id] }
    : { sql: '', params: [] };
  const offset = query.after ? 0 : query.startIndex - 1;
  const windowCount = total < 0 ? ', count(*) over () as page_total' : '';
  const rows = unpackRows(
    await sql.all<PackedRow>(
      `select ${columns.sql}, ${alias}.created_at::text as page_created_at, page.page_ord${windowCount ? ', page.page_total' : ''}
     from (select ${alias}.id, row_number() over (order by ${order.sql}) as page_ord${windowCount}
           from ${table} ${alias} where ${where.sql}${after.sql} order by ${order.sql} limit ? offset ?) page
     join ${table} ${alias} on ${alias}.id = page.id
     order by page.page_ord`,
      [...columns.params, ...order.params, ...where.params, ...after.params, ...order.params, query.count + 1, offset],
    ),
  );
  if (total < 0) total = rows.length > 0 ? Number(rows[0].page_total) : offset === 0 ? 0 : await counted();
  const more = rows.length > query.count;
  const page = more ? rows.slice(0, query.count) : rows;
  const last = page[page.length - 1];
  return { total, rows: page, ...(more && last ? { next: { createdAt: last.page_created_at as string, id: last.id as string } } : {}) };
}

/**
 * The orders an unfiltered user list can take from the order-statistic index
 * (orm/user-order.ts): creation order (the default, and meta.created) and userName.
 */
function rangedOrder(sortBy: ListQuery['sortBy']): { ordering: UserOrdering; descending: boolean } | undefined {
  if (!sortBy) return { ordering: 'created', descending: false };
  const { schema, attribute, subAttribute } = sortBy.attribute;
  if (schema !== undefined && schema.toLowerCase() !== USER_SCHEMA.toLowerCase()) return undefined;
  const name = attribute.toLowerCase();
  if (name === 'username' && subAttribute === undefined) return { ordering: 'userName', descending: sortBy.descending };
  if (name === 'meta' && subAttribute?.toLowerCase() === 'created') return { ordering: 'created', descending: sortBy.descending };
  return undefined;
}

/** listPage for an unfiltered user list: position and total from the ranges, never an OFFSET over the table. */
async function rangedUserPage(
  sql: Sql,
  organizationId: string,
  query: ListQuery,
  order: { ordering: UserOrdering; descending: boolean },
  columns: SqlFragment,
): Promise<{ total: number; rows: Record<string, unknown>[]; next?: PageKey }> {
  if (query.count === 0) return { total: query.knownTotal ?? (await userTotal(sql, organizationId)), rows: [] };
  const page = orderedPageSql(order.ordering, organizationId, order.descending, query.startIndex - 1, query.count + 1);
  const rows = unpackRows(
    await sql.all<PackedRow>(
      `select ${columns.sql}, u.created_at::text as page_created_at, page.page_ord, page.page_total
       from ${page.sql} page join users u on u.id = page.id
       order by page.page_ord`,
      [...columns.params, ...page.params],
    ),
  );
  const total = rows.length > 0 ? Number(rows[0].page_total) : await userTotal(sql, organizationId);
  const more = rows.length > query.count;
  const shown = more ? rows.slice(0, query.count) : rows;
  const last = shown[shown.length - 1];
  return { total, rows: shown, ...(more && last ? { next: { createdAt: last.page_created_at as string, id: last.id as string } } : {}) };
}
