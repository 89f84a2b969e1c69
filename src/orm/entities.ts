import { EntitySchema } from '@mikro-orm/core';

/**
 * The persistence model. These schemas are the source the committed migrations are
 * generated from, and a test proves the two agree. Hot paths read and write through
 * plain SQL in the repositories; these entities name the tables and columns.
 */
export interface OrganizationEntity {
  id: string;
  slug: string;
  name: string;
  /** License limits per account type; null means unlimited. */
  standardUserLimit: number | null;
  apiUserLimit: number | null;
  taxiiUserLimit: number | null;
  readOnlyUserLimit: number | null;
  apiUsersAllowed: boolean;
  readOnlyUsersFree: boolean;
  createdAt: Date;
  updatedAt: Date;
}

const timestamps = {
  createdAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' },
  updatedAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' },
} as const;

const uuidKey = { type: 'uuid', primary: true, defaultRaw: 'gen_random_uuid()' } as const;

export const Organization = new EntitySchema<OrganizationEntity>({
  name: 'Organization',
  tableName: 'organizations',
  properties: {
    id: uuidKey,
    slug: { type: 'text', unique: 'organizations_slug_unique' },
    name: { type: 'text' },
    standardUserLimit: { type: 'integer', nullable: true },
    apiUserLimit: { type: 'integer', nullable: true },
    taxiiUserLimit: { type: 'integer', nullable: true },
    readOnlyUserLimit: { type: 'integer', nullable: true },
    apiUsersAllowed: { type: 'boolean', default: true },
    readOnlyUsersFree: { type: 'boolean', default: false },
    ...timestamps,
  },
});

export interface UserEntity {
  id: string;
  organization: OrganizationEntity;
  userName: string;
  externalId: string | null;
  displayName: string | null;
  nickName: string | null;
  profileUrl: string | null;
  title: string | null;
  userType: string | null;
  preferredLanguage: string | null;
  locale: string | null;
  timezone: string | null;
  nameFormatted: string | null;
  nameFamilyName: string | null;
  nameGivenName: string | null;
  nameMiddleName: string | null;
  nameHonorificPrefix: string | null;
  nameHonorificSuffix: string | null;
  active: boolean;
  emails: unknown[];
  phoneNumbers: unknown[];
  ims: unknown[];
  photos: unknown[];
  addresses: unknown[];
  entitlements: unknown[];
  roles: unknown[];
  x509Certificates: unknown[];
  enterprise: Record<string, unknown> | null;
  systemRole: string;
  organizationRole: string;
  customTqlTimeout: number | null;
  locked: boolean;
  passwordResetRequired: boolean;
  mfaEnabled: boolean;
  mfaResetRequired: boolean;
  termsOfServiceAcceptanceRequired: boolean;
  logoutAfterMinutes: number | null;
  summaryEmailTime: string | null;
  tokenExpirationDays: number | null;
  includeInObservations: boolean | null;
  allowExceedApiLinkLimit: boolean | null;
  passwordHash: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

const text = { type: 'text', nullable: true } as const;
const jsonArray = { type: 'json', columnType: 'jsonb', defaultRaw: `'[]'::jsonb` } as const;

export const User = new EntitySchema<UserEntity>({
  name: 'User',
  tableName: 'users',
  indexes: [
    { name: 'users_organization_external_id_index', properties: ['organization', 'externalId'] },
    { name: 'users_organization_created_index', properties: ['organization', 'createdAt', 'id'] },
    {
      name: 'users_organization_user_name_lower_index',
      expression: 'create index "users_organization_user_name_lower_index" on "users" ("organization_id", lower("user_name"), "id")',
    },
    {
      // Finds the users a deleted user managed (enterprise manager.value), to unlink them.
      name: 'users_organization_manager_index',
      expression:
        `create index "users_organization_manager_index" on "users" ("organization_id", lower("enterprise" #>> '{manager,value}')) ` +
        `where ("enterprise" #>> '{manager,value}') is not null`,
    },
  ],
  uniques: [
    {
      name: 'users_user_name_lower_unique',
      expression: 'create unique index "users_user_name_lower_unique" on "users" (lower("user_name"))',
    },
  ],
  properties: {
    id: uuidKey,
    organization: { kind: 'm:1', entity: 'Organization', deleteRule: 'cascade' },
    userName: { type: 'text' },
    externalId: text,
    displayName: text,
    nickName: text,
    profileUrl: text,
    title: text,
    userType: text,
    preferredLanguage: text,
    locale: text,
    timezone: text,
    nameFormatted: text,
    nameFamilyName: text,
    nameGivenName: text,
    nameMiddleName: text,
    nameHonorificPrefix: text,
    nameHonorificSuffix: text,
    active: { type: 'boolean', default: true },
    emails: jsonArray,
    phoneNumbers: jsonArray,
    ims: jsonArray,
    photos: jsonArray,
    addresses: jsonArray,
    entitlements: jsonArray,
    roles: jsonArray,
    x509Certificates: { ...jsonArray, fieldName: 'x509_certificates' },
    enterprise: { type: 'json', columnType: 'jsonb', nullable: true },
    systemRole: { type: 'text' },
    organizationRole: { type: 'text' },
    customTqlTimeout: { type: 'integer', nullable: true },
    locked: { type: 'boolean', default: false },
    passwordResetRequired: { type: 'boolean', default: true },
    mfaEnabled: { type: 'boolean', default: false },
    mfaResetRequired: { type: 'boolean', default: false },
    termsOfServiceAcceptanceRequired: { type: 'boolean', default: false },
    logoutAfterMinutes: { type: 'integer', nullable: true },
    summaryEmailTime: text,
    tokenExpirationDays: { type: 'integer', nullable: true },
    includeInObservations: { type: 'boolean', nullable: true },
    allowExceedApiLinkLimit: { type: 'boolean', nullable: true },
    passwordHash: text,
    version: { type: 'integer', default: 1 },
    ...timestamps,
  },
});

export interface GroupEntity {
  id: string;
  organization: OrganizationEntity;
  displayName: string;
  externalId: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
}

export const Group = new EntitySchema<GroupEntity>({
  name: 'Group',
  tableName: 'groups',
  indexes: [
    { name: 'groups_organization_external_id_index', properties: ['organization', 'externalId'] },
    { name: 'groups_organization_created_index', properties: ['organization', 'createdAt', 'id'] },
  ],
  uniques: [
    {
      name: 'groups_organization_display_name_lower_unique',
      expression:
        'create unique index "groups_organization_display_name_lower_unique" on "groups" ("organization_id", lower("display_name"))',
    },
  ],
  properties: {
    id: uuidKey,
    organization: { kind: 'm:1', entity: 'Organization', deleteRule: 'cascade' },
    displayName: { type: 'text' },
    externalId: text,
    version: { type: 'integer', default: 1 },
    ...timestamps,
  },
});

export interface GroupMemberEntity {
  group: GroupEntity;
  user: UserEntity;
  createdAt: Date;
}

export const GroupMember = new EntitySchema<GroupMemberEntity>({
  name: 'GroupMember',
  tableName: 'group_members',
  indexes: [{ name: 'group_members_user_index', properties: ['user', 'group'] }],
  properties: {
    group: { kind: 'm:1', entity: 'Group', primary: true, deleteRule: 'cascade' },
    user: { kind: 'm:1', entity: 'User', primary: true, deleteRule: 'cascade' },
    createdAt: timestamps.createdAt,
  },
});

export interface ApiCredentialEntity {
  id: string;
  organization: OrganizationEntity;
  name: string;
  secretHash: string;
  systemRole: string;
  organizationRole: string;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}

export const ApiCredential = new EntitySchema<ApiCredentialEntity>({
  name: 'ApiCredential',
  tableName: 'api_credentials',
  properties: {
    id: uuidKey,
    organization: { kind: 'm:1', entity: 'Organization', deleteRule: 'cascade' },
    name: { type: 'text' },
    secretHash: { type: 'text', unique: 'api_credentials_secret_hash_unique' },
    systemRole: { type: 'text' },
    organizationRole: { type: 'text' },
    createdAt: timestamps.createdAt,
    lastUsedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    expiresAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    revokedAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});

export interface InstanceSettingEntity {
  key: string;
  value: unknown;
  updatedAt: Date;
}

/** Instance settings, one row per key; a missing key has its default (see domain/settings.ts). */
export const InstanceSetting = new EntitySchema<InstanceSettingEntity>({
  name: 'InstanceSetting',
  tableName: 'instance_settings',
  properties: {
    key: { type: 'text', primary: true },
    value: { type: 'json', columnType: 'jsonb' },
    updatedAt: timestamps.updatedAt,
  },
});

export interface AuditEventEntity {
  /** Increases with every event, so events of one transaction keep their order. */
  id: string;
  occurredAt: Date;
  organizationId: string | null;
  credentialId: string | null;
  actor: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  targetName: string | null;
  details: Record<string, unknown>;
}

/**
 * The audit trail. No foreign keys: an event outlives the user, group or credential
 * it names (deleting a user keeps its trail).
 */
export const AuditEvent = new EntitySchema<AuditEventEntity>({
  name: 'AuditEvent',
  tableName: 'audit_events',
  indexes: [
    { name: 'audit_events_organization_occurred_index', properties: ['organizationId', 'occurredAt'] },
    { name: 'audit_events_target_index', properties: ['targetId'] },
  ],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    occurredAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'clock_timestamp()' },
    organizationId: { type: 'uuid', nullable: true },
    credentialId: { type: 'uuid', nullable: true },
    actor: { type: 'text' },
    action: { type: 'text' },
    targetType: { type: 'text', nullable: true },
    targetId: { type: 'uuid', nullable: true },
    targetName: { type: 'text', nullable: true },
    details: { type: 'json', columnType: 'jsonb', defaultRaw: `'{}'::jsonb` },
  },
});

/*
 * The order-statistic index of an organization's users (orm/user-order.ts): how many
 * users each key range holds, in userName order and in creation order, so a page deep
 * in a list starts from a counted range instead of an OFFSET over every row before it.
 * Triggers on `users` append a delta per insert, delete or rename (writers never
 * contend on a counter); a background compaction folds deltas into the ranges and
 * splits ranges that grew too large.
 */
export interface UserOrderDeltaEntity {
  id: string;
  organizationId: string;
  /** lower(userName): the userName order's key. */
  nameKey: string;
  /** created_at then user id: the default order's key. */
  createdAt: Date;
  userId: string;
  /** +1 (a user entered) or -1 (a user left). */
  delta: number;
}

export const UserOrderDelta = new EntitySchema<UserOrderDeltaEntity>({
  name: 'UserOrderDelta',
  tableName: 'user_order_deltas',
  indexes: [{ name: 'user_order_deltas_organization_index', properties: ['organizationId'] }],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    organizationId: { type: 'uuid' },
    nameKey: { type: 'text' },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    userId: { type: 'uuid' },
    delta: { type: 'smallint' },
  },
});

export interface UserNameRangeEntity {
  organization: OrganizationEntity;
  /** The smallest lower(userName) of the range; '' for the first. */
  lowerBound: string;
  size: number;
  /** Users in the ranges before this one, as of the last compaction. */
  rowsBefore: number;
}

export const UserNameRange = new EntitySchema<UserNameRangeEntity>({
  name: 'UserNameRange',
  tableName: 'user_name_ranges',
  properties: {
    organization: { kind: 'm:1', entity: 'Organization', primary: true, deleteRule: 'cascade' },
    lowerBound: { type: 'text', primary: true },
    size: { type: 'integer' },
    rowsBefore: { type: 'integer', default: 0 },
  },
});

export interface UserCreatedRangeEntity {
  organization: OrganizationEntity;
  /** The smallest (created_at, id) of the range; (-infinity, nil uuid) for the first. */
  lowerCreatedAt: Date;
  lowerId: string;
  size: number;
  /** Users in the ranges before this one, as of the last compaction. */
  rowsBefore: number;
}

export const UserCreatedRange = new EntitySchema<UserCreatedRangeEntity>({
  name: 'UserCreatedRange',
  tableName: 'user_created_ranges',
  properties: {
    organization: { kind: 'm:1', entity: 'Organization', primary: true, deleteRule: 'cascade' },
    lowerCreatedAt: { type: 'Date', columnType: 'timestamptz', primary: true },
    lowerId: { type: 'uuid', primary: true },
    size: { type: 'integer' },
    rowsBefore: { type: 'integer', default: 0 },
  },
});

/*
 * How many users of each account type an organization has, for license checks
 * (domain/license.ts) that must not count a million rows on every create. Kept like
 * the order-statistic index: triggers on `users` append a delta per statement and
 * account type (writers never contend on a counter row), a background compaction
 * folds the deltas into `user_account_counts`; a reader adds the pending deltas.
 */
export interface UserAccountCountEntity {
  organization: OrganizationEntity;
  /** domain/roles.ts accountTypeOf: standard, api, taxii or readOnly. */
  accountType: string;
  /** Users of this type as of the last compaction. */
  users: number;
}

export const UserAccountCount = new EntitySchema<UserAccountCountEntity>({
  name: 'UserAccountCount',
  tableName: 'user_account_counts',
  properties: {
    organization: { kind: 'm:1', entity: 'Organization', primary: true, deleteRule: 'cascade' },
    accountType: { type: 'text', primary: true },
    users: { type: 'integer' },
  },
});

export interface UserAccountDeltaEntity {
  id: string;
  organizationId: string;
  accountType: string;
  /** Users of this type that one statement added (positive) or removed (negative). */
  delta: number;
}

export const UserAccountDelta = new EntitySchema<UserAccountDeltaEntity>({
  name: 'UserAccountDelta',
  tableName: 'user_account_deltas',
  indexes: [{ name: 'user_account_deltas_organization_type_index', properties: ['organizationId', 'accountType'] }],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    organizationId: { type: 'uuid' },
    accountType: { type: 'text' },
    delta: { type: 'integer' },
  },
});

/**
 * Rate-limit counters shared by every instance (ROSTER_RATE_LIMIT_STORE=postgres):
 * rate-limiter-flexible's RateLimiterPostgres table, one row per key (a credential's
 * requests, an address's failed authentications) with the points taken in the current
 * window and when it ends (ms since the epoch).
 */
export interface RateLimitCounterEntity {
  key: string;
  points: number;
  expire: string | null;
}

export const RateLimitCounter = new EntitySchema<RateLimitCounterEntity>({
  name: 'RateLimitCounter',
  tableName: 'rate_limit_counters',
  properties: {
    key: { type: 'string', columnType: 'varchar(255)', primary: true },
    points: { type: 'integer', default: 0 },
    expire: { type: 'bigint', nullable: true },
  },
});

export const entities = [
  Organization,
  User,
  Group,
  GroupMember,
  ApiCredential,
  InstanceSetting,
  AuditEvent,
  UserOrderDelta,
  UserNameRange,
  UserCreatedRange,
  UserAccountCount,
  UserAccountDelta,
  RateLimitCounter,
];
