import type { Actor } from './actor';
import { DomainError, forbidden, invalidValue } from './errors';
import {
  API_ONLY_ATTRIBUTES,
  API_SYSTEM_ROLES,
  IMPLIED_SYSTEM_ROLES,
  INTEGER_RANGES,
  ROLE_PAIRS,
  SUMMARY_EMAIL_TIME,
  mayManageUsers,
  maySetSystemRoles,
  rankOf,
  type PolicySettings,
  type UserChange,
  type UserState,
  type UserWish,
} from './policy-rule-book';
import { describe, grouped, list, mayOnlyRead, snake } from './policy-wording';
import { ORGANIZATION_ROLES, SYSTEM_ROLES } from './roles';

/**
 * The rule table of a user change (policy.ts runs it): one pure check per rule of
 * DOMAIN.md, in the order they are checked.
 */

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
  /** The rule in words, as DOMAIN.md states it (the request log shows it beside a refusal). */
  says: string;
  /** The dotted codes of the errors this rule refuses with. */
  codes: readonly string[];
  /** The error the change breaks the rule with, or undefined. */
  check(c: RuleContext): DomainError | undefined;
}

/** Every rule a user change must pass, in the order they are checked. */
export const USER_CHANGE_RULES: readonly UserRule[] = [
  {
    rule: '13. tenancy',
    says: 'a credential of one organization can never see, count, change or learn of users or groups of another',
    codes: ['user.not_found'],
    check: tenancy,
  },
  {
    rule: '1. who may manage users',
    says:
      'an actor may create, edit and delete users of its organization when its organization role is Organization Administrator, ' +
      'or its system role is Administrator, Operations Administrator or Super User, or Accounts Administrator on a dedicated or ' +
      'on-premises instance; everyone else may only read',
    codes: ['user.manage_forbidden', 'group.manage_forbidden'],
    check: whoMayManageUsers,
  },
  {
    rule: 'role names',
    says: 'a role must be one of the system roles or organization roles the platform defines',
    codes: ['user.system_role_unknown', 'user.organization_role_unknown'],
    check: roleNames,
  },
  {
    rule: '2. no acting upward',
    says: 'an actor may not edit or delete a user whose system role ranks above its own',
    codes: ['user.act_upward'],
    check: noActingUpward,
  },
  {
    rule: '3. no granting upward',
    says: 'an actor may never give a system role that ranks above its own',
    codes: ['user.grant_upward'],
    check: noGrantingUpward,
  },
  {
    rule: '4. who sets system roles',
    says:
      "only Administrators and Operations Administrators may choose a user's system role; for anyone else it is the one " +
      'the account type implies: User (standard), Api User (API) or Read Only User (read-only)',
    codes: ['user.system_role_not_implied'],
    check: whoSetsSystemRoles,
  },
  {
    rule: '6. custom query timeout',
    says: 'only Administrators and Operations Administrators may set or clear customTqlTimeout',
    codes: ['user.custom_tql_timeout_forbidden'],
    check: customTqlTimeoutAuthority,
  },
  {
    rule: '7. terms of service flag',
    says: 'only Administrators and Operations Administrators may set it, and only while termsOfServiceRequireNewUserToAccept is on',
    codes: ['user.terms_flag_forbidden', 'user.terms_flag_setting_off'],
    check: termsOfServiceFlag,
  },
  {
    rule: '8. MFA',
    says: "mfaEnabled is read-only (it reflects the user's own enrolment); while twoFactorAuthenticationRequired is on, MFA cannot be turned off",
    codes: ['user.mfa_required', 'user.mfa_enabled_read_only'],
    check: mfa,
  },
  {
    rule: '5. role pairs',
    says:
      'system role Super User requires organization role Organization Administrator; system role Read Only User requires ' +
      'organization role Read Only User or Read Only Commenter',
    codes: ['user.role_pair_invalid'],
    check: rolePairs,
  },
  {
    rule: '9. new accounts',
    says: 'passwordResetRequired starts true and is cleared only when the user changes the password',
    codes: ['user.password_reset_cannot_clear'],
    check: passwordResetRequired,
  },
  {
    rule: "11. disable, don't destroy",
    says: 'locked is set by the platform after failed sign-ins; an administrator may only clear it',
    codes: ['user.locked_set_by_platform'],
    check: locked,
  },
  {
    rule: 'API-user-only attributes',
    says: `${list(API_ONLY_ATTRIBUTES)} apply only to API users (system role ${list(API_SYSTEM_ROLES, 'or')})`,
    codes: ['user.api_only_attribute'],
    check: apiOnlyAttributes,
  },
  {
    rule: 'ranges and formats',
    says: 'customTqlTimeout, tokenExpirationDays and logoutAfterMinutes are whole numbers in their ranges; summaryEmailTime is HH:MM; timezone is an IANA zone',
    codes: [...Object.keys(INTEGER_RANGES).map((a) => `user.${snake(a)}_invalid`), 'user.summary_email_time_invalid', 'user.timezone_invalid'],
    check: rangesAndFormats,
  },
];

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
    return forbidden('user.mfa_required', 'MFA cannot be turned off for a user while the instance setting twoFactorAuthenticationRequired is on (rule: MFA)');
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
      `${attribute} applies only to API users (system role ${list(API_SYSTEM_ROLES, 'or')}), not to system role ${desired.systemRole}; ` + `leave it null`,
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
