import type { Actor } from './actor';
import { DomainError, forbidden, invalidValue } from './errors';
import {
  ORGANIZATION_ROLES,
  SYSTEM_ROLES,
  SYSTEM_ROLE_RANK,
  type OrganizationRole,
  type SystemRole,
} from './roles';
import type { UserFields } from './user';

/**
 * The one place that decides who may do what to users and groups: the rules of
 * DOMAIN.md, read top to bottom. Pure: the services hand it the actor, the instance
 * settings and the change (stored user against desired user); it returns, or throws
 * the DomainError of the first rule the change breaks, whose message names the rule.
 * Order: tenancy, then authority (rules 1, 2, 3, 4, 6, 7, 8), then values (5, 9, 11,
 * API-only attributes, ranges).
 */
export type DeploymentType = 'cloud' | 'dedicated' | 'onprem';

export interface PolicySettings {
  deploymentType: DeploymentType;
  twoFactorAuthenticationRequired: boolean;
  termsOfServiceRequireNewUserToAccept: boolean;
}

/** What the policy sees of a stored user: its organization, fields and MFA enrolment. */
export type UserState = UserFields & { organizationId: string; mfaEnabled: boolean };
/** What a client asks for: desired fields; mfaEnabled only when the request carried it. */
export type UserWish = UserFields & { organizationId: string; mfaEnabled?: boolean };

export type UserChange =
  | { action: 'create'; desired: UserWish }
  | { action: 'update'; current: UserState; desired: UserWish }
  | { action: 'delete'; current: UserState };

// ---- the rule table ----------------------------------------------------------

/** Rule 1: system roles that may manage users of any organization they act in. */
const MANAGING_SYSTEM_ROLES: readonly SystemRole[] = ['Administrator', 'Operations Administrator', 'Super User'];
/** Rule 1: Accounts Administrator manages users only on these deployments. */
const ACCOUNTS_ADMIN_DEPLOYMENTS: readonly DeploymentType[] = ['dedicated', 'onprem'];
/** Rules 4, 6, 7: who may choose system roles, the query timeout and the terms flag. */
const SYSTEM_ROLE_SETTERS: readonly SystemRole[] = ['Administrator', 'Operations Administrator'];
/** Rule 4: the system role an account type implies, for everyone else. */
export const IMPLIED_SYSTEM_ROLES = { standard: 'User', api: 'Api User', readOnly: 'Read Only User' } as const satisfies Record<
  string,
  SystemRole
>;
/** Rule 5: organization roles a system role requires. */
const REQUIRED_ORGANIZATION_ROLES: Partial<Record<SystemRole, readonly OrganizationRole[]>> = {
  'Super User': ['Organization Administrator'],
  'Read Only User': ['Read Only User', 'Read Only Commenter'],
};
const API_ROLES: readonly SystemRole[] = ['Api User', 'Exchange Admin'];
const API_ONLY_ATTRIBUTES = ['tokenExpirationDays', 'includeInObservations', 'allowExceedApiLinkLimit'] as const;
const CUSTOM_TQL_TIMEOUT_MAX = 3_600_000;

// ---- who ---------------------------------------------------------------------

const rank = (role: SystemRole) => SYSTEM_ROLE_RANK[role];
const who = (actor: Actor) => `a credential with system role ${actor.systemRole} and organization role ${actor.organizationRole}`;

/** Rule 1: whether the actor may create, edit and delete users (and groups) of its organization. */
export function mayManageUsers(actor: Actor, deploymentType: DeploymentType): boolean {
  if (actor.organizationRole === 'Organization Administrator') return true;
  if (MANAGING_SYSTEM_ROLES.includes(actor.systemRole)) return true;
  return actor.systemRole === 'Accounts Administrator' && ACCOUNTS_ADMIN_DEPLOYMENTS.includes(deploymentType);
}

/** Rule 4: whether the actor may choose any system role (everyone else gets the implied ones). */
export function maySetSystemRoles(actor: Actor): boolean {
  return SYSTEM_ROLE_SETTERS.includes(actor.systemRole);
}

function assertManages(actor: Actor, settings: PolicySettings, action: string): void {
  if (!mayManageUsers(actor, settings.deploymentType)) {
    throw forbidden(
      'user.manage_forbidden',
      `${who(actor)} may only read users; to ${action} users it needs the organization role Organization Administrator ` +
        'or the system role Administrator, Operations Administrator or Super User (rule: who may manage users)',
    );
  }
}

function assertSameOrganization(actor: Actor, organizationId: string): void {
  if (organizationId !== actor.organizationId) {
    throw new DomainError('not_found', 'user.not_found', 'user not found');
  }
}

// ---- the decision --------------------------------------------------------------

export function authorizeUserChange(actor: Actor, settings: PolicySettings, change: UserChange): void {
  const current = change.action === 'create' ? undefined : change.current;
  const desired = change.action === 'delete' ? undefined : change.desired;
  if (current) assertSameOrganization(actor, current.organizationId);
  if (desired) assertSameOrganization(actor, desired.organizationId);

  assertManages(actor, settings, change.action === 'create' ? 'create' : change.action === 'delete' ? 'delete' : 'edit');

  // Rule 2: no acting upward.
  if (current && rank(current.systemRole) > rank(actor.systemRole)) {
    throw forbidden(
      'user.act_upward',
      `${actorTitle(actor)} cannot ${change.action === 'delete' ? 'delete' : 'edit'} a user whose system role is ${current.systemRole} ` +
        '(rule: no acting upward)',
    );
  }
  if (!desired) return;

  const changed = <K extends keyof UserWish>(key: K, fallback?: UserWish[K]) =>
    current ? JSON.stringify(current[key as keyof UserState]) !== JSON.stringify(desired[key]) : desired[key] !== (fallback ?? null);

  assertRoleName(desired.systemRole, SYSTEM_ROLES, 'systemRole');
  assertRoleName(desired.organizationRole, ORGANIZATION_ROLES, 'organizationRole');

  const systemRoleChosen = !current || current.systemRole !== desired.systemRole;
  if (systemRoleChosen) {
    // Rule 3: no granting upward.
    if (rank(desired.systemRole) > rank(actor.systemRole)) {
      throw forbidden(
        'user.grant_upward',
        `${actorTitle(actor)} cannot give the system role ${desired.systemRole}, which ranks above its own ${actor.systemRole} ` +
          '(rule: no granting upward)',
      );
    }
    // Rule 4: only Administrators and Operations Administrators choose system roles.
    const implied: readonly SystemRole[] = Object.values(IMPLIED_SYSTEM_ROLES);
    if (!maySetSystemRoles(actor) && !implied.includes(desired.systemRole)) {
      throw forbidden(
        'user.system_role_not_implied',
        `only Administrators and Operations Administrators may choose the system role ${desired.systemRole}; ` +
          `for others it is implied by the account type (${implied.join(', ')}) (rule: who sets system roles)`,
      );
    }
  }

  // Rule 6: the custom query timeout.
  if (changed('customTqlTimeout') && !maySetSystemRoles(actor)) {
    throw forbidden('user.custom_tql_timeout_forbidden', 'only Administrators and Operations Administrators may set or clear customTqlTimeout');
  }

  // Rule 7: the terms of service flag.
  const termsChanged = current
    ? current.termsOfServiceAcceptanceRequired !== desired.termsOfServiceAcceptanceRequired
    : desired.termsOfServiceAcceptanceRequired !== settings.termsOfServiceRequireNewUserToAccept;
  if (termsChanged) {
    if (!maySetSystemRoles(actor)) {
      throw forbidden('user.terms_flag_forbidden', 'only Administrators and Operations Administrators may set termsOfServiceAcceptanceRequired');
    }
    if (desired.termsOfServiceAcceptanceRequired && !settings.termsOfServiceRequireNewUserToAccept) {
      throw forbidden(
        'user.terms_flag_setting_off',
        'termsOfServiceAcceptanceRequired can be set only while the instance setting termsOfServiceRequireNewUserToAccept is on',
      );
    }
  }

  // Rule 8: MFA enrolment is the user's own; it cannot be turned off while MFA is required.
  if (desired.mfaEnabled !== undefined && desired.mfaEnabled !== (current?.mfaEnabled ?? false)) {
    if (!desired.mfaEnabled && settings.twoFactorAuthenticationRequired) {
      throw forbidden('user.mfa_required', 'MFA cannot be turned off for a user while twoFactorAuthenticationRequired is on (rule: MFA)');
    }
    throw new DomainError('mutability', 'user.mfa_enabled_read_only', "mfaEnabled is read-only: it reflects the user's own enrolment");
  }

  assertValues(desired, current);
}

/** Rules that concern values, whoever the actor is. */
function assertValues(desired: UserWish, current: UserState | undefined): void {
  // Rule 5: role pairs.
  const required = REQUIRED_ORGANIZATION_ROLES[desired.systemRole];
  const pairChanged = !current || current.systemRole !== desired.systemRole || current.organizationRole !== desired.organizationRole;
  if (required && pairChanged && !required.includes(desired.organizationRole)) {
    throw invalidValue(
      'user.role_pair_invalid',
      `system role ${desired.systemRole} requires organization role ${required.join(' or ')}, not ${desired.organizationRole}`,
    );
  }

  const custom = desired.customTqlTimeout;
  if (custom !== null && (!Number.isInteger(custom) || custom < 1 || custom > CUSTOM_TQL_TIMEOUT_MAX)) {
    throw invalidValue('user.custom_tql_timeout_invalid', `customTqlTimeout must be a whole number of ms from 1 to ${CUSTOM_TQL_TIMEOUT_MAX}`);
  }

  // Rule 9: the reset flag is cleared only by the user changing the password.
  if (!desired.passwordResetRequired && (!current || current.passwordResetRequired)) {
    throw invalidValue(
      'user.password_reset_cannot_clear',
      'passwordResetRequired is cleared only when the user changes the password; it cannot be set to false',
    );
  }

  // Rule 11: `locked` is set by the platform after failed sign-ins; an admin may only clear it.
  if (desired.locked && !(current?.locked ?? false)) {
    throw invalidValue('user.locked_set_by_platform', 'locked is set by the platform after failed sign-ins; it can only be cleared');
  }

  if (!API_ROLES.includes(desired.systemRole)) {
    const set = API_ONLY_ATTRIBUTES.filter((name) => desired[name] !== null && desired[name] !== undefined);
    if (set.length > 0) {
      throw invalidValue('user.api_only_attribute', `${set.join(', ')} apply to API users only (system role Api User or Exchange Admin)`);
    }
  }
  const days = desired.tokenExpirationDays;
  if (days !== null && (!Number.isInteger(days) || days < 1 || days > 3650)) {
    throw invalidValue('user.token_expiration_days_invalid', 'tokenExpirationDays must be a whole number from 1 to 3650');
  }
  const logout = desired.logoutAfterMinutes;
  if (logout !== null && (!Number.isInteger(logout) || logout < 1 || logout > 43_200)) {
    throw invalidValue('user.logout_after_minutes_invalid', 'logoutAfterMinutes must be a whole number from 1 to 43200');
  }
  if (desired.summaryEmailTime !== null && !/^([01]\d|2[0-3]):[0-5]\d$/.test(desired.summaryEmailTime)) {
    throw invalidValue('user.summary_email_time_invalid', 'summaryEmailTime must be a time of day as HH:MM (00:00 to 23:59)');
  }
  if (desired.timezone !== null && !isTimeZone(desired.timezone)) {
    throw invalidValue('user.timezone_invalid', `timezone "${desired.timezone}" is not an IANA time zone such as Europe/Oslo`);
  }
}

/** Groups: managing user groups needs the authority to manage users (rule 1), in the actor's organization. */
export function authorizeGroupChange(actor: Actor, settings: PolicySettings, organizationId: string): void {
  if (organizationId !== actor.organizationId) throw new DomainError('not_found', 'group.not_found', 'group not found');
  if (!mayManageUsers(actor, settings.deploymentType)) {
    throw forbidden(
      'group.manage_forbidden',
      `${who(actor)} may only read groups; managing user groups needs the organization role Organization Administrator ` +
        'or the system role Administrator, Operations Administrator or Super User (rule: who may manage users)',
    );
  }
}

function actorTitle(actor: Actor): string {
  return actor.organizationRole === 'Organization Administrator' && !MANAGING_SYSTEM_ROLES.includes(actor.systemRole)
    ? `an Organization Administrator with system role ${actor.systemRole}`
    : `a ${actor.systemRole}`;
}

function assertRoleName(value: string, allowed: readonly string[], name: string): void {
  if (!allowed.includes(value)) throw invalidValue('user.role_invalid', `${name} "${value}" is not one of: ${allowed.join(', ')}`);
}

const zoneCache = new Map<string, boolean>();
function isTimeZone(zone: string): boolean {
  let known = zoneCache.get(zone);
  if (known === undefined) {
    try {
      new Intl.DateTimeFormat('en-US', { timeZone: zone });
      known = true;
    } catch {
      known = false;
    }
    if (zoneCache.size < 1000) zoneCache.set(zone, known);
  }
  return known;
}
