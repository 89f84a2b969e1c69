import type { Actor } from '../../src/domain/actor';
import type { Group, GroupDraft } from '../../src/domain/group';
import type { GroupService } from '../../src/domain/group.service';
import { PasswordHashes } from '../../src/domain/password-hashing';
import { StaleDraft, type VersionConditions } from '../../src/domain/service-deps';
import { USER_DEFAULTS, type User, type UserDraft } from '../../src/domain/user';
import type { UpdateOptions, UserService } from '../../src/domain/user.service';
import { ScimError } from '../../src/scim/http/errors';
import { groupWrites } from '../../src/scim/resources/groups.routes';
import { PATCH_ATTEMPTS } from '../../src/scim/resources/resource-router';
import { configureScimmy } from '../../src/scim/schema/scimmy';
import { userWrites } from '../../src/scim/resources/users.routes';

/**
 * The PATCH writers against services that stand in for the domain: what they hand over
 * (drafts as data, the conditions), and how they retry a stale draft.
 */
const PATCH = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const patchOp = (...Operations: unknown[]) => ({ schemas: [PATCH], Operations });
const actor: Actor = { credentialId: 'c', organizationId: 'o', systemRole: 'Api User', organizationRole: 'Organization Administrator' };
const BASE = 'https://roster.example/scim/v2';
const ID = '00000000-0000-4000-8000-000000000001';

beforeAll(() => configureScimmy());

function storedUser(): User {
  const at = new Date('2026-01-01T00:00:00Z');
  return {
    ...USER_DEFAULTS,
    userName: 'stored@example.com',
    id: ID,
    systemRoleGroupId: null,
    organizationRoleGroupId: null,
    organizationId: 'o',
    mfaEnabled: false,
    passwordHash: null,
    createdAt: at,
    updatedAt: at,
    version: 1,
  };
}

/** A UserService that stores drafts as the domain would, checking basedOn; `meanwhile` runs before a check, as a concurrent change would. */
function fakeUsers(meanwhile: (stored: User, attempt: number) => void = () => undefined) {
  let stored = storedUser();
  const calls: { draft: UserDraft; options: UpdateOptions }[] = [];
  let reads = 0;
  const service = {
    get: async () => {
      reads += 1;
      return structuredClone(stored);
    },
    update: async (_actor: Actor, _id: string, draft: UserDraft, options: UpdateOptions = {}) => {
      calls.push({ draft, options });
      meanwhile(stored, calls.length);
      if (options.expectedVersion !== undefined && options.expectedVersion !== stored.version) throw new Error('412');
      if (options.basedOn !== undefined && options.basedOn !== stored.version) throw new StaleDraft(stored.version, options.basedOn);
      const { password: _password, mfaEnabled: _mfa, ...fields } = draft;
      stored = { ...stored, ...Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined)), version: stored.version + 1 };
      return stored;
    },
  };
  return { writes: userWrites(service as unknown as UserService), calls, reads: () => reads, stored: () => stored };
}

describe('user PATCH', () => {
  it('hands the domain a draft with the version it was worked out from, and nothing else to run', async () => {
    const users = fakeUsers();
    const user = await users.writes.patch(actor, ID, patchOp({ op: 'replace', path: 'title', value: 'T' }), BASE);
    expect(users.calls).toHaveLength(1);
    expect(users.calls[0].draft.title).toBe('T');
    expect(users.calls[0].options).toMatchObject({ basedOn: 1, expectedVersion: undefined });
    expect(users.calls[0].options.hashes).toBeInstanceOf(PasswordHashes);
    expect(user.version).toBe(2);
  });

  it('works a stale draft out again on the fresh user, keeping what changed meanwhile, with the same password memo', async () => {
    // Two concurrent changes commit, one before each of the first two attempts is stored.
    const users = fakeUsers((stored, attempt) => {
      if (attempt === 1) Object.assign(stored, { nickName: 'Meanwhile 1', version: stored.version + 1 });
      if (attempt === 2) Object.assign(stored, { locale: 'fr-FR', version: stored.version + 1 });
    });
    const user = await users.writes.patch(
      actor,
      ID,
      patchOp({ op: 'replace', path: 'title', value: 'Mine' }, { op: 'replace', path: 'password', value: 'P' }),
      BASE,
    );
    expect(users.calls.map((c) => c.options.basedOn)).toEqual([1, 2, 3]);
    expect(users.reads()).toBe(3);
    expect(user).toMatchObject({ title: 'Mine', nickName: 'Meanwhile 1', locale: 'fr-FR', version: 4 });
    expect(users.calls.every((c) => c.draft.password === 'P')).toBe(true);
    expect(new Set(users.calls.map((c) => c.options.hashes)).size).toBe(1);
  });

  it(`gives up after ${PATCH_ATTEMPTS} stale attempts with 503 patch.contended`, async () => {
    const users = fakeUsers((stored) => {
      stored.version += 1;
    });
    const refused = await users.writes.patch(actor, ID, patchOp({ op: 'replace', path: 'title', value: 'Never' }), BASE).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(ScimError);
    expect(refused).toMatchObject({ status: 503, code: 'patch.contended' });
    expect(users.calls).toHaveLength(PATCH_ATTEMPTS);
    expect(users.stored().title).toBeNull();
  });

  it('refuses a stale If-Match before applying the operations, and PUT sends no basedOn (method put)', async () => {
    const users = fakeUsers();
    const bad = patchOp({ op: 'replace', path: 'active', value: 'sometimes' });
    await expect(users.writes.patch(actor, ID, bad, BASE)).rejects.toMatchObject({ status: 400 });
    await expect(users.writes.patch(actor, ID, bad, BASE, 7)).rejects.toMatchObject({ kind: 'precondition_failed' });
    expect(users.calls).toHaveLength(0);
    await users.writes.replace(actor, ID, { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: 'put@example.com' }, 1);
    expect(users.calls[0].options).toEqual({ expectedVersion: 1, method: 'put' });
  });
});

function fakeGroups(meanwhile: (stored: Group, attempt: number) => void = () => undefined) {
  const at = new Date('2026-01-01T00:00:00Z');
  let stored: Group = { id: ID, organizationId: 'o', displayName: 'Stored', externalId: null, createdAt: at, updatedAt: at, version: 1 };
  const calls: { draft: GroupDraft; conditions: VersionConditions }[] = [];
  let reads = 0;
  const service = {
    get: async () => {
      reads += 1;
      return { ...stored };
    },
    update: async (_actor: Actor, _id: string, draft: GroupDraft, conditions: VersionConditions = {}) => {
      calls.push({ draft, conditions });
      meanwhile(stored, calls.length);
      if (conditions.basedOn !== undefined && conditions.basedOn !== stored.version) throw new StaleDraft(stored.version, conditions.basedOn);
      stored = { ...stored, ...(draft.displayName !== undefined ? { displayName: draft.displayName } : {}), version: stored.version + 1 };
      return stored;
    },
  };
  return { writes: groupWrites(service as unknown as GroupService), calls, reads: () => reads };
}

describe('group PATCH', () => {
  it('sends a member-only PATCH without reading the group: no attribute, no basedOn, so it is never stale', async () => {
    // Other changes keep committing: a member-only PATCH does not care.
    const groups = fakeGroups((stored) => {
      stored.version += 1;
    });
    const member = '00000000-0000-4000-8000-000000000002';
    await groups.writes.patch(
      actor,
      ID,
      patchOp({ op: 'add', path: 'members', value: [{ value: member }] }, { op: 'remove', path: `members[value eq "${member}"]` }),
      BASE,
      undefined,
    );
    expect(groups.reads()).toBe(0);
    expect(groups.calls).toEqual([
      {
        draft: {
          membership: [
            { kind: 'add', userIds: [member] },
            { kind: 'remove', userIds: [member] },
          ],
        },
        conditions: { expectedVersion: undefined, method: 'patch' },
      },
    ]);
  });

  it('bases a PATCH that renames on the group as read, and works it out again when stale', async () => {
    const groups = fakeGroups((stored, attempt) => {
      if (attempt === 1) stored.version += 1;
    });
    const member = '00000000-0000-4000-8000-000000000003';
    const group = await groups.writes.patch(actor, ID, patchOp({ op: 'replace', value: { displayName: 'Renamed', members: [{ value: member }] } }), BASE);
    expect(groups.calls.map((c) => c.conditions.basedOn)).toEqual([1, 2]);
    expect(groups.calls[1].draft).toMatchObject({ displayName: 'Renamed', membership: [{ kind: 'replace', userIds: [member] }] });
    expect(group.displayName).toBe('Renamed');
  });
});
