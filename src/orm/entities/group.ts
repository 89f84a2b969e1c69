import { EntitySchema } from '@mikro-orm/core';
import { GROUP_RESOURCE } from '../../schema/resources';
import { registryColumns, timestamps, uuidKey } from './columns';
import type { OrganizationEntity } from './organization';
import type { UserEntity } from './user';

/** A groups row: the attributes' columns come from the attribute registry (see registryColumns). */
export interface GroupEntity {
  id: string;
  organization: OrganizationEntity;
  version: number;
  createdAt: Date;
  updatedAt: Date;
  [attributeColumn: string]: unknown;
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
      expression: 'create unique index "groups_organization_display_name_lower_unique" on "groups" ("organization_id", lower("display_name"))',
    },
  ],
  properties: {
    id: uuidKey,
    organization: { kind: 'm:1', entity: 'Organization', deleteRule: 'cascade' },
    ...registryColumns(GROUP_RESOURCE),
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
