import { newId } from './ids';
import type { AccountCounts, ListQuery, NewUser, Page, RenderedPage, UserRepository } from '../domain/ports';
import type { AccountType } from '../domain/roles';
import type { User, UserFields } from '../domain/user';
import { USER_FIELDS } from './attribute-sql';
import { listPage, packedColumns } from './list-page';
import { userResourceColumns } from './user-resource';
import { isUuid } from '../domain/ids';
import { placeholders, toDate, uuidArray, type Sql } from './sql';

type Row = Record<string, unknown>;

/** Column/value pairs for a set of user fields (columns from the attribute registry: ./attribute-sql). */
function columnValues(fields: Partial<UserFields>): [string, unknown][] {
  const out: [string, unknown][] = [];
  const values = fields as Record<string, unknown>;
  for (const stored of USER_FIELDS) {
    const value = values[stored.field];
    if (value === undefined || !stored.writable) continue;
    if (stored.parts) {
      const parts = (value ?? {}) as Record<string, string | undefined>;
      for (const [part, column] of Object.entries(stored.parts)) out.push([column, parts[part] ?? null]);
    } else if (stored.column) {
      out.push([stored.column, stored.json && value !== null ? JSON.stringify(value) : value]);
    }
  }
  return out;
}

/** A users row as a User: the registry's fields, then what the store keeps beside them. This runs for every user of a page. */
function toUser(row: Row): User {
  const user: Record<string, unknown> = {
    id: row.id,
    organizationId: row.organization_id,
  };
  for (const stored of USER_FIELDS) {
    if (stored.parts) {
      const parts: Record<string, unknown> = {};
      for (const part in stored.parts) {
        const value = row[stored.parts[part]];
        if (value != null) parts[part] = value;
      }
      user[stored.field] = parts;
    } else if (stored.column) {
      user[stored.field] = row[stored.column];
    }
  }
  user.passwordHash = row.password_hash ?? null;
  user.systemRoleGroupId = row.system_role_group_id ?? null;
  user.organizationRoleGroupId = row.organization_role_group_id ?? null;
  user.createdAt = toDate(row.created_at);
  user.updatedAt = toDate(row.updated_at);
  user.version = row.version;
  return user as unknown as User;
}

/** A user's groups as JSON in the list query itself (no second round trip). */
const GROUPS_COLUMN = `, coalesce((select json_agg(json_build_object('id', g.id, 'displayName', g.display_name) order by g.display_name, g.id)
  from group_members gm join groups g on g.id = gm.group_id where gm.user_id = u.id and g.organization_id = u.organization_id), '[]'::json) as groups_json`;

export class UserSqlRepository implements UserRepository {
  constructor(private readonly sql: Sql) {}

  async list(organizationId: string, query: ListQuery): Promise<Page<User>> {
    const inline = query.includeGroups === true;
    const page = await listPage(this.sql, 'users', 'u', organizationId, query, packedColumns('u', inline ? GROUPS_COLUMN : ''));
    const items = page.rows.map(toUser);
    const groups = inline ? new Map(page.rows.map((row) => [row.id as string, (row.groups_json ?? []) as { id: string; displayName: string }[]])) : undefined;
    return { total: page.total, items, ...(page.next ? { next: page.next } : {}), ...(groups ? { groups } : {}) };
  }

  async listRendered(organizationId: string, query: ListQuery, baseUrl: string): Promise<RenderedPage> {
    const page = await listPage(this.sql, 'users', 'u', organizationId, query, userResourceColumns(baseUrl));
    const resources: string[] = [];
    const ids: string[] = [];
    for (const row of page.rows) {
      resources.push(row.resource_json as string);
      ids.push(row.id as string);
    }
    return { total: page.total, resources, ids, ...(page.next ? { next: page.next } : {}) };
  }

  async findById(organizationId: string, id: string): Promise<User | null> {
    if (!isUuid(id)) return null;
    const row = await this.sql.one<Row>('select * from users where id = ? and organization_id = ?', [id, organizationId]);
    return row ? toUser(row) : null;
  }

  async lockById(organizationId: string, id: string, purpose: 'update' | 'delete' = 'update'): Promise<User | null> {
    if (!isUuid(id)) return null;
    // An update locks the row FOR NO KEY UPDATE (what its UPDATE takes: no key column changes), which
    // leaves a key-share lock alone: a create or update naming this user as its manager (FOR KEY SHARE)
    // may hold the license lock this update then waits for, and FOR UPDATE here would deadlock with it.
    const mode = purpose === 'delete' ? 'for update' : 'for no key update';
    const row = await this.sql.one<Row>(`select * from users where id = ? and organization_id = ? ${mode}`, [id, organizationId]);
    return row ? toUser(row) : null;
  }

  async userNameTaken(userName: string, exceptId?: string): Promise<boolean> {
    const row = await this.sql.one(
      `select 1 as taken from users where lower(user_name) = lower(?)${exceptId ? ' and id <> ?' : ''} limit 1`,
      exceptId ? [userName, exceptId] : [userName],
    );
    return row !== null;
  }

  async insert(user: NewUser): Promise<User> {
    const { organizationId, passwordHash, ...fields } = user;
    const pairs: [string, unknown][] = [['id', newId()], ['organization_id', organizationId], ['password_hash', passwordHash], ...columnValues(fields)];
    const row = await this.sql.one<Row>(
      `insert into users (${pairs.map(([c]) => c).join(', ')}) values (${placeholders(pairs.length)}) returning *`,
      pairs.map(([, v]) => v),
    );
    return toUser(row as Row);
  }

  async update(user: User, changes: Partial<UserFields> & { passwordHash?: string | null }): Promise<User> {
    const { passwordHash, ...fields } = changes;
    const pairs = columnValues(fields);
    if (passwordHash !== undefined) pairs.push(['password_hash', passwordHash]);
    const sets = pairs.map(([c]) => `${c} = ?`).concat('version = version + 1', 'updated_at = clock_timestamp()');
    const row = await this.sql.one<Row>(`update users set ${sets.join(', ')} where id = ? and organization_id = ? returning *`, [
      ...pairs.map(([, v]) => v),
      user.id,
      user.organizationId,
    ]);
    return toUser(row as Row);
  }

  async delete(organizationId: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return (await this.sql.run('delete from users where id = ? and organization_id = ?', [id, organizationId])) > 0;
  }

  async unlinkManager(organizationId: string, managerId: string): Promise<User[]> {
    if (!isUuid(managerId)) return [];
    const rows = await this.sql.all<Row>(
      `update users set enterprise = enterprise - 'manager', version = version + 1, updated_at = clock_timestamp()
        where organization_id = ? and (enterprise #>> '{manager,value}') is not null and lower(enterprise #>> '{manager,value}') = ?
        returning *`,
      [organizationId, managerId.toLowerCase()],
    );
    return rows.map(toUser);
  }

  async existingIds(organizationId: string, ids: string[], options: { keyShare?: boolean } = {}): Promise<Set<string>> {
    const valid = ids.filter(isUuid);
    if (valid.length === 0) return new Set();
    const rows = await this.sql.all<{ id: string }>(
      `select id from users where organization_id = ? and id = any(?::uuid[])${options.keyShare ? ' for key share' : ''}`,
      [organizationId, uuidArray(valid)],
    );
    return new Set(rows.map((r) => r.id));
  }

  /**
   * Users of each account type: the counts kept by the account-count triggers plus the
   * deltas not yet folded into them, read in one statement (one snapshot). Costs the
   * pending deltas (a second's worth of writes at most), never the users.
   */
  async countByAccountType(organizationId: string): Promise<AccountCounts> {
    const rows = await this.sql.all<{ type: AccountType; n: number }>(
      `select account_type as type, sum(n)::int as n from (
         select account_type, users as n from user_account_counts where organization_id = ?
         union all select account_type, delta from user_account_deltas where organization_id = ?) c
       group by account_type`,
      [organizationId, organizationId],
    );
    const counts: AccountCounts = { standard: 0, api: 0, taxii: 0, readOnly: 0 };
    for (const row of rows) if (row.type in counts) counts[row.type] = row.n;
    return counts;
  }

  async countOfAccountType(organizationId: string, type: AccountType): Promise<number> {
    return (await this.countByAccountType(organizationId))[type];
  }

  async batch(organizationId: string, afterId: string | undefined, limit: number): Promise<User[]> {
    const rows = await this.sql.all<Row>(
      `select * from users where organization_id = ?${afterId ? ' and id > ?' : ''} order by id limit ?`,
      afterId ? [organizationId, afterId, limit] : [organizationId, limit],
    );
    return rows.map(toUser);
  }

  async groupsOf(organizationId: string, userIds: string[]): Promise<Map<string, { id: string; displayName: string }[]>> {
    const byUser = new Map<string, { id: string; displayName: string }[]>(userIds.map((id) => [id, []]));
    const valid = userIds.filter(isUuid);
    if (valid.length === 0) return byUser;
    const rows = await this.sql.all<{ userId: string; id: string; displayName: string }>(
      `select gm.user_id as "userId", g.id, g.display_name as "displayName"
       from group_members gm join groups g on g.id = gm.group_id
       where gm.user_id = any(?::uuid[]) and g.organization_id = ? order by g.display_name, g.id`,
      [uuidArray(valid), organizationId],
    );
    for (const { userId, id, displayName } of rows) byUser.get(userId)?.push({ id, displayName });
    return byUser;
  }
}
