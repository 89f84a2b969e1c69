import { actorCredentialId, actorName, type Actor } from './actor';
import { DomainError } from './errors';
import { EVENT_URIS, userAttributeNames } from './events';
import { assertLicenseHolds } from './license';
import { authorizeUserChange } from './policy';
import type { Repositories } from './ports';
import { accountTypeOf, ORGANIZATION_ROLE_PRECEDENCE, SYSTEM_ROLE_PRECEDENCE, type OrganizationRole, type SystemRole } from './roles';
import { settingsFrom } from './settings';
import { USER_DEFAULTS, type User } from './user';

/**
 * Roles from groups (issue #15; docs/roles.md, "Roles from groups"). A mapping makes
 * a group of an organization grant an organization role, a system role, or both. A
 * user's effective role is the highest grant among the mapped groups they belong to
 * (ORGANIZATION_ROLE_PRECEDENCE, SYSTEM_ROLE_PRECEDENCE); with none, the role set on
 * the user directly, which the store keeps while a group overrides it.
 *
 * Every change that can move an effective role (a membership change of a mapped group,
 * a mapping set or removed, a mapped group deleted) recomputes the users it touches in
 * its own transaction (`recomputeRoles`), and the result goes through the same policy as
 * a direct change: the token's authority (rules 2, 3, 4) for a SCIM request, and for
 * everyone the value rules (rule 5 role pairs) and the license (rule 10).
 */
export interface GroupRoleMapping {
  organizationId: string;
  groupId: string;
  groupDisplayName: string;
  organizationRole: OrganizationRole | null;
  systemRole: SystemRole | null;
  createdAt: Date;
  updatedAt: Date;
}

/** Whose effective roles to recompute: these users, or every member of a group. */
export type GroupRoleScope = { userIds: string[] } | { membersOf: string };

/** The order grants are ranked in, most privileged first (the store gets these lists as they are). */
export interface GroupRolePrecedence {
  system: readonly SystemRole[];
  organization: readonly OrganizationRole[];
}

export const GROUP_ROLE_PRECEDENCE: GroupRolePrecedence = { system: SYSTEM_ROLE_PRECEDENCE, organization: ORGANIZATION_ROLE_PRECEDENCE };

/**
 * What a recompute reads of a user whose roles it changed: the roles and their granting
 * groups, and the attributes the policy's rules read whatever a change changes (the
 * API-only attributes, `mfaEnabled`). Not the whole user: a mapping of a group of
 * 100,000 members changes 100,000 users in one statement.
 */
export type RoleHolder = Pick<
  User,
  | 'id'
  | 'organizationId'
  | 'userName'
  | 'active'
  | 'mfaEnabled'
  | 'systemRole'
  | 'organizationRole'
  | 'systemRoleGroupId'
  | 'organizationRoleGroupId'
  | 'tokenExpirationDays'
  | 'includeInObservations'
  | 'allowExceedApiLinkLimit'
>;

/** A user whose effective roles, or the groups granting them, a recompute changed. */
export interface RoleChange {
  before: RoleHolder;
  after: RoleHolder;
}

/** The role fields a recompute can change, in the order an audit event's `changed` lists them. */
export const ROLE_FIELDS = ['systemRole', 'organizationRole', 'systemRoleSource', 'organizationRoleSource'] as const;
export type RoleField = (typeof ROLE_FIELDS)[number];

/**
 * What the store records of each user a recompute changed, in the recompute's own
 * statement (a mapping of a 100,000-member group writes 100,000 audit events and
 * events; they never travel through this process). The domain decides each value; the
 * store lays out, per changed user:
 * - an audit event `audit.rolesChanged` on the user, its details `changed` (the
 *   ROLE_FIELDS that changed, in that order), `group`, `groupId`, `change`, `grantedBy`
 *   (`systemRole`, `organizationRole`: the granting groups' ids after), `systemRole` and
 *   `organizationRole` (`from`, `to`) when that role changed, and `audit.extra`;
 * - when the system role changed, a second one, `audit.systemRoleChanged`, its details
 *   `from`, `to`, `group`, `groupId`, `change`, and `audit.extra`;
 * - a provisioning event (`event.eventUris`) whose attributes are the names of the
 *   changed fields, listed in the order of `event.attributeNames`.
 */
export interface RoleChangeRecords {
  audit: {
    credentialId: string | null;
    actor: string;
    rolesChanged: string;
    systemRoleChanged: string;
    /** More details on every audit event (an operator's change: `operator: true`). */
    extra: Record<string, unknown>;
  };
  group: { id: string; displayName: string };
  /** The `change` of each user: `added` for the users in `addedUserIds`, `other` for everyone else. */
  change: { added: string; other: string; addedUserIds: string[] };
  event: { eventUris: string[]; attributeNames: { field: RoleField; name: string }[]; txn: string | null };
}

/** What set off a recompute, for the refusal's wording, the audit log and the events. */
export interface RoleChangeCause {
  group: { id: string; displayName: string };
  change: 'membership' | 'mapping set' | 'mapping removed' | 'group deleted';
  /** For `membership`: the users added to the group (the others of the scope were removed). */
  added?: ReadonlySet<string>;
}

/**
 * Who decides: a SCIM request's token (its authority is checked on every user whose
 * roles change), or an operator at the CLI (no authority rule applies: the mapping is
 * the operator's decision; the value rules and the license still do).
 */
export type RoleAuthority = { actor: Actor } | { operator: true };

/** The policy's view of an operator: an Administrator of the organization, so that only the value rules can refuse. */
const operatorActor = (organizationId: string): Actor => ({
  credentialId: 'cli',
  organizationId,
  systemRole: 'Administrator',
  organizationRole: 'Organization Administrator',
});

/** What happened to one user, in words (audit details, refusals). */
function changeOf(cause: RoleChangeCause, userId: string): string {
  if (cause.change !== 'membership') return cause.change;
  return cause.added?.has(userId) ? 'member added' : 'member removed';
}

const CHANGE_WORDS: Record<string, string> = {
  'member added': 'adding {user} to group "{group}"',
  'member removed': 'removing {user} from group "{group}"',
  'mapping set': 'the mapping of group "{group}" on its member {user}',
  'mapping removed': 'removing the mapping of group "{group}" from its member {user}',
  'group deleted': 'deleting group "{group}" with its member {user}',
};

function describe(cause: RoleChangeCause, user: RoleHolder): string {
  return CHANGE_WORDS[changeOf(cause, user.id)].replace('{user}', user.userName).replace('{group}', cause.group.displayName);
}

/**
 * Recomputes the effective roles of the users in `scope`, in the caller's transaction
 * (which must hold the organization's role lock exclusively: `r.groupRoles.lockRoles`),
 * audits and announces each change (the store writes both in the recompute's own
 * statement: RoleChangeRecords), then authorizes each change and checks the license. A
 * refusal throws, naming the group and the rule, and the transaction stores nothing.
 */
export async function recomputeRoles(
  r: Repositories,
  organizationId: string,
  scope: GroupRoleScope,
  cause: RoleChangeCause,
  authority: RoleAuthority,
): Promise<RoleChange[]> {
  const changes = await r.groupRoles.recompute(organizationId, scope, GROUP_ROLE_PRECEDENCE, roleChangeRecords(cause, authority));
  if (changes.length === 0) return changes;
  const settings = settingsFrom(await r.settings.all());
  const judge = 'actor' in authority ? authority.actor : operatorActor(organizationId);
  // The rules read the roles and the attributes a RoleHolder carries, never who the user is:
  // users whose change is the same (100,000 members of one group, mostly) are judged once.
  const judged = new Set<string>();
  let previous: RoleChange | undefined;
  for (const change of changes) {
    // A group's members mostly come one kind of change after another: the one before, compared
    // value by value, spares building the key (0.3 s of 100,000 members' JSON on a slow host).
    if (previous !== undefined && judgedAlike(previous, change)) continue;
    previous = change;
    const same = judgedAs(change);
    if (judged.has(same)) continue;
    judged.add(same);
    try {
      // Only the roles differ between the two states, so the rules see exactly the role change.
      const base = { ...USER_DEFAULTS, ...change.after };
      authorizeUserChange(judge, settings, { action: 'update', current: { ...base, ...change.before }, desired: base });
    } catch (error) {
      if (!(error instanceof DomainError)) throw error;
      throw new DomainError(error.kind, error.code, `${describe(cause, change.before)} would change their roles, and ${error.message}`);
    }
  }
  // Rule 10 on the result: each account type that gained users, counted after the change.
  const gained = new Map<string, SystemRole>();
  for (const { before, after } of changes) {
    if (accountTypeOf(before.systemRole) !== accountTypeOf(after.systemRole)) gained.set(accountTypeOf(after.systemRole), after.systemRole);
  }
  for (const systemRole of gained.values()) await assertLicenseHolds(r, organizationId, systemRole);
  return changes;
}

/**
 * What the policy reads of a role change: every field of the user's states but who the
 * user is (the values are primitives). judgedAlike compares two changes on these fields
 * (allocating nothing: it runs once per changed member); judgedAs makes a key of them.
 */
const judgedField = (name: string): name is Exclude<keyof RoleHolder, 'id' | 'userName'> => name !== 'id' && name !== 'userName';

function judgedAlike(a: RoleChange, b: RoleChange): boolean {
  for (const name in a.before) {
    if (judgedField(name) && (a.before[name] !== b.before[name] || a.after[name] !== b.after[name])) return false;
  }
  for (const name in b.before) if (!(name in a.before)) return false;
  return true;
}

function judgedAs({ before, after }: RoleChange): string {
  const key: unknown[] = [];
  for (const name in before) if (judgedField(name)) key.push(name, before[name], after[name]);
  return JSON.stringify(key);
}

/** The provisioning events' attribute names of the role fields, sorted as every event's attributes are (userAttributeNames). */
const ROLE_ATTRIBUTE_NAMES = ROLE_FIELDS.map((field) => ({ field, name: userAttributeNames([field])[0] as string })).sort((a, b) =>
  a.name < b.name ? -1 : a.name > b.name ? 1 : 0,
);

/**
 * What is recorded of each changed user (written by the recompute's statement; rolled
 * back with it when a rule below refuses): the audit events, by the token or as the
 * operator (`cli`, `operator: true`), naming the group and the membership change that
 * caused it, and a `patch:notice` event naming the changed attributes, in the request's txn.
 */
function roleChangeRecords(cause: RoleChangeCause, authority: RoleAuthority): RoleChangeRecords {
  const other = cause.change === 'membership' ? 'member removed' : cause.change;
  return {
    audit: {
      credentialId: 'actor' in authority ? actorCredentialId(authority.actor) : null,
      actor: 'actor' in authority ? actorName(authority.actor) : 'cli',
      rolesChanged: 'user.group_roles_changed',
      systemRoleChanged: 'user.system_role_changed',
      extra: 'actor' in authority ? {} : { operator: true },
    },
    group: { id: cause.group.id, displayName: cause.group.displayName },
    change:
      cause.change === 'membership' ? { added: 'member added', other, addedUserIds: [...(cause.added ?? [])] } : { added: other, other, addedUserIds: [] },
    event: {
      eventUris: [EVENT_URIS.patchNotice],
      attributeNames: ROLE_ATTRIBUTE_NAMES,
      txn: 'actor' in authority ? (authority.actor.requestId ?? null) : null,
    },
  };
}
