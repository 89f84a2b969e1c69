import { accountTypeOf, type OrganizationRole, type SystemRole } from './roles';

/** An element of a multi-valued complex attribute (emails, phoneNumbers, addresses...). */
export type MultiValue = Record<string, unknown>;

export interface PersonName {
  formatted?: string;
  familyName?: string;
  givenName?: string;
  middleName?: string;
  honorificPrefix?: string;
  honorificSuffix?: string;
}

/** What a client may set on a user: its profile and its account settings. */
export interface UserFields {
  userName: string;
  externalId: string | null;
  name: PersonName;
  displayName: string | null;
  nickName: string | null;
  profileUrl: string | null;
  title: string | null;
  userType: string | null;
  preferredLanguage: string | null;
  locale: string | null;
  timezone: string | null;
  /** The SCIM face of "disabled": false disables sign-in and API keys at once. */
  active: boolean;
  emails: MultiValue[];
  phoneNumbers: MultiValue[];
  ims: MultiValue[];
  photos: MultiValue[];
  addresses: MultiValue[];
  entitlements: MultiValue[];
  roles: MultiValue[];
  x509Certificates: MultiValue[];
  /** The enterprise extension's attributes, as given (employeeNumber, manager...). */
  enterprise: Record<string, unknown> | null;
  systemRole: SystemRole;
  organizationRole: OrganizationRole;
  customTqlTimeout: number | null;
  locked: boolean;
  passwordResetRequired: boolean;
  mfaResetRequired: boolean;
  termsOfServiceAcceptanceRequired: boolean;
  logoutAfterMinutes: number | null;
  summaryEmailTime: string | null;
  tokenExpirationDays: number | null;
  includeInObservations: boolean | null;
  allowExceedApiLinkLimit: boolean | null;
  /**
   * Set when the user is created: the platform sends them an e-mail with their account
   * details ("Send Account Info E-mail"). Write-only; later changes leave it as it was.
   */
  sendAccountInfoEmail: boolean;
}

export interface User extends UserFields {
  id: string;
  organizationId: string;
  /** Reflects the user's own MFA enrolment; never set through provisioning. */
  mfaEnabled: boolean;
  passwordHash: string | null;
  /** The group whose mapping grants the effective system role; null when it is set on the user directly. */
  systemRoleGroupId: string | null;
  /** The group whose mapping grants the effective organization role; null when it is set on the user directly. */
  organizationRoleGroupId: string | null;
  createdAt: Date;
  updatedAt: Date;
  /** Increases with every change; the SCIM adapter shows it as a weak ETag. */
  version: number;
}

/** A user as a client wants it: the fields, and a new password if one was sent. */
export interface UserDraft extends Partial<UserFields> {
  userName: string;
  password?: string;
  /** Only when the request carried it: read-only, so the policy refuses a change. */
  mfaEnabled?: boolean;
}

export const USER_DEFAULTS: Omit<UserFields, 'userName'> = {
  externalId: null,
  name: {},
  displayName: null,
  nickName: null,
  profileUrl: null,
  title: null,
  userType: null,
  preferredLanguage: null,
  locale: null,
  timezone: null,
  active: true,
  emails: [],
  phoneNumbers: [],
  ims: [],
  photos: [],
  addresses: [],
  entitlements: [],
  roles: [],
  x509Certificates: [],
  enterprise: null,
  systemRole: 'User',
  organizationRole: 'Standard User',
  customTqlTimeout: null,
  locked: false,
  passwordResetRequired: true,
  mfaResetRequired: false,
  termsOfServiceAcceptanceRequired: false,
  logoutAfterMinutes: null,
  summaryEmailTime: null,
  tokenExpirationDays: null,
  includeInObservations: null,
  allowExceedApiLinkLimit: null,
  sendAccountInfoEmail: false,
};

/** A user's account settings, for readers outside SCIM (`roster export`); the write-only `sendAccountInfoEmail` included. */
export function accountSettingsOf(user: User) {
  return {
    systemRole: user.systemRole,
    organizationRole: user.organizationRole,
    accountType: accountTypeOf(user.systemRole),
    customTqlTimeout: user.customTqlTimeout,
    locked: user.locked,
    passwordResetRequired: user.passwordResetRequired,
    mfaEnabled: user.mfaEnabled,
    mfaResetRequired: user.mfaResetRequired,
    termsOfServiceAcceptanceRequired: user.termsOfServiceAcceptanceRequired,
    logoutAfterMinutes: user.logoutAfterMinutes,
    summaryEmailTime: user.summaryEmailTime,
    tokenExpirationDays: user.tokenExpirationDays,
    includeInObservations: user.includeInObservations,
    allowExceedApiLinkLimit: user.allowExceedApiLinkLimit,
    sendAccountInfoEmail: user.sendAccountInfoEmail,
  };
}
