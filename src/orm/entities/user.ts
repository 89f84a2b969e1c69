import { EntitySchema } from '@mikro-orm/core';
import { USER_RESOURCE } from '../../schema/resources';
import { registryColumns, text, timestamps, uuidKey } from './columns';
import type { OrganizationEntity } from './organization';

/**
 * A users row: the attributes' columns come from the attribute registry (see
 * registryColumns); the rest is the store's own.
 */
export interface UserEntity {
  id: string;
  organization: OrganizationEntity;
  passwordHash: string | null;
  systemRoleGroupId: string | null;
  organizationRoleGroupId: string | null;
  directSystemRole: string | null;
  directOrganizationRole: string | null;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  [attributeColumn: string]: unknown;
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
    ...registryColumns(USER_RESOURCE),
    passwordHash: text,
    // Roles from groups (group_role_mappings): the group granting the effective role
    // (null: set directly), and the directly set role kept while a group overrides it.
    systemRoleGroupId: { type: 'uuid', nullable: true },
    organizationRoleGroupId: { type: 'uuid', nullable: true },
    directSystemRole: text,
    directOrganizationRole: text,
    version: { type: 'integer', default: 1 },
    ...timestamps,
  },
});
