import type { GroupRoleMapping, GroupRolePrecedence, GroupRoleScope, RoleChange, RoleChangeRecords, RoleHolder } from '../domain/group-role';
import type { GroupRoleRepository } from '../domain/ports';
import type { OrganizationRole, SystemRole } from '../domain/roles';
import { isUuid } from '../domain/ids';
import { toDate, uuidArray, type Sql } from './sql';

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

/**
 * The organization's role lock (an advisory lock of its own name space beside the license
 * lock): its key, of an organization id as a uuid (written as text in one canonical form,
 * so that every spelling of an id takes the same lock).
 */
const ROLE_LOCK_OF = (organizationId: string) => `hashtextextended('roster.group_roles:' || (${organizationId})::uuid::text, 0)`;
const ROLE_LOCK = ROLE_LOCK_OF('?');

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
 * The scope's users are locked first (FOR NO KEY UPDATE, which reads each row as last
 * committed, and leaves alone the key-share lock of a write naming one of them as its
 * manager, which may hold the license lock the policy's check then waits for), so a
 * concurrent direct change of a role is either seen here or waits and then finds the
 * user's role group-managed. The memberships are read as of the
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

// Users found by key, twice: the lock and the UPDATE (NO_NESTED_LOOPS says why). The UPDATE reads each user by id under
// the statement's snapshot, as a join did; a row changed since (by a writer the lock waited for) is updated in its
// latest version, as PostgreSQL does for any UPDATE that meets a concurrent change.
const RECOMPUTE = (scope: string, recorded: boolean) => `with scope as (${scope}),
  locked as (select u.id, u.system_role, u.system_role_group_id, u.direct_system_role, u.organization_role, u.organization_role_group_id,
      u.direct_organization_role from users u where u.id = any(array(select id from scope)) and u.organization_id = ? for no key update of u),
  sys as (${bestGrant('system_role')}),
  org as (${bestGrant('organization_role')}),
  next as (
    select u.id, ${next('system_role', 'sys')}, ${next('organization_role', 'org')}
    from locked u left join sys on sys.user_id = u.id left join org on org.user_id = u.id),
  changed as (
    update users u set system_role = n.system_role, system_role_group_id = n.system_role_group_id, direct_system_role = n.direct_system_role,
      organization_role = n.organization_role, organization_role_group_id = n.organization_role_group_id,
      direct_organization_role = n.direct_organization_role, version = u.version + 1, updated_at = clock_timestamp()
    from next n
    where u.id = any(array(select id from next)) and u.id = n.id and (u.system_role, u.system_role_group_id, u.organization_role, u.organization_role_group_id)
      is distinct from (n.system_role, n.system_role_group_id, n.organization_role, n.organization_role_group_id)
    returning ${HOLDER_COLUMNS}, n.old_system_role, n.old_system_role_group_id, n.old_organization_role, n.old_organization_role_group_id)${recorded ? RECORDED : ''}
  select * from changed`;

/**
 * The records of each changed user (RoleChangeRecords, whose comment has their layout),
 * written by the recompute's own statement from its RETURNING rows: the audit events,
 * then the provisioning events, appended to the queue as EventOutbox.append does (no
 * lock: the sequencer moves them once the transaction commits). Their queue ids are drawn
 * after the whole UPDATE (they come out of the sort by user id, which reads every changed
 * row first), so after the users' row locks: a later change of one of these users, which
 * waits for its row, queues its events after these. The license's locks, when an account
 * type changes, are the policy's license check's, after this statement, as for any other
 * writer (rows, then license).
 */
const RECORDED = `,
  rec as (select ?::uuid[] as added_ids, ?::text as change_added, ?::text as change_other, ?::text as group_name, ?::text as group_id,
      ?::uuid as credential_id, ?::text as actor, ?::text as roles_changed, ?::text as system_role_changed, ?::jsonb as extra,
      ?::jsonb as event_uris, ?::text[] as attribute_fields, ?::text[] as attribute_names, ?::text as txn, ?::text as organization_id),
  facts as (
    select c.id, c.organization_id, c.user_name, c.system_role, c.organization_role, c.system_role_group_id, c.organization_role_group_id,
      c.old_system_role, c.old_organization_role,
      array_remove(array[
        case when c.system_role is distinct from c.old_system_role then 'systemRole' end,
        case when c.organization_role is distinct from c.old_organization_role then 'organizationRole' end,
        case when c.system_role_group_id is distinct from c.old_system_role_group_id then 'systemRoleSource' end,
        case when c.organization_role_group_id is distinct from c.old_organization_role_group_id then 'organizationRoleSource' end], null) as fields,
      case when c.id = any(rec.added_ids) then rec.change_added else rec.change_other end as change
    from changed c cross join rec),
  kinded as (
    -- Everything the records say of a user but who it is, as one text (role names and change words hold no |; a null is empty).
    select f.*, format('%s|%s|%s|%s|%s|%s|%s|%s', f.fields, f.change, f.old_system_role, f.system_role, f.old_organization_role, f.organization_role,
      f.system_role_group_id, f.organization_role_group_id) as kind
    from facts f),
  kinds as (
    -- The records' contents, built once per kind of change (a group's members mostly share one or two) rather than per user.
    select k.kind,
      jsonb_build_object('changed', to_jsonb(k.fields), 'group', rec.group_name, 'groupId', rec.group_id, 'change', k.change,
          'grantedBy', jsonb_build_object('systemRole', k.system_role_group_id, 'organizationRole', k.organization_role_group_id))
        || case when k.system_role <> k.old_system_role
             then jsonb_build_object('systemRole', jsonb_build_object('from', k.old_system_role, 'to', k.system_role)) else '{}' end
        || case when k.organization_role <> k.old_organization_role
             then jsonb_build_object('organizationRole', jsonb_build_object('from', k.old_organization_role, 'to', k.organization_role)) else '{}' end
        || rec.extra as roles_details,
      case when k.system_role <> k.old_system_role
        then jsonb_build_object('from', k.old_system_role, 'to', k.system_role, 'group', rec.group_name, 'groupId', rec.group_id, 'change', k.change)
          || rec.extra end as system_role_details,
      (select coalesce(jsonb_agg(x.name order by x.n), '[]') from unnest(rec.attribute_fields, rec.attribute_names) with ordinality as x(field, name, n)
        where x.field = any(k.fields)) as attributes
    from (select distinct on (kind) * from kinded) k cross join rec),
  audited as (
    insert into audit_events (organization_id, credential_id, actor, action, target_type, target_id, target_name, details)
    select f.organization_id, rec.credential_id, rec.actor, a.action, 'user', f.id, f.user_name, a.details
    from kinded f join kinds k on k.kind = f.kind cross join rec
    cross join lateral (values (1, rec.roles_changed, k.roles_details), (2, rec.system_role_changed, k.system_role_details)) as a(n, action, details)
    where a.details is not null
    order by f.id, a.n),
  announced as (
    insert into provisioning_event_queue (organization_id, resource_type, resource_id, event_uris, attributes, txn)
    select f.organization_id, 'User', f.id, rec.event_uris, k.attributes, rec.txn
    from kinded f join kinds k on k.kind = f.kind cross join rec
    order by f.id)`;

const BY_IDS_SQL = RECOMPUTE('select distinct x.id from unnest(?::uuid[]) as x(id)', false);
const BY_GROUP_SQL = RECOMPUTE('select gm.user_id as id from group_members gm where gm.group_id = ?', false);
const BY_IDS_RECORDED_SQL = RECOMPUTE('select distinct x.id from unnest(?::uuid[]) as x(id)', true);
const BY_GROUP_RECORDED_SQL = RECOMPUTE('select gm.user_id as id from group_members gm where gm.group_id = ?', true);

/** More users than a membership change of a few: their recompute is never JIT-compiled, and planned for its scope. */
const MANY_USERS = 1000;

/**
 * How the recompute is planned. The statement is long (a dozen CTEs), and PostgreSQL
 * kept planning it anew at each call (a custom plan: 1.5 ms of planning at every bind
 * against 0.9 ms of running it, for one member added to a mapped group), inside the
 * group's row lock, so every membership change of the group waited for it. A membership
 * change of a few users (`forGroupLockingRoles` with `few`) therefore asks for generic
 * plans for the rest of its transaction (PLANNED_ONCE): its statements are all lookups
 * and writes by key, a generic plan is right for them, and a named prepared statement's is
 * made once per connection. (With prepared statements off, ROSTER_DB_PREPARED_STATEMENTS,
 * each statement is unnamed and planned at every call whatever the mode.) A recompute of
 * a group's members or of many users is planned for its own scope (PLANNED_PER_CALL):
 * there the planning is nothing beside the rows, and a generic plan would expect ten.
 */
const PLANNED_PER_CALL = `set_config('plan_cache_mode', 'force_custom_plan', true)`;
const PLANNED_ONCE = `set_config('plan_cache_mode', 'force_generic_plan', true)`;
/**
 * The recompute finds its users by key (`id = any(array(select …))`), not by joining its
 * scope to `users`: a join hashed all of the organization's users, twice (for the lock and
 * for the UPDATE), and that was about 1 s of a 100,000-member `set` at 1,000,000 users
 * (docs/benchmarks.md, #15). The planner cannot know such an array's size, and guesses ten:
 * every join downstream of it is then planned for a few rows, where a nested loop over
 * 100,000 would never end. So a recompute of many users plans none.
 */
const NO_NESTED_LOOPS = `set_config('enable_nestloop', 'off', true)`;

/** The bindings of RECORDED, in its order. */
function recordBindings(organizationId: string, records: RoleChangeRecords): unknown[] {
  const { audit, change, event, group } = records;
  return [
    uuidArray(change.addedUserIds.filter(isUuid)),
    change.added,
    change.other,
    group.displayName,
    group.id,
    audit.credentialId,
    audit.actor,
    audit.rolesChanged,
    audit.systemRoleChanged,
    JSON.stringify(audit.extra),
    JSON.stringify(event.eventUris),
    event.attributeNames.map((a) => a.field),
    event.attributeNames.map((a) => a.name),
    event.txn,
    organizationId,
  ];
}

export class GroupRoleSqlRepository implements GroupRoleRepository {
  /** `outbox`: told when the recompute appended events (so the delivery worker is woken after COMMIT). */
  constructor(
    private readonly sql: Sql,
    private readonly outbox?: { appended: boolean },
  ) {}

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

  async forGroupLockingRoles(groupId: string, change: { few: boolean }): Promise<GroupRoleMapping | null> {
    if (!isUuid(groupId)) return null;
    // The select list runs for the row found only: no mapping, no lock (the key is lockRoles's, of the group's organization).
    const row = await this.sql.one<Row>(
      `select m.*, g.display_name, pg_advisory_xact_lock(${ROLE_LOCK_OF('g.organization_id')}) as role_lock${change.few ? `, ${PLANNED_ONCE}` : ''}
       from group_role_mappings m join groups g on g.id = m.group_id where m.group_id = ?`,
      [groupId],
    );
    return row ? toMapping(row) : null;
  }

  async recompute(organizationId: string, scope: GroupRoleScope, precedence: GroupRolePrecedence, records?: RoleChangeRecords): Promise<RoleChange[]> {
    const order = [organizationId, `{${precedence.system.map(quoted).join(',')}}`, `{${precedence.organization.map(quoted).join(',')}}`];
    const recorded = records ? recordBindings(organizationId, records) : [];
    // For this transaction (outside one, a no-op), for a group's members or many users (a
    // membership change of a few users keeps its one round trip): never JIT-compiled, since
    // the statement's estimated cost grows with the organization's users past the inlining and
    // optimisation thresholds, and compiling it took longer (1.7 s at 1,000,000 users) than
    // the rows it would speed up; and for a group's members, room for the hash joins of
    // 100,000 users with the users table in memory (at 4 MB they went to disk in 32 batches).
    let statement: string;
    let bindings: unknown[];
    if ('userIds' in scope) {
      const ids = scope.userIds.filter(isUuid);
      if (ids.length === 0) return [];
      [statement, bindings] = [records ? BY_IDS_RECORDED_SQL : BY_IDS_SQL, [uuidArray(ids), ...order, ...recorded]];
    } else {
      [statement, bindings] = [records ? BY_GROUP_RECORDED_SQL : BY_GROUP_SQL, [scope.membersOf, ...order, ...recorded]];
    }
    // Nested loops are off for this statement only (NO_NESTED_LOOPS): the transaction's later statements (the
    // license check, a response) plan as before.
    let nestloop: string | undefined;
    if (records && ('membersOf' in scope || scope.userIds.length > MANY_USERS)) {
      const memory = 'membersOf' in scope ? `set_config('work_mem', '64MB', true), ` : '';
      nestloop = (
        await this.sql.one<{ nestloop: string }>(
          `select current_setting('enable_nestloop') as nestloop, set_config('jit', 'off', true), ${memory}${PLANNED_PER_CALL}, ${NO_NESTED_LOOPS}`,
        )
      )?.nestloop;
    }
    const rows = await this.sql.all<Row>(statement, bindings);
    // Put back with the transaction's next round trip (Sql.atCommit), not one of its own.
    if (nestloop !== undefined) await this.sql.atCommit(`select set_config('enable_nestloop', ?, true)`, [nestloop]);
    if (records && rows.length > 0 && this.outbox) this.outbox.appended = true;
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
