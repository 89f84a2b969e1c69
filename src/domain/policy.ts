import type { Actor } from './actor';
import { DomainError, forbidden, invalidValue } from './errors';
import { ORGANIZATION_ROLES, SYSTEM_ROLES, SYSTEM_ROLE_RANK, type OrganizationRole, type SystemRole } from './roles';
import type { UserFields } from './user';

/**
 * The one place that decides what an actor may do to users and user groups: the rules
 * of DOMAIN.md as one ordered table of pure checks, no I/O. Reads are scoped to the
 * actor's organization by every repository query (tenancy), so what an actor cannot
 * see is a 404, never a 403.
 *
 * Order: tenancy, then who may manage users at all (rule 1), then the role names the
 * change uses, then the authority rules (2, 3, 4, 6, 7, 8: 403), then the value rules
 * (5, 9, 11, API-only attributes, ranges: 400). The first rule a change breaks decides
 * the error, and its message names the rule.
 *
 * On update, a rule about an attribute applies only when the change touches that
 * attribute (stored against desired); on create, only when the new user's value differs
 * from what a new user gets anyway (newUserBaseline). So an unrelated edit is never
 * refused because of what is already stored, except by rule 2 (the user's current
 * system role) and tenancy.
 */

export type DeploymentType = 'cloud' | 'dedicated' | 'onprem';

/** The instance settings the policy reads (InstanceSettings has these and more). */
export interface PolicySettings {
  deploymentType: DeploymentType;
  twoFactorAuthenticationRequired: boolean;
  termsOfServiceRequireNewUserToAccept: boolean;
}

/** What the policy sees of a user: its organization, fields, and MFA enrolment. */
export type UserState = UserFields & { organizationId: string; mfaEnabled: boolean };
/** What a client asks for: desired fields; mfaEnabled only if the request carried it. */
export type UserWish = UserFields & { organizationId: string; mfaEnabled?: boolean };
export type UserChange =
  | { action: 'create'; desired: UserWish }
  | { action: 'update'; current: UserState; desired: UserWish }
  | { action: 'delete'; current: UserState };

// ---------------------------------------------------------------------------------
// The rule book's constants
// ---------------------------------------------------------------------------------

/** Rule 1: the organization role that may manage the users of its organization. */
export const USER_MANAGING_ORGANIZATION_ROLE: OrganizationRole = 'Organization Administrator';
/** Rule 1: system roles that may manage users on every instance. */
export const USER_MANAGING_SYSTEM_ROLES: readonly SystemRole[] = ['Administrator', 'Operations Administrator', 'Super User'];
/** Rule 1: Accounts Administrator manages users only on these deployment types. */
export const ACCOUNTS_ADMINISTRATOR_DEPLOYMENTS: readonly DeploymentType[] = ['dedicated', 'onprem'];

/** Rules 4, 6 and 7: who may choose a system role, customTqlTimeout and the terms flag. */
export const SYSTEM_ROLE_CHOOSERS: readonly SystemRole[] = ['Administrator', 'Operations Administrator'];

/** The system role an account type implies for actors who may not choose one (rule 4). */
export const IMPLIED_SYSTEM_ROLES: Record<'standard' | 'api' | 'readOnly', SystemRole> = {
  standard: 'User',
  api: 'Api User',
  readOnly: 'Read Only User',
};

/** Rule 5: system roles that need one of these organization roles. */
export const ROLE_PAIRS: Partial<Record<SystemRole, readonly OrganizationRole[]>> = {
  'Super User': ['Organization Administrator'],
  'Read Only User': ['Read Only User', 'Read Only Commenter'],
};

/** System roles of API accounts, the only ones that may carry API_ONLY_ATTRIBUTES. */
export const API_SYSTEM_ROLES: readonly SystemRole[] = ['Api User', 'Exchange Admin'];
export const API_ONLY_ATTRIBUTES = ['tokenExpirationDays', 'includeInObservations', 'allowExceedApiLinkLimit'] as const;

/** Whole-number attributes and their inclusive ranges (null means "not set"). */
export const INTEGER_RANGES = {
  customTqlTimeout: { min: 1, max: 3_600_000, unit: 'milliseconds', whenNull: 'the instance default' },
  tokenExpirationDays: { min: 1, max: 3650, unit: 'days', whenNull: 'no expiry set' },
  logoutAfterMinutes: { min: 1, max: 43_200, unit: 'minutes', whenNull: 'the instance default' },
} as const;

/** summaryEmailTime: HH:MM on a 24-hour clock. */
export const SUMMARY_EMAIL_TIME = /^(?:[01]\d|2[0-3]):[0-5]\d$/;

/** The attributes the rules look at, as a new user has them before the client says otherwise. */
type Baseline = Pick<UserState, 'customTqlTimeout' | 'termsOfServiceAcceptanceRequired' | 'passwordResetRequired' | 'locked' | 'mfaEnabled'>;
export function newUserBaseline(settings: PolicySettings): Baseline {
  return {
    customTqlTimeout: null,
    termsOfServiceAcceptanceRequired: settings.termsOfServiceRequireNewUserToAccept,
    passwordResetRequired: true,
    locked: false,
    mfaEnabled: false,
  };
}

// ---------------------------------------------------------------------------------
// Questions about an actor
// ---------------------------------------------------------------------------------

/** Rule 1: who may manage users (and so user groups) of the actor's organization. */
export function mayManageUsers(actor: Actor, deploymentType: DeploymentType): boolean {
  if (actor.organizationRole === USER_MANAGING_ORGANIZATION_ROLE) return true;
  if (USER_MANAGING_SYSTEM_ROLES.includes(actor.systemRole)) return true;
  return actor.systemRole === 'Accounts Administrator' && ACCOUNTS_ADMINISTRATOR_DEPLOYMENTS.includes(deploymentType);
}

/** Rule 4 (and 6, 7): whether the actor may choose a user's system role. */
export function maySetSystemRoles(actor: Actor): boolean {
  return SYSTEM_ROLE_CHOOSERS.includes(actor.systemRole);
}

// ---------------------------------------------------------------------------------
// The rule table
// ---------------------------------------------------------------------------------

/** One change as the rules see it. */
export interface RuleContext {
  actor: Actor;
  settings: PolicySettings;
  action: UserChange['action'];
  current: UserState | undefined;
  desired: UserWish | undefined;
  /** Whether the change sets the attribute: on update, stored against desired; on create, baseline against desired. */
  changes(attribute: keyof UserState): boolean;
}

export interface UserRule {
  /** What the rule is called in DOMAIN.md. */
  rule: string;
  /** The error the change breaks the rule with, or undefined. */
  check(c: RuleContext): DomainError | undefined;
}

/** Every rule a user change must pass, in the order they are checked. */
export const USER_CHANGE_RULES: readonly UserRule[] = [
  { rule: 'tenancy', check: tenancy },
  { rule: '1. who may manage users', check: whoMayManageUsers },
  { rule: 'role names', check: roleNames },
  { rule: '2. no acting upward', check: noActingUpward },
  { rule: '3. no granting upward', check: noGrantingUpward },
  { rule: '4. who sets system roles', check: whoSetsSystemRoles },
  { rule: '6. custom query timeout (who)', check: customTqlTimeoutAuthority },
  { rule: '7. terms of service flag', check: termsOfServiceFlag },
  { rule: '8. MFA', check: mfa },
  { rule: '5. role pairs', check: rolePairs },
  { rule: '9. new accounts: passwordResetRequired', check: passwordResetRequired },
  { rule: "11. disable, don't destroy: locked", check: locked },
  { rule: 'API-user-only attributes', check: apiOnlyAttributes },
  { rule: 'ranges and formats', check: rangesAndFormats },
];

/** Throws the DomainError of the first rule the change breaks; returns normally if allowed. */
export function authorizeUserChange(actor: Actor, settings: PolicySettings, change: UserChange): void {
  const current = change.action === 'create' ? undefined : change.current;
  const desired = change.action === 'delete' ? undefined : change.desired;
  const baseline = newUserBaseline(settings);
  const context: RuleContext = {
    actor,
    settings,
    action: change.action,
    current,
    desired,
    changes(attribute) {
      if (desired === undefined) return false;
      if (attribute === 'mfaEnabled' && desired.mfaEnabled === undefined) return false;
      const before = current !== undefined ? current[attribute] : (baseline as Partial<UserState>)[attribute];
      // On create, an attribute without a baseline (the roles, the ranged values) is set when given.
      if (current === undefined && !(attribute in baseline)) return attribute === 'systemRole' || attribute === 'organizationRole' || desired[attribute] != null;
      return !sameValue(before, desired[attribute]);
    },
  };
  for (const { check } of USER_CHANGE_RULES) {
    const error = check(context);
    if (error) throw error;
  }
}

/** Groups: managing user groups needs the same authority as managing users (rule 1). */
export function authorizeGroupChange(actor: Actor, settings: PolicySettings, organizationId: string): void {
  if (organizationId !== actor.organizationId) throw new DomainError('not_found', 'group.not_found', 'Group not found');
  if (!mayManageUsers(actor, settings.deploymentType)) {
    throw forbidden('group.manage_forbidden', `${mayOnlyRead(actor, settings.deploymentType, 'groups')}; managing user groups needs the same authority as managing users`);
  }
}

// ---------------------------------------------------------------------------------
// The rules, in the order of the table
// ---------------------------------------------------------------------------------

/** Rule 13: another organization's user does not exist for this actor. */
function tenancy({ actor, current, desired }: RuleContext) {
  const foreign = (u: { organizationId: string } | undefined) => u !== undefined && u.organizationId !== actor.organizationId;
  if (foreign(current) || foreign(desired)) return new DomainError('not_found', 'user.not_found', 'User not found');
  return undefined;
}

function whoMayManageUsers({ actor, settings }: RuleContext) {
  if (mayManageUsers(actor, settings.deploymentType)) return undefined;
  return forbidden('user.manage_forbidden', mayOnlyRead(actor, settings.deploymentType, 'users'));
}

/** The caller canonicalises case; a role name that is still not canonical is no role. */
function roleNames({ desired }: RuleContext) {
  if (desired === undefined) return undefined;
  if (!(SYSTEM_ROLES as readonly string[]).includes(desired.systemRole)) {
    return invalidValue('user.system_role_unknown', `"${desired.systemRole}" is not a system role; system roles are ${list(SYSTEM_ROLES)}`);
  }
  if (!(ORGANIZATION_ROLES as readonly string[]).includes(desired.organizationRole)) {
    return invalidValue(
      'user.organization_role_unknown',
      `"${desired.organizationRole}" is not an organization role; organization roles are ${list(ORGANIZATION_ROLES)}`,
    );
  }
  return undefined;
}

function noActingUpward({ actor, action, current }: RuleContext) {
  if (current === undefined || rankOf(current.systemRole) <= rankOf(actor.systemRole, 0)) return undefined;
  return forbidden(
    'user.act_upward',
    `${describe(actor)} cannot ${action === 'delete' ? 'delete' : 'edit'} a user whose system role is ${current.systemRole} (rule: no acting upward)`,
  );
}

function noGrantingUpward({ actor, desired, changes }: RuleContext) {
  if (desired === undefined || !changes('systemRole') || rankOf(desired.systemRole) <= rankOf(actor.systemRole, 0)) return undefined;
  return forbidden(
    'user.grant_upward',
    `${describe(actor)} cannot give the system role ${desired.systemRole}, which ranks above its own (rule: no granting upward)`,
  );
}

function whoSetsSystemRoles({ actor, desired, changes }: RuleContext) {
  if (desired === undefined || !changes('systemRole') || maySetSystemRoles(actor)) return undefined;
  if (Object.values(IMPLIED_SYSTEM_ROLES).includes(desired.systemRole)) return undefined;
  return forbidden(
    'user.system_role_not_implied',
    `${describe(actor)} cannot set the system role ${desired.systemRole}: only Administrators and Operations Administrators ` +
      `may choose a system role; for anyone else it is the one the account type implies, ` +
      `User (standard), Api User (API) or Read Only User (read-only) (rule: who sets system roles)`,
  );
}

function customTqlTimeoutAuthority({ actor, current, desired, changes }: RuleContext) {
  if (desired === undefined || !changes('customTqlTimeout') || maySetSystemRoles(actor)) return undefined;
  const clearing = current !== undefined && desired.customTqlTimeout === null;
  return forbidden(
    'user.custom_tql_timeout_forbidden',
    `only Administrators and Operations Administrators may ${clearing ? 'clear' : 'set'} customTqlTimeout, ` +
      `not ${describe(actor)} (rule: custom query timeout)`,
  );
}

function termsOfServiceFlag({ actor, settings, desired, changes }: RuleContext) {
  if (desired === undefined || !changes('termsOfServiceAcceptanceRequired')) return undefined;
  if (!maySetSystemRoles(actor)) {
    return forbidden(
      'user.terms_flag_forbidden',
      `only Administrators and Operations Administrators may change termsOfServiceAcceptanceRequired, not ${describe(actor)} ` +
        `(rule: terms of service flag; a new user gets it ${settings.termsOfServiceRequireNewUserToAccept ? 'on' : 'off'} on this instance)`,
    );
  }
  if (desired.termsOfServiceAcceptanceRequired && !settings.termsOfServiceRequireNewUserToAccept) {
    return forbidden(
      'user.terms_flag_setting_off',
      'termsOfServiceAcceptanceRequired can only be turned on while the instance setting ' +
        'termsOfServiceRequireNewUserToAccept is on (rule: terms of service flag)',
    );
  }
  return undefined;
}

function mfa({ settings, desired, changes }: RuleContext) {
  if (desired === undefined || !changes('mfaEnabled')) return undefined;
  if (settings.twoFactorAuthenticationRequired && desired.mfaEnabled === false) {
    return forbidden(
      'user.mfa_required',
      'MFA cannot be turned off for a user while the instance setting twoFactorAuthenticationRequired is on (rule: MFA)',
    );
  }
  return new DomainError(
    'mutability',
    'user.mfa_enabled_read_only',
    "mfaEnabled is read-only: it reflects the user's own MFA enrolment; set mfaResetRequired to make the user enrol again (rule: MFA)",
  );
}

function rolePairs({ desired, changes }: RuleContext) {
  if (desired === undefined || !(changes('systemRole') || changes('organizationRole'))) return undefined;
  const allowed = ROLE_PAIRS[desired.systemRole];
  if (allowed === undefined || allowed.includes(desired.organizationRole)) return undefined;
  return invalidValue(
    'user.role_pair_invalid',
    `system role ${desired.systemRole} requires organization role ${list(allowed, 'or')}, not ${desired.organizationRole} (rule: role pairs)`,
  );
}

function passwordResetRequired({ desired, changes }: RuleContext) {
  if (desired === undefined || !changes('passwordResetRequired') || desired.passwordResetRequired) return undefined;
  return invalidValue(
    'user.password_reset_cannot_clear',
    'passwordResetRequired cannot be cleared: it starts true and is cleared only when the user changes the password (rule: new accounts)',
  );
}

function locked({ desired, changes }: RuleContext) {
  if (desired === undefined || !changes('locked') || !desired.locked) return undefined;
  return invalidValue(
    'user.locked_set_by_platform',
    "locked cannot be set: the platform locks an account after failed sign-ins, and an administrator may only clear it (rule: disable, don't destroy)",
  );
}

function apiOnlyAttributes({ desired, changes }: RuleContext) {
  if (desired === undefined || API_SYSTEM_ROLES.includes(desired.systemRole)) return undefined;
  for (const attribute of API_ONLY_ATTRIBUTES) {
    if (desired[attribute] === null || !(changes(attribute) || changes('systemRole'))) continue;
    return invalidValue(
      'user.api_only_attribute',
      `${attribute} applies only to API users (system role ${list(API_SYSTEM_ROLES, 'or')}), not to system role ${desired.systemRole}; ` +
        `leave it null`,
    );
  }
  return undefined;
}

function rangesAndFormats({ desired, changes }: RuleContext) {
  if (desired === undefined) return undefined;
  for (const [attribute, range] of Object.entries(INTEGER_RANGES) as [keyof typeof INTEGER_RANGES, (typeof INTEGER_RANGES)[keyof typeof INTEGER_RANGES]][]) {
    const value: unknown = desired[attribute];
    if (value === null || !changes(attribute)) continue;
    if (typeof value !== 'number' || !Number.isInteger(value) || value < range.min || value > range.max) {
      return invalidValue(
        `user.${snake(attribute)}_invalid`,
        `${attribute} must be a whole number of ${range.unit} from ${grouped(range.min)} to ${grouped(range.max)}, ` +
          `or null for ${range.whenNull}; got ${JSON.stringify(value)}`,
      );
    }
  }
  if (desired.summaryEmailTime !== null && changes('summaryEmailTime')) {
    if (typeof desired.summaryEmailTime !== 'string' || !SUMMARY_EMAIL_TIME.test(desired.summaryEmailTime)) {
      return invalidValue(
        'user.summary_email_time_invalid',
        `summaryEmailTime must be a time of day as HH:MM on a 24-hour clock, e.g. 07:30; got ${JSON.stringify(desired.summaryEmailTime)}`,
      );
    }
  }
  if (desired.timezone !== null && changes('timezone') && !isTimeZone(desired.timezone)) {
    return invalidValue(
      'user.timezone_invalid',
      `timezone must be an IANA time zone such as Europe/Berlin or America/New_York; got ${JSON.stringify(desired.timezone)}`,
    );
  }
  return undefined;
}

// ---------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------

/** A role of no known rank ranks above everything (fails closed); an actor's, below. */
function rankOf(role: string, unknown = Number.POSITIVE_INFINITY): number {
  return (SYSTEM_ROLE_RANK as Record<string, number>)[role] ?? unknown;
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (a == null && b == null);
}

/** An IANA zone name (or alias) Node's ICU knows; UTC offsets such as "+05:00" are not zone names. */
function isTimeZone(name: unknown): boolean {
  if (typeof name !== 'string' || name.trim() === '' || /^[+-]/.test(name.trim())) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: name });
    return true;
  } catch {
    return false;
  }
}

/** "an Operations Administrator", or for actors of a rank-1 system role "an Organization Administrator with system role User". */
function describe(actor: Actor): string {
  if (rankOf(actor.systemRole, 0) > 1) return `${article(actor.systemRole)} ${actor.systemRole}`;
  return `${article(actor.organizationRole)} ${actor.organizationRole} with system role ${actor.systemRole}`;
}

function mayOnlyRead(actor: Actor, deploymentType: DeploymentType, what: 'users' | 'groups'): string {
  const accountsAdministrator =
    actor.systemRole === 'Accounts Administrator'
      ? `; Accounts Administrators manage users only on dedicated and on-premises instances, and this one is ${deploymentType}`
      : ', or Accounts Administrator on dedicated and on-premises instances';
  return (
    `a credential with system role ${actor.systemRole} and organization role ${actor.organizationRole} may only read ${what} ` +
    `(rule: who may manage users; it takes organization role Organization Administrator, ` +
    `or system role Administrator, Operations Administrator or Super User${accountsAdministrator})`
  );
}

function article(word: string): string {
  return /^[AEIOU]/i.test(word) ? 'an' : 'a';
}

function list(items: readonly string[], last = 'and'): string {
  return items.length <= 1 ? items.join('') : `${items.slice(0, -1).join(', ')} ${last} ${items[items.length - 1]}`;
}

function grouped(n: number): string {
  return n.toLocaleString('en-US');
}

function snake(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}
