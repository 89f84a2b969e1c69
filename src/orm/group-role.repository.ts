import type { GroupRoleMapping, GroupRolePrecedence, GroupRoleScope, RoleChange, RoleHolder } from '../domain/group-role';
import type { GroupRoleRepository } from '../domain/ports';
import type { OrganizationRole, SystemRole } from '../domain/roles';
import { isUuid, toDate, uuidArray, type Sql } from './sql';

type Row = Record<string, unknown>;

const toMapping = (row: Row): GroupRoleMapping => ({
  organizationId: row.organization_id as string,
  groupId: row.group_id as string,
  groupDisplayName: row.display_name as string,
  organizationRole: (row.organization_role ?? null) as OrganizationRole | null,
  systemRole: (row.system_role ?? null) as SystemRole | null,
  createdAt: toDate(row.created_at),
  updatedAt: toDate(row.updated_at),
});

/** The organization's role lock (an advisory lock of its own name space beside the license and outbox locks). */
const ROLE_LOCK = `hashtextextended('roster.group_roles:' || ?, 0)`;

/**
 * The best grant of one kind (`system_role` or `organization_role`) per user of the
 * scope: the first in the precedence list (bound as text[]), then the lowest group id,
 * so that the same memberships always name the same granting group.
 */
const bestGrant = (column: string) => `select distinct on (gm.user_id) gm.user_id, m.group_id, m.${column} as role
    from scope s join group_members gm on gm.user_id = s.id join group_role_mappings m on m.group_id = gm.group_id
    where m.${column} is not null
    order by gm.user_id, array_position(?::text[], m.${column}), m.group_id`;

/**
 * The new state of one kind of role: the best grant, else (no grant) the direct role
 * kept while a group granted it, else the stored role; and the direct role to keep.
 */
const next = (role: string, kind: string) => `coalesce(${kind}.role, case when u.${role}_group_id is null then u.${role} else u.direct_${role} end) as ${role},
      ${kind}.group_id as ${role}_group_id,
      case when ${kind}.group_id is null then null when u.${role}_group_id is null then u.${role} else u.direct_${role} end as direct_${role},
      u.${role} as old_${role}, u.${role}_group_id as old_${role}_group_id`;

/**
 * One statement for any number of users: the scope, each user's best grants, the new
 * roles, and an UPDATE of the users whose roles or granting groups change, returning
 * them as they were and as they are. The scope is first (a group's members, or ids).
 *
 * The scope's users are locked first (FOR UPDATE, which reads each row as last
 * committed), so a concurrent direct change of a role is either seen here or waits and
 * then finds the user's role group-managed. The memberships are read as of the
 * statement's start: the organization's role lock (lockRoles), taken before any
 * membership change of a mapped group, makes every earlier such change committed by then.
 */
/** What the recompute returns of each changed user (RoleHolder). */
const HOLDER_COLUMNS = `u.id, u.organization_id, u.user_name, u.active, u.mfa_enabled, u.system_role, u.organization_role, u.system_role_group_id,
    u.organization_role_group_id, u.token_expiration_days, u.include_in_observations, u.allow_exceed_api_link_limit`;

const toHolder = (row: Row): RoleHolder => ({
  id: row.id as string,
  organizationId: row.organization_id as string,
  userName: row.user_name as string,
  active: row.active as boolean,
  mfaEnabled: row.mfa_enabled as boolean,
  systemRole: row.system_role as SystemRole,
  organizationRole: row.organization_role as OrganizationRole,
  systemRoleGroupId: (row.system_role_group_id ?? null) as string | null,
  organizationRoleGroupId: (row.organization_role_group_id ?? null) as string | null,
  tokenExpirationDays: (row.token_expiration_days ?? null) as number | null,
  includeInObservations: (row.include_in_observations ?? null) as boolean | null,
  allowExceedApiLinkLimit: (row.allow_exceed_api_link_limit ?? null) as boolean | null,
});

const RECOMPUTE = (scope: string) => `with scope as (${scope}),
  locked as (select u.id, u.system_role, u.system_role_group_id, u.direct_system_role, u.organization_role, u.organization_role_group_id,
      u.direct_organization_role from scope s join users u on u.id = s.id where u.organization_id = ? for update of u),
  sys as (${bestGrant('system_role')}),
  org as (${bestGrant('organization_role')}),
  next as (
    select u.id, ${next('system_role', 'sys')}, ${next('organization_role', 'org')}
    from locked u left join sys on sys.user_id = u.id left join org on org.user_id = u.id)
  update users u set system_role = n.system_role, system_role_group_id = n.system_role_group_id, direct_system_role = n.direct_system_role,
    organization_role = n.organization_role, organization_role_group_id = n.organization_role_group_id,
    direct_organization_role = n.direct_organization_role, version = u.version + 1, updated_at = clock_timestamp()
  from next n
  where u.id = n.id and (u.system_role, u.system_role_group_id, u.organization_role, u.organization_role_group_id)
    is distinct from (n.system_role, n.system_role_group_id, n.organization_role, n.organization_role_group_id)
  returning ${HOLDER_COLUMNS}, n.old_system_role, n.old_system_role_group_id, n.old_organization_role, n.old_organization_role_group_id`;

const BY_IDS_SQL = RECOMPUTE('select distinct x.id from unnest(?::uuid[]) as x(id)');
const BY_GROUP_SQL = RECOMPUTE('select gm.user_id as id from group_members gm where gm.group_id = ?');

export class GroupRoleSqlRepository implements GroupRoleRepository {
  constructor(private readonly sql: Sql) {}

  async forGroup(groupId: string): Promise<GroupRoleMapping | null> {
    if (!isUuid(groupId)) return null;
    const row = await this.sql.one<Row>(`select m.*, g.display_name from group_role_mappings m join groups g on g.id = m.group_id where m.group_id = ?`, [
      groupId,
    ]);
    return row ? toMapping(row) : null;
  }

  async list(organizationId: string): Promise<GroupRoleMapping[]> {
    const rows = await this.sql.all<Row>(
      `select m.*, g.display_name from group_role_mappings m join groups g on g.id = m.group_id
        where m.organization_id = ? order by lower(g.display_name), g.id`,
      [organizationId],
    );
    return rows.map(toMapping);
  }

  async set(mapping: Pick<GroupRoleMapping, 'organizationId' | 'groupId' | 'organizationRole' | 'systemRole'>): Promise<void> {
    await this.sql.run(
      `insert into group_role_mappings (group_id, organization_id, organization_role, system_role) values (?, ?, ?, ?)
       on conflict (group_id) do update set organization_role = excluded.organization_role, system_role = excluded.system_role, updated_at = clock_timestamp()`,
      [mapping.groupId, mapping.organizationId, mapping.organizationRole, mapping.systemRole],
    );
  }

  async remove(groupId: string): Promise<boolean> {
    if (!isUuid(groupId)) return false;
    return (await this.sql.run('delete from group_role_mappings where group_id = ?', [groupId])) > 0;
  }

  async lockRoles(organizationId: string): Promise<void> {
    await this.sql.all(`select pg_advisory_xact_lock(${ROLE_LOCK})`, [organizationId]);
  }

  async recompute(organizationId: string, scope: GroupRoleScope, precedence: GroupRolePrecedence): Promise<RoleChange[]> {
    let rows: Row[];
    const order = [organizationId, `{${precedence.system.map(quoted).join(',')}}`, `{${precedence.organization.map(quoted).join(',')}}`];
    if ('userIds' in scope) {
      const ids = scope.userIds.filter(isUuid);
      if (ids.length === 0) return [];
      rows = await this.sql.all<Row>(BY_IDS_SQL, [uuidArray(ids), ...order]);
    } else {
      rows = await this.sql.all<Row>(BY_GROUP_SQL, [scope.membersOf, ...order]);
    }
    return rows.map((row) => {
      const after = toHolder(row);
      const before = {
        ...after,
        systemRole: row.old_system_role as SystemRole,
        systemRoleGroupId: (row.old_system_role_group_id ?? null) as string | null,
        organizationRole: row.old_organization_role as OrganizationRole,
        organizationRoleGroupId: (row.old_organization_role_group_id ?? null) as string | null,
      };
      return { before, after };
    });
  }
}

/** A role name as an element of a PostgreSQL array literal (the names hold spaces, never quotes). */
const quoted = (role: string) => `"${role}"`;
