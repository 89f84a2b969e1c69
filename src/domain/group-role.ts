import type { Actor } from './actor';
import { AuditTrail } from './audit';
import { DomainError } from './errors';
import { EVENT_URIS, userAttributeNames, type DomainEvent } from './events';
import { assertLicenseHolds } from './license';
import { authorizeUserChange } from './policy';
import type { AuditEventInput, Repositories } from './ports';
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

/** The fields of a role change, as the events and the audit log name them. */
function changedFields(change: RoleChange): string[] {
  const { before, after } = change;
  const fields: string[] = [];
  if (before.systemRole !== after.systemRole) fields.push('systemRole');
  if (before.organizationRole !== after.organizationRole) fields.push('organizationRole');
  if (before.systemRoleGroupId !== after.systemRoleGroupId) fields.push('systemRoleSource');
  if (before.organizationRoleGroupId !== after.organizationRoleGroupId) fields.push('organizationRoleSource');
  return fields;
}

/**
 * Recomputes the effective roles of the users in `scope`, in the caller's transaction
 * (which must hold the organization's role lock exclusively: `r.groupRoles.lockRoles`),
 * then authorizes, checks the license, audits and announces each change. A refusal
 * throws, naming the group and the rule, and the transaction stores nothing.
 */
export async function recomputeRoles(
  r: Repositories,
  organizationId: string,
  scope: GroupRoleScope,
  cause: RoleChangeCause,
  authority: RoleAuthority,
): Promise<RoleChange[]> {
  const changes = await r.groupRoles.recompute(organizationId, scope, GROUP_ROLE_PRECEDENCE);
  if (changes.length === 0) return changes;
  const settings = settingsFrom(await r.settings.all());
  const judge = 'actor' in authority ? authority.actor : operatorActor(organizationId);
  for (const change of changes) {
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
  await r.audit.recordAll(changes.flatMap((change) => auditEvents(change, cause, authority)));
  const txn = 'actor' in authority ? authority.actor.requestId : undefined;
  await r.events.append(changes.map((change) => roleEvent(change, txn)));
  return changes;
}

/** The provisioning event of one user's role change: a `patch:notice` naming the changed attributes. */
function roleEvent(change: RoleChange, txn: string | undefined): DomainEvent {
  const { after } = change;
  return {
    organizationId: after.organizationId,
    resourceType: 'User',
    resourceId: after.id,
    eventUris: [EVENT_URIS.patchNotice],
    attributes: userAttributeNames(changedFields(change)),
    ...(txn !== undefined ? { txn } : {}),
  };
}

/** The audit events of one user's role change: what changed, the group and the membership change that caused it. */
function auditEvents(change: RoleChange, cause: RoleChangeCause, authority: RoleAuthority): AuditEventInput[] {
  const { before, after } = change;
  const who =
    'actor' in authority
      ? (e: AuditEventInput) => e
      : (e: AuditEventInput): AuditEventInput => ({ ...e, credentialId: null, actor: 'cli', details: { ...e.details, operator: true } });
  const base = (action: string, details: Record<string, unknown>) =>
    who(AuditTrail.event('actor' in authority ? authority.actor : operatorActor(after.organizationId), action, after, details));
  const reason = { group: cause.group.displayName, groupId: cause.group.id, change: changeOf(cause, after.id) };
  const details: Record<string, unknown> = { changed: changedFields(change), ...reason };
  if (before.systemRole !== after.systemRole) details.systemRole = { from: before.systemRole, to: after.systemRole };
  if (before.organizationRole !== after.organizationRole) details.organizationRole = { from: before.organizationRole, to: after.organizationRole };
  details.grantedBy = { systemRole: after.systemRoleGroupId, organizationRole: after.organizationRoleGroupId };
  const events = [base('user.group_roles_changed', details)];
  if (before.systemRole !== after.systemRole) {
    events.push(base('user.system_role_changed', { from: before.systemRole, to: after.systemRole, ...reason }));
  }
  return events;
}
