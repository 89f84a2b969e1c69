import { newId } from './ids';
import type { Group, GroupMember } from '../domain/group';
import type { GroupRepository, ListQuery, Page } from '../domain/ports';
import type { Filter } from '../domain/filter';
import { listPage, memberFilterSql } from './list-page';
import { isUuid } from '../domain/ids';
import { toDate, uuidArray, type Sql } from './sql';

type Row = Record<string, unknown>;

const toGroup = (row: Row): Group => ({
  id: row.id as string,
  organizationId: row.organization_id as string,
  displayName: row.display_name as string,
  externalId: row.external_id as string | null,
  createdAt: toDate(row.created_at),
  updatedAt: toDate(row.updated_at),
  version: row.version as number,
});

/** Membership changes insert or delete rows; nothing here loads a whole membership but `members`. */
export class GroupSqlRepository implements GroupRepository {
  constructor(private readonly sql: Sql) {}

  async list(organizationId: string, query: ListQuery): Promise<Page<Group>> {
    const page = await listPage(this.sql, 'groups', 'g', organizationId, query);
    return { total: page.total, items: page.rows.map(toGroup), ...(page.next ? { next: page.next } : {}) };
  }

  async findById(organizationId: string, id: string): Promise<Group | null> {
    if (!isUuid(id)) return null;
    const row = await this.sql.one<Row>('select * from groups where id = ? and organization_id = ?', [id, organizationId]);
    return row ? toGroup(row) : null;
  }

  async lockById(organizationId: string, id: string): Promise<Group | null> {
    if (!isUuid(id)) return null;
    const row = await this.sql.one<Row>('select * from groups where id = ? and organization_id = ? for update', [id, organizationId]);
    return row ? toGroup(row) : null;
  }

  async displayNameTaken(organizationId: string, displayName: string, exceptId?: string): Promise<boolean> {
    const row = await this.sql.one(
      `select 1 as taken from groups where organization_id = ? and lower(display_name) = lower(?)${exceptId ? ' and id <> ?' : ''} limit 1`,
      exceptId ? [organizationId, displayName, exceptId] : [organizationId, displayName],
    );
    return row !== null;
  }

  async insert(group: { organizationId: string; displayName: string; externalId: string | null }): Promise<Group> {
    const row = await this.sql.one<Row>('insert into groups (id, organization_id, display_name, external_id) values (?, ?, ?, ?) returning *', [
      newId(),
      group.organizationId,
      group.displayName,
      group.externalId,
    ]);
    return toGroup(row as Row);
  }

  async update(group: Group, changes: { displayName?: string; externalId?: string | null }): Promise<Group> {
    const pairs: [string, unknown][] = [];
    if (changes.displayName !== undefined) pairs.push(['display_name', changes.displayName]);
    if (changes.externalId !== undefined) pairs.push(['external_id', changes.externalId]);
    const sets = pairs.map(([c]) => `${c} = ?`).concat('version = version + 1', 'updated_at = clock_timestamp()');
    const row = await this.sql.one<Row>(`update groups set ${sets.join(', ')} where id = ? and organization_id = ? returning *`, [
      ...pairs.map(([, v]) => v),
      group.id,
      group.organizationId,
    ]);
    return toGroup(row as Row);
  }

  async touch(group: Group): Promise<Group> {
    return this.update(group, {});
  }

  async delete(organizationId: string, id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return (await this.sql.run('delete from groups where id = ? and organization_id = ?', [id, organizationId])) > 0;
  }

  members(groupId: string): Promise<GroupMember[]> {
    return this.sql.all<GroupMember>(
      `select gm.user_id as "userId", coalesce(u.display_name, u.user_name) as display
       from group_members gm join users u on u.id = gm.user_id where gm.group_id = ? order by gm.created_at, gm.user_id`,
      [groupId],
    );
  }

  async memberPage(groupId: string, offset: number, limit: number): Promise<{ total: number; members: GroupMember[] }> {
    // Both statements walk the primary key (group_id, user_id): a page costs its rows, not the group's size.
    const counted = await this.sql.one<{ n: string }>('select count(*) as n from group_members where group_id = ?', [groupId]);
    const members = await this.sql.all<GroupMember>(
      `select page.user_id as "userId", coalesce(u.display_name, u.user_name) as display
       from (select user_id from group_members where group_id = ? order by user_id limit ? offset ?) page
       join users u on u.id = page.user_id order by page.user_id`,
      [groupId, limit, offset],
    );
    return { total: Number(counted?.n ?? 0), members };
  }

  async membersOf(groupIds: string[]): Promise<Map<string, GroupMember[]>> {
    const byGroup = new Map<string, GroupMember[]>(groupIds.map((id) => [id, []]));
    if (groupIds.length === 0) return byGroup;
    const rows = await this.sql.all<GroupMember & { groupId: string }>(
      `select gm.group_id as "groupId", gm.user_id as "userId", coalesce(u.display_name, u.user_name) as display
       from group_members gm join users u on u.id = gm.user_id
       where gm.group_id = any(?::uuid[]) order by gm.created_at, gm.user_id`,
      [uuidArray(groupIds)],
    );
    for (const { groupId, userId, display } of rows) byGroup.get(groupId)?.push({ userId, display });
    return byGroup;
  }

  async addMembers(groupId: string, userIds: string[]): Promise<string[]> {
    const rows = await this.sql.all<{ id: string }>(
      `insert into group_members (group_id, user_id) select ?, unnest(?::uuid[]) on conflict do nothing returning user_id as id`,
      [groupId, uuidArray(userIds)],
    );
    return rows.map((row) => row.id);
  }

  async removeMembers(groupId: string, userIds: string[]): Promise<string[]> {
    const rows = await this.sql.all<{ id: string }>('delete from group_members where group_id = ? and user_id = any(?::uuid[]) returning user_id as id', [
      groupId,
      uuidArray(userIds.filter(isUuid)),
    ]);
    return rows.map((row) => row.id);
  }

  async removeMembersExcept(groupId: string, keep: string[]): Promise<string[]> {
    const rows =
      keep.length === 0
        ? await this.sql.all<{ id: string }>('delete from group_members where group_id = ? returning user_id as id', [groupId])
        : await this.sql.all<{ id: string }>('delete from group_members where group_id = ? and not (user_id = any(?::uuid[])) returning user_id as id', [
            groupId,
            uuidArray(keep.filter(isUuid)),
          ]);
    return rows.map((row) => row.id);
  }

  async lockByDisplayName(organizationId: string, displayName: string): Promise<Group | null> {
    const row = await this.sql.one<Row>('select * from groups where organization_id = ? and lower(display_name) = lower(?) for update', [
      organizationId,
      displayName.trim(),
    ]);
    return row ? toGroup(row) : null;
  }

  async removeUserFromAll(organizationId: string, userId: string): Promise<string[]> {
    if (!isUuid(userId)) return [];
    const rows = await this.sql.all<{ groupId: string }>(
      `delete from group_members gm using groups g
        where gm.user_id = ? and g.id = gm.group_id and g.organization_id = ? returning gm.group_id as "groupId"`,
      [userId, organizationId],
    );
    return rows.map((row) => row.groupId).sort();
  }

  async removeMembersMatching(groupId: string, filter: Filter): Promise<string[]> {
    const condition = memberFilterSql(filter);
    const rows = await this.sql.all<{ id: string }>(
      `delete from group_members gm using users mu where gm.group_id = ? and mu.id = gm.user_id and (${condition.sql}) returning gm.user_id as id`,
      [groupId, ...condition.params],
    );
    return rows.map((row) => row.id);
  }
}
