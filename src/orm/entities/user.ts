import { EntitySchema } from '@mikro-orm/core';
import { jsonArray, text, timestamps, uuidKey } from './columns';
import type { OrganizationEntity } from './organization';

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
