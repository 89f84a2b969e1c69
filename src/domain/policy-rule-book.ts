import type { Actor } from './actor';
import { SYSTEM_ROLE_RANK, type OrganizationRole, type SystemRole } from './roles';
import type { UserFields } from './user';

/**
 * The rule book of the user policy (policy.ts): what the rules speak about (settings,
 * the user as stored and as asked for), their constants, what a new user has before a
 * client says otherwise, and the questions the rules ask about an actor.
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
  { action: 'create'; desired: UserWish } | { action: 'update'; current: UserState; desired: UserWish } | { action: 'delete'; current: UserState };

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

/** A role of no known rank ranks above everything (fails closed); an actor's, below. */
export function rankOf(role: string, unknown = Number.POSITIVE_INFINITY): number {
  return (SYSTEM_ROLE_RANK as Record<string, number>)[role] ?? unknown;
}
