import { EntitySchema } from '@mikro-orm/core';
import type { GroupEntity } from './group';
import type { OrganizationEntity } from './organization';

export interface GroupRoleMappingEntity {
  group: GroupEntity;
  organization: OrganizationEntity;
  organizationRole: string | null;
  systemRole: string | null;
  createdAt: Date;
  updatedAt: Date;
}

/**
 * Identity-provider groups that grant roles (issue #15, docs/roles.md "Roles from
 * groups"): one row per mapped group, keyed by the group's id (a rename keeps the
 * mapping; deleting the group deletes it). At least one of the two roles is set.
 * Set and removed by an operator (`roster group-roles`), never through SCIM.
 */
export const GroupRoleMapping = new EntitySchema<GroupRoleMappingEntity>({
  name: 'GroupRoleMapping',
  tableName: 'group_role_mappings',
  indexes: [{ name: 'group_role_mappings_organization_index', properties: ['organization'] }],
  checks: [{ name: 'group_role_mappings_grants_a_role', expression: 'organization_role is not null or system_role is not null' }],
  properties: {
    group: { kind: 'm:1', entity: 'Group', primary: true, deleteRule: 'cascade' },
    organization: { kind: 'm:1', entity: 'Organization', deleteRule: 'cascade' },
    organizationRole: { type: 'text', nullable: true },
    systemRole: { type: 'text', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' },
    updatedAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'now()' },
  },
});
