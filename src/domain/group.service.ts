import type { Actor } from './actor';
import { invalidValue, notFound, uniqueness } from './errors';
import type { Group, GroupDraft, GroupMember, MembershipChange } from './group';
import { assertMay } from './policy';
import type { ListQuery, Page, Repositories } from './ports';
import { assertVersion, type ExpectedVersion, type ServiceDeps } from './user.service';

/** Creates, changes and removes user groups and their membership, in one transaction each. */
export class GroupService {
  constructor(private readonly deps: Omit<ServiceDeps, 'passwords'>) {}

  list(actor: Actor, query: ListQuery): Promise<Page<Group>> {
    return this.deps.uow.read((r) => r.groups.list(actor.organizationId, query));
  }

  async get(actor: Actor, id: string): Promise<Group> {
    const group = await this.deps.uow.read((r) => r.groups.findById(actor.organizationId, id));
    if (!group) throw notFound('Group', id);
    return group;
  }

  /** The members of each of these groups of the actor's organization, by group id. */
  membersOf(actor: Actor, groups: Group[]): Promise<Map<string, GroupMember[]>> {
    const ids = groups.filter((g) => g.organizationId === actor.organizationId).map((g) => g.id);
    return this.deps.uow.read((r) => r.groups.membersOf(ids));
  }

  async create(actor: Actor, draft: GroupDraft): Promise<Group> {
    assertMay(actor, 'create', 'group', this.deps.deploymentType);
    const displayName = validDisplayName(draft.displayName);
    return this.deps.uow.write(async (r) => {
      if (await r.groups.displayNameTaken(actor.organizationId, displayName)) throw displayNameTaken(displayName);
      const group = await r.groups.insert({
        organizationId: actor.organizationId,
        displayName,
        externalId: draft.externalId ?? null,
      });
      await applyMembership(r, actor.organizationId, group.id, draft.membership ?? []);
      return group;
    });
  }

  /**
   * Applies a change to one group. `change` sees the stored group (locked until the
   * transaction ends) and returns what the client wants; membership changes are
   * applied in order as row inserts and deletes, and bump the group's version.
   */
  async update(
    actor: Actor,
    id: string,
    change: (current: Group) => GroupDraft | Promise<GroupDraft>,
    expectedVersion?: ExpectedVersion,
  ): Promise<Group> {
    return this.deps.uow.write(async (r) => {
      const current = await r.groups.lockById(actor.organizationId, id);
      if (!current) throw notFound('Group', id);
      assertVersion(current.version, expectedVersion);
      const draft = await change(current);
      assertMay(actor, 'update', 'group', this.deps.deploymentType);

      const displayName = validDisplayName(draft.displayName);
      const changes: { displayName?: string; externalId?: string | null } = {};
      if (displayName !== current.displayName) {
        if (await r.groups.displayNameTaken(actor.organizationId, displayName, current.id)) {
          throw displayNameTaken(displayName);
        }
        changes.displayName = displayName;
      }
      if (draft.externalId !== undefined && draft.externalId !== current.externalId) changes.externalId = draft.externalId;

      const membershipChanged = await applyMembership(r, actor.organizationId, current.id, draft.membership ?? []);

      if (Object.keys(changes).length > 0) return r.groups.update(current, changes);
      return membershipChanged ? r.groups.touch(current) : current;
    });
  }

  async delete(actor: Actor, id: string, expectedVersion?: ExpectedVersion): Promise<void> {
    await this.deps.uow.write(async (r) => {
      const current = await r.groups.lockById(actor.organizationId, id);
      if (!current) throw notFound('Group', id);
      assertVersion(current.version, expectedVersion);
      assertMay(actor, 'delete', 'group', this.deps.deploymentType);
      await r.groups.delete(actor.organizationId, id);
    });
  }
}

/** Writes membership changes in order; returns whether any row changed. */
async function applyMembership(
  r: Repositories,
  organizationId: string,
  groupId: string,
  changes: MembershipChange[],
): Promise<boolean> {
  let changed = 0;
  for (const change of changes) {
    switch (change.kind) {
      case 'add':
      case 'replace': {
        const ids = unique(change.userIds);
        if (ids.length > 0) await assertUsersExist(r, organizationId, ids);
        if (change.kind === 'replace') changed += await r.groups.removeMembersExcept(groupId, ids);
        if (ids.length > 0) changed += await r.groups.addMembers(groupId, ids);
        break;
      }
      case 'remove':
        if (change.userIds.length > 0) changed += await r.groups.removeMembers(groupId, unique(change.userIds));
        break;
      case 'removeMatching':
        changed += await r.groups.removeMembersMatching(groupId, change.filter);
        break;
    }
  }
  return changed > 0;
}

async function assertUsersExist(r: Repositories, organizationId: string, userIds: string[]): Promise<void> {
  const found = await r.users.existingIds(organizationId, userIds);
  const missing = userIds.filter((id) => !found.has(id));
  if (missing.length > 0) {
    throw invalidValue(
      'group.member_not_found',
      `members must be users of this organization; not found: ${missing.slice(0, 5).join(', ')}` +
        (missing.length > 5 ? ` and ${missing.length - 5} more` : ''),
    );
  }
}

function validDisplayName(name: unknown): string {
  const displayName = typeof name === 'string' ? name.trim() : '';
  if (displayName === '') throw invalidValue('group.display_name_required', 'displayName is required and must not be blank');
  if (displayName.length > 256) throw invalidValue('group.display_name_too_long', 'displayName must be at most 256 characters');
  return displayName;
}

function displayNameTaken(displayName: string) {
  return uniqueness('group.display_name_taken', `a group named "${displayName}" already exists`);
}

const unique = (ids: string[]) => [...new Set(ids)];
