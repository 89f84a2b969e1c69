import type { Actor } from './actor';
import { invalidValue, notFound, uniqueness } from './errors';
import type { Group, GroupDraft, GroupMember, MembershipChange } from './group';
import { AuditTrail } from './audit';
import { groupCreated, groupUpdated, resourceDeleted, type ChangeMethod } from './events';
import { recomputeRoles } from './group-role';
import { authorizeGroupChange } from './policy';
import { settingsFrom } from './settings';
import type { ListQuery, Page, Repositories } from './ports';
import { assertVersion, assertVersions, type ExpectedVersion, type ServiceDeps, type VersionConditions } from './service-deps';

/**
 * Creates, changes and removes user groups and their membership, in one transaction
 * each, authorized like user management (rule 1) and audited.
 */
export class GroupService {
  private readonly audit: AuditTrail;

  constructor(private readonly deps: Omit<ServiceDeps, 'passwords'>) {
    this.audit = new AuditTrail(deps.uow);
  }

  private async authorize(r: Repositories, actor: Actor, organizationId: string): Promise<void> {
    authorizeGroupChange(actor, settingsFrom(await r.settings.all()), organizationId);
  }

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

  /** One page of a group's members (in SQL: a group of any size opens as fast as a small one). */
  async memberPage(actor: Actor, id: string, offset: number, limit: number): Promise<{ group: Group; total: number; members: GroupMember[] }> {
    return this.deps.uow.read(async (r) => {
      const group = await r.groups.findById(actor.organizationId, id);
      if (!group) throw notFound('Group', id);
      return { group, ...(await r.groups.memberPage(group.id, offset, limit)) };
    });
  }

  async create(actor: Actor, draft: GroupDraft): Promise<Group> {
    return this.audit.recordingRefusals(actor, 'group.create', { targetName: draft.displayName }, () =>
      this.deps.uow.write(async (r) => {
        await this.authorize(r, actor, actor.organizationId);
        const displayName = validDisplayName(draft.displayName);
        if (await r.groups.displayNameTaken(actor.organizationId, displayName)) throw displayNameTaken(displayName);
        const group = await r.groups.insert({
          organizationId: actor.organizationId,
          displayName,
          externalId: validExternalId(draft.externalId ?? null),
        });
        const members = await applyMembership(r, actor.organizationId, group.id, draft.membership ?? []);
        await r.audit.record(AuditTrail.event(actor, 'group.created', group, { membersAdded: members.added.length }));
        await r.events.append([groupCreated(group, members.added.length, actor.requestId)]);
        actor.journal?.changed({
          resourceType: 'Group',
          resourceId: group.id,
          action: 'created',
          changes: [
            { attribute: 'displayName', after: group.displayName },
            ...(group.externalId !== null ? [{ attribute: 'externalId', after: group.externalId }] : []),
            ...membersChange(members),
          ],
        });
        return group;
      }),
    );
  }

  /**
   * Stores a group as the client wants it: `draft` is the desired state, worked out by
   * the caller beforehand; attributes it leaves undefined keep their stored value. In
   * one transaction the row is locked and the versions checked (`conditions`: If-Match
   * first, 412; then `basedOn`, a stale draft is StaleDraft). Membership changes are
   * applied in order as row inserts and deletes, whatever the stored state, and bump
   * the group's version: a draft that only changes members needs no `basedOn`, so
   * concurrent member changes of one group never conflict.
   */
  async update(actor: Actor, id: string, draft: GroupDraft, conditions: VersionConditions & { method?: ChangeMethod } = {}): Promise<Group> {
    return this.audit.recordingRefusals(actor, 'group.update', { targetId: id }, () =>
      this.deps.uow.write(async (r) => {
        const current = await r.groups.lockById(actor.organizationId, id);
        if (!current) throw notFound('Group', id);
        assertVersions(current.version, conditions);
        await this.authorize(r, actor, current.organizationId);

        const changes: { displayName?: string; externalId?: string | null } = {};
        if (draft.displayName !== undefined) {
          const displayName = validDisplayName(draft.displayName);
          if (displayName !== current.displayName) {
            if (await r.groups.displayNameTaken(actor.organizationId, displayName, current.id)) {
              throw displayNameTaken(displayName);
            }
            changes.displayName = displayName;
          }
        }
        if (draft.externalId !== undefined && draft.externalId !== current.externalId) changes.externalId = validExternalId(draft.externalId);

        // A mapped group's members have roles from it (one primary-key lookup tells, and takes the
        // organization's role lock when it is mapped): the recompute below needs every earlier role
        // change of the organization committed.
        const membership = draft.membership ?? [];
        const mapped = membership.length > 0 && (await r.groupRoles.forGroupLockingRoles(current.id, { few: fewUsers(membership) })) !== null;
        const members = await applyMembership(r, actor.organizationId, current.id, membership);
        const membershipChanged = members.added.length + members.removed.length > 0;
        if (mapped && membershipChanged) {
          const cause = { group: { id: current.id, displayName: changes.displayName ?? current.displayName }, change: 'membership' as const };
          await recomputeRoles(
            r,
            current.organizationId,
            { userIds: [...members.added, ...members.removed] },
            { ...cause, added: new Set(members.added) },
            { actor },
          );
        }
        if (Object.keys(changes).length === 0 && !membershipChanged) return current;
        const updated = Object.keys(changes).length > 0 ? await r.groups.update(current, changes) : await r.groups.touch(current);
        await r.audit.record(
          AuditTrail.event(actor, 'group.updated', updated, {
            changed: Object.keys(changes).sort(),
            membersAdded: members.added.length,
            membersRemoved: members.removed.length,
          }),
        );
        await r.events.append(groupUpdated(updated, Object.keys(changes), membershipChanged, conditions.method ?? 'patch', actor.requestId));
        actor.journal?.changed({
          resourceType: 'Group',
          resourceId: updated.id,
          action: 'updated',
          changes: [
            ...(Object.keys(changes) as ('displayName' | 'externalId')[]).map((k) => ({ attribute: k, before: current[k], after: updated[k] })),
            ...membersChange(members),
          ],
        });
        return updated;
      }),
    );
  }

  async delete(actor: Actor, id: string, expectedVersion?: ExpectedVersion): Promise<void> {
    await this.audit.recordingRefusals(actor, 'group.delete', { targetId: id }, () =>
      this.deps.uow.write(async (r) => {
        const current = await r.groups.lockById(actor.organizationId, id);
        if (!current) throw notFound('Group', id);
        assertVersion(current.version, expectedVersion);
        await this.authorize(r, actor, current.organizationId);
        if ((await r.groupRoles.forGroup(current.id)) !== null) {
          // Its members lose what it granted: recomputed while they are still members, without its mapping.
          await r.groupRoles.lockRoles(current.organizationId);
          await r.groupRoles.remove(current.id);
          const cause = { group: { id: current.id, displayName: current.displayName }, change: 'group deleted' as const };
          await recomputeRoles(r, current.organizationId, { membersOf: current.id }, cause, { actor });
        }
        await r.groups.delete(actor.organizationId, id);
        await r.audit.record(AuditTrail.event(actor, 'group.deleted', current));
        await r.events.append([resourceDeleted(current, actor.requestId)]);
        actor.journal?.changed({
          resourceType: 'Group',
          resourceId: current.id,
          action: 'deleted',
          changes: [{ attribute: 'displayName', before: current.displayName }],
        });
      }),
    );
  }
}

/** The request log's line for a membership change: how many members were added and removed. */
function membersChange(members: { added: string[]; removed: string[] }) {
  if (members.added.length + members.removed.length === 0) return [];
  return [{ attribute: 'members', after: `${members.added.length} added, ${members.removed.length} removed` }];
}

/** Users a membership change may add or remove by id and still count as a few (a PATCH of one member, a Bulk of some). */
const FEW_USERS = 100;

/** A change that adds or removes a few users by id (not a replacement of the membership, nor a filter's removal). */
function fewUsers(changes: MembershipChange[]): boolean {
  let users = 0;
  for (const change of changes) {
    if (change.kind !== 'add' && change.kind !== 'remove') return false;
    users += change.userIds.length;
  }
  return users <= FEW_USERS;
}

/** Writes membership changes in order; returns the users added and removed (each change's own, in order). */
async function applyMembership(
  r: Repositories,
  organizationId: string,
  groupId: string,
  changes: MembershipChange[],
): Promise<{ added: string[]; removed: string[] }> {
  const added: string[] = [];
  const removed: string[] = [];
  for (const change of changes) {
    switch (change.kind) {
      case 'add':
      case 'replace': {
        const ids = unique(change.userIds);
        if (ids.length > 0) await assertUsersExist(r, organizationId, ids);
        if (change.kind === 'replace') removed.push(...(await r.groups.removeMembersExcept(groupId, ids)));
        if (ids.length > 0) added.push(...(await r.groups.addMembers(groupId, ids)));
        break;
      }
      case 'remove':
        if (change.userIds.length > 0) removed.push(...(await r.groups.removeMembers(groupId, unique(change.userIds))));
        break;
      case 'removeMatching':
        removed.push(...(await r.groups.removeMembersMatching(groupId, change.filter)));
        break;
    }
  }
  return { added, removed };
}

async function assertUsersExist(r: Repositories, organizationId: string, userIds: string[]): Promise<void> {
  const found = await r.users.existingIds(organizationId, userIds);
  const missing = userIds.filter((id) => !found.has(id));
  if (missing.length > 0) {
    // The ids are not repeated: a refusal must not confirm anything about other organizations.
    throw invalidValue(
      'group.member_not_found',
      `members must be users of this organization: ${missing.length} of the ${userIds.length} given ${userIds.length === 1 ? 'is' : 'are'} not`,
    );
  }
}

function validDisplayName(name: unknown): string {
  const displayName = typeof name === 'string' ? name.trim() : '';
  if (displayName === '') throw invalidValue('group.display_name_required', 'displayName is required and must not be blank');
  if (displayName.length > 256) throw invalidValue('group.display_name_too_long', 'displayName must be at most 256 characters');
  return displayName;
}

function validExternalId(externalId: string | null): string | null {
  if (externalId !== null && externalId.length > 512) {
    throw invalidValue('group.external_id_too_long', 'externalId must be at most 512 characters');
  }
  return externalId;
}

function displayNameTaken(displayName: string) {
  return uniqueness('group.display_name_taken', `a group named "${displayName}" already exists`);
}

const unique = (ids: string[]) => [...new Set(ids)];
