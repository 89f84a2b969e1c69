import { DomainError, invalidValue } from './errors';
import { recomputeRoles, type GroupRoleMapping, type RoleChange } from './group-role';
import type { Group } from './group';
import type { Repositories, UnitOfWork } from './ports';
import { organizationRoleNamed, systemRoleNamed } from './roles';

/** What an operator asks a group to grant: role names in any letter case, at least one. */
export interface GroupRoleRequest {
  organizationRole?: string;
  systemRole?: string;
}

/**
 * The operator's side of roles from groups (`roster group-roles`): setting, listing and
 * removing an organization's mappings. Each change recomputes the group's members in its
 * own transaction. A mapping is an operator's decision: no token's authority limits it
 * (the role pairs of rule 5 and the license still apply), and it is audited as `cli`.
 */
export class GroupRoleService {
  constructor(private readonly uow: UnitOfWork) {}

  list(organizationId: string): Promise<GroupRoleMapping[]> {
    return this.uow.read((r) => r.groupRoles.list(organizationId));
  }

  /** Makes the group named `displayName` grant these roles (replacing what it granted); returns the users whose roles changed. */
  async set(organizationId: string, displayName: string, request: GroupRoleRequest): Promise<RoleChange[]> {
    const systemRole = request.systemRole === undefined ? null : systemRoleNamed(request.systemRole);
    const organizationRole = request.organizationRole === undefined ? null : organizationRoleNamed(request.organizationRole);
    if (systemRole === undefined) throw invalidValue('group_role.system_role_unknown', `"${request.systemRole}" is not a system role`);
    if (organizationRole === undefined) throw invalidValue('group_role.organization_role_unknown', `"${request.organizationRole}" is not an organization role`);
    if (systemRole === null && organizationRole === null) {
      throw invalidValue('group_role.role_required', 'a mapping grants an organization role, a system role, or both');
    }
    return this.uow.write(async (r) => {
      const group = await lockGroup(r, organizationId, displayName);
      await r.groupRoles.lockRoles(organizationId);
      const before = await r.groupRoles.forGroup(group.id);
      await r.groupRoles.set({ organizationId, groupId: group.id, organizationRole, systemRole });
      const changes = await recomputeRoles(r, organizationId, { membersOf: group.id }, { group, change: 'mapping set' }, { operator: true });
      await r.audit.record(
        operatorEvent(group, 'group_role.set', {
          organizationRole,
          systemRole,
          ...(before ? { previous: { organizationRole: before.organizationRole, systemRole: before.systemRole } } : {}),
          usersChanged: changes.length,
        }),
      );
      return changes;
    });
  }

  /** Removes the mapping of the group named `displayName`; its members get back their direct roles (unless another group grants one). */
  async remove(organizationId: string, displayName: string): Promise<RoleChange[]> {
    return this.uow.write(async (r) => {
      const group = await lockGroup(r, organizationId, displayName);
      await r.groupRoles.lockRoles(organizationId);
      const before = await r.groupRoles.forGroup(group.id);
      if (!before || !(await r.groupRoles.remove(group.id))) {
        throw new DomainError('not_found', 'group_role.not_found', `group "${group.displayName}" grants no role`);
      }
      const changes = await recomputeRoles(r, organizationId, { membersOf: group.id }, { group, change: 'mapping removed' }, { operator: true });
      await r.audit.record(
        operatorEvent(group, 'group_role.removed', {
          organizationRole: before.organizationRole,
          systemRole: before.systemRole,
          usersChanged: changes.length,
        }),
      );
      return changes;
    });
  }
}

async function lockGroup(r: Repositories, organizationId: string, displayName: string): Promise<Group> {
  const group = await r.groups.lockByDisplayName(organizationId, displayName);
  if (!group) throw new DomainError('not_found', 'group.not_found', `no group named "${displayName.trim()}" in this organization`);
  return group;
}

const operatorEvent = (group: Group, action: string, details: Record<string, unknown>) => ({
  organizationId: group.organizationId,
  credentialId: null,
  actor: 'cli',
  action,
  targetType: 'group' as const,
  targetId: group.id,
  targetName: group.displayName,
  details,
});
