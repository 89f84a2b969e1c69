import type { Actor } from './actor';
import { AuditTrail } from './audit';
import { DomainError, invalidValue, notFound, uniqueness } from './errors';
import { managerUnlinked, memberDeleted, resourceDeleted, userCreated, userUpdated, type ChangeMethod } from './events';
import { checkLicense, withLicenseCheck } from './license';
import { authorizeUserChange } from './policy';
import { PasswordHashes } from './password-hashing';
import type { ListQuery, Page, RenderedPage, Repositories } from './ports';
import type { AttributeChange } from './request-log';
import { accountTypeOf } from './roles';
import { assertPasswordMeetsPolicy, settingsFrom, type InstanceSettings } from './settings';
import { assertVersion, assertVersions, type ExpectedVersion, type ServiceDeps, type VersionConditions } from './service-deps';
import { USER_DEFAULTS, type User, type UserDraft, type UserFields } from './user';

/** How a change to one user is conditioned, and the request's hashed passwords. */
export interface UpdateOptions extends VersionConditions {
  /** The passwords this request has had hashed; a retry passes the same ones (see update). */
  hashes?: PasswordHashes;
  /** How the client asked for the change, for its provisioning event: `put` or `patch` (the default). */
  method?: ChangeMethod;
}

const FIELD_NAMES = Object.keys(USER_DEFAULTS).concat('userName') as (keyof UserFields)[];

/**
 * Creates, changes and removes users. Every change runs in one transaction: the
 * stored user is locked, the change is authorized by the policy on what it changes
 * (stored against desired), licenses are checked, and an audit event is written with
 * it. A refused change stores nothing but its audit event.
 */
export class UserService {
  private readonly audit: AuditTrail;

  constructor(private readonly deps: ServiceDeps) {
    this.audit = new AuditTrail(deps.uow);
  }

  list(actor: Actor, query: ListQuery): Promise<Page<User>> {
    return this.deps.uow.read((r) => r.users.list(actor.organizationId, query));
  }

  /** The same page as `list`, each user rendered by the store as its SCIM resource. */
  listRendered(actor: Actor, query: ListQuery, baseUrl: string): Promise<RenderedPage> {
    return this.deps.uow.read((r) => r.users.listRendered(actor.organizationId, query, baseUrl));
  }

  async get(actor: Actor, id: string): Promise<User> {
    const user = await this.deps.uow.read((r) => r.users.findById(actor.organizationId, id));
    if (!user) throw notFound('User', id);
    return user;
  }

  /** The groups each user belongs to (a user's read-only `groups`), by user id. */
  groupsOf(actor: Actor, userIds: string[]) {
    return this.deps.uow.read((r) => r.users.groupsOf(actor.organizationId, userIds));
  }

  /**
   * For each named change to `user`, the refusal the policy would give it now (its code
   * and the rule in words), or null when it is allowed: what a page shows before the
   * change is tried. The change itself still goes through `update`.
   */
  async refusals(actor: Actor, user: User, changes: Record<string, Partial<UserFields>>): Promise<Record<string, { code: string; message: string } | null>> {
    const settings = await this.deps.uow.read(async (r) => settingsFrom(await r.settings.all()));
    const out: Record<string, { code: string; message: string } | null> = {};
    for (const [name, change] of Object.entries(changes)) {
      try {
        authorizedUpdate(actor, settings, user, { userName: user.userName, ...change });
        out[name] = null;
      } catch (error) {
        if (!(error instanceof DomainError)) throw error;
        out[name] = { code: error.code, message: error.message };
      }
    }
    return out;
  }

  async create(actor: Actor, draft: UserDraft): Promise<User> {
    return this.audit.recordingRefusals(actor, 'user.create', { targetName: draft.userName }, async () => {
      // Hash before the transaction: argon2 takes ~100 ms and must not hold locks.
      let passwordHash: string | null = null;
      if (draft.password !== undefined) {
        const settings = await this.deps.uow.read(async (r) => settingsFrom(await r.settings.all()));
        assertPasswordMeetsPolicy(draft.password, settings.passwordPolicy);
        passwordHash = await this.deps.passwords.hash(draft.password, actor.organizationId);
      }
      const sharesLicense = { organizationId: actor.organizationId, type: accountTypeOf(draft.systemRole ?? USER_DEFAULTS.systemRole) }; // sent with BEGIN (WriteOptions)
      return withLicenseCheck((licenseMode) =>
        this.deps.uow.write(
          async (r) => {
            const current = settingsFrom(await r.settings.all());
            const fields = normalize({
              ...USER_DEFAULTS,
              termsOfServiceAcceptanceRequired: current.termsOfServiceRequireNewUserToAccept,
              ...defined(draft),
              userName: draft.userName,
            });
            authorizeUserChange(actor, current, {
              action: 'create',
              desired: { ...fields, organizationId: actor.organizationId, ...(draft.mfaEnabled !== undefined ? { mfaEnabled: draft.mfaEnabled } : {}) },
            });
            await checkLicense(r, actor.organizationId, fields.systemRole, licenseMode);
            await assertManagerIsUser(r, actor.organizationId, null, fields.enterprise);
            // A taken userName (any case, any organization) is caught by the unique index: 409.
            const user = await r.users.insert({ ...fields, organizationId: actor.organizationId, passwordHash });
            await r.audit.record(AuditTrail.event(actor, 'user.created', user, { systemRole: user.systemRole, organizationRole: user.organizationRole }));
            // The attributes the new user has other than the defaults (userName always).
            const set: string[] = FIELD_NAMES.filter((k) => k === 'userName' || !same(fields[k], USER_DEFAULTS[k as keyof typeof USER_DEFAULTS]));
            if (passwordHash !== null) set.push('password');
            await r.events.append([userCreated(user, set, actor.requestId)]);
            actor.journal?.changed({ resourceType: 'User', resourceId: user.id, action: 'created', changes: set.map((k) => change(k, undefined, user)) });
            return user;
          },
          licenseMode === 'shared' ? { sharesLicense } : undefined,
        ),
      );
    });
  }

  /**
   * Stores a user as the client wants it: `draft` is the desired state, worked out by
   * the caller before anything here runs (attributes it leaves undefined keep their
   * stored value). Used by PUT, PATCH and Bulk alike. In one transaction the row is
   * locked, the versions checked (`conditions`: If-Match first, 412; then `basedOn`, a
   * stale draft is StaleDraft and the caller works it out again), the change authorized
   * on what it changes, licenses and uniqueness checked, the row updated and audited.
   *
   * A new password is never hashed inside the transaction: argon2 would hold the
   * connection and the row lock for ~200 ms, and a burst of such changes the whole
   * pool. So first, holding nothing, the change waits for its turn in the hasher's
   * bounded queue, reads the user as stored (no transaction, no lock), is refused now if
   * the transaction would refuse it for its versions, the policy or the password policy,
   * and has its password hashed into `hashes`. A caller that tries again after a
   * StaleDraft passes the same `hashes`, so a password is hashed once per request.
   */
  async update(actor: Actor, id: string, draft: UserDraft, options: UpdateOptions = {}): Promise<User> {
    return this.audit.recordingRefusals(actor, 'user.update', { targetId: id }, async () => {
      const hashes = options.hashes ?? new PasswordHashes();
      if (draft.password !== undefined && hashes.get(draft.password) === undefined) {
        await this.hashAhead(actor, id, draft, draft.password, options, hashes);
      }
      return withLicenseCheck((licenseMode) =>
        this.deps.uow.write(async (r) => {
          const current = await r.users.lockById(actor.organizationId, id);
          if (!current) throw notFound('User', id);
          assertVersions(current.version, options);
          await assertRolesNotFromGroups(r, current, draft);
          const settings = settingsFrom(await r.settings.all());
          const desired = authorizedUpdate(actor, settings, current, draft);
          if (accountTypeOf(desired.systemRole) !== accountTypeOf(current.systemRole)) {
            await checkLicense(r, current.organizationId, desired.systemRole, licenseMode);
          }
          const changes = diff(current, desired);
          if (changes.enterprise !== undefined) await assertManagerIsUser(r, current.organizationId, current.enterprise, desired.enterprise);
          if (changes.userName !== undefined && (await r.users.userNameTaken(changes.userName, current.id))) {
            throw userNameTaken(changes.userName);
          }
          let passwordHash: string | undefined;
          if (draft.password !== undefined) {
            // Checked again: the password policy may have changed since the hash.
            assertPasswordMeetsPolicy(draft.password, settings.passwordPolicy);
            passwordHash = hashes.get(draft.password);
            if (passwordHash === undefined) throw new Error('a new password reached the transaction unhashed');
            // An administrator's new password is temporary: the user must change it (rule 9).
            if (!current.passwordResetRequired) changes.passwordResetRequired = true;
          }
          if (Object.keys(changes).length === 0 && passwordHash === undefined) return current;
          const updated = await r.users.update(current, { ...changes, ...(passwordHash !== undefined ? { passwordHash } : {}) });
          const changed = Object.keys(changes).concat(passwordHash !== undefined ? ['password'] : []);
          await recordUpdate(r, actor, current, updated, changed);
          await r.events.append(userUpdated(current, updated, changed, options.method ?? 'patch', actor.requestId));
          actor.journal?.changed({ resourceType: 'User', resourceId: updated.id, action: 'updated', changes: changed.map((k) => change(k, current, updated)) });
          return updated;
        }),
      );
    });
  }

  /**
   * `update`'s first step for a draft with a new password, in a turn of the hasher and
   * outside any transaction: the user as stored, refused now if the transaction would
   * refuse it (versions, policy, password policy), else the password hashed into `hashes`.
   */
  private hashAhead(actor: Actor, id: string, draft: UserDraft, password: string, conditions: VersionConditions, hashes: PasswordHashes): Promise<void> {
    const passwords = this.deps.passwords;
    const owner = actor.organizationId;
    const inTurn = passwords.inTurn
      ? passwords.inTurn.bind(passwords)
      : <T>(_owner: string, work: (hash: (password: string) => Promise<string>) => Promise<T>) => work((password) => passwords.hash(password, owner));
    return inTurn(owner, async (hash) => {
      const [current, settings] = await this.deps.uow.read(async (r) => [await r.users.findById(owner, id), settingsFrom(await r.settings.all())] as const);
      if (!current) throw notFound('User', id);
      assertVersions(current.version, conditions);
      authorizedUpdate(actor, settings, current, draft);
      assertPasswordMeetsPolicy(password, settings.passwordPolicy);
      hashes.set(password, await hash(password));
    });
  }

  async delete(actor: Actor, id: string, expectedVersion?: ExpectedVersion): Promise<void> {
    await this.audit.recordingRefusals(actor, 'user.delete', { targetId: id }, () =>
      this.deps.uow.write(async (r) => {
        const current = await r.users.lockById(actor.organizationId, id, 'delete');
        if (!current) throw notFound('User', id);
        assertVersion(current.version, expectedVersion);
        const settings = settingsFrom(await r.settings.all());
        authorizeUserChange(actor, settings, {
          action: 'delete',
          current: { ...pickFields(current), organizationId: current.organizationId, mfaEnabled: current.mfaEnabled },
        });
        // Its memberships go with it (explicitly, not by the foreign key's cascade, to name the groups in events).
        const groupIds = await r.groups.removeUserFromAll(actor.organizationId, id);
        await r.users.delete(actor.organizationId, id);
        await r.audit.record(AuditTrail.event(actor, 'user.deleted', current, { systemRole: current.systemRole, groupsLeft: groupIds.length }));
        // Whoever this user managed has no manager now: a manager is a user of the organization.
        const unlinked = await r.users.unlinkManager(actor.organizationId, id);
        for (const managed of unlinked) {
          await r.audit.record(AuditTrail.event(actor, 'user.updated', managed, { changed: ['enterprise.manager'], reason: 'manager deleted' }));
        }
        await r.events.append([
          resourceDeleted(current, actor.requestId),
          ...unlinked.map((managed) => managerUnlinked(managed, actor.requestId)),
          ...groupIds.map((groupId) => memberDeleted(actor.organizationId, groupId, actor.requestId)),
        ]);
        actor.journal?.changed({
          resourceType: 'User',
          resourceId: current.id,
          action: 'deleted',
          changes: [{ attribute: 'userName', before: current.userName }],
        });
        for (const managed of unlinked) {
          actor.journal?.changed({
            resourceType: 'User',
            resourceId: managed.id,
            action: 'updated',
            changes: [{ attribute: 'enterprise.manager', before: current.id }],
          });
        }
      }),
    );
  }
}

/** The user as the draft wants it (normalised), once the policy allows the change from `current`. */
function authorizedUpdate(actor: Actor, settings: InstanceSettings, current: User, draft: UserDraft): UserFields {
  const desired = normalize({ ...pickFields(current), ...defined(draft) });
  authorizeUserChange(actor, settings, {
    action: 'update',
    current: { ...pickFields(current), organizationId: current.organizationId, mfaEnabled: current.mfaEnabled },
    desired: { ...desired, organizationId: current.organizationId, ...(draft.mfaEnabled !== undefined ? { mfaEnabled: draft.mfaEnabled } : {}) },
  });
  return desired;
}

/** One event for the update (naming what changed), and events of their own for disabling and system role changes. */
async function recordUpdate(r: Repositories, actor: Actor, before: User, after: User, changed: string[]): Promise<void> {
  const events = [AuditTrail.event(actor, 'user.updated', after, { changed: changed.sort() })];
  if (before.active !== after.active) events.push(AuditTrail.event(actor, after.active ? 'user.reactivated' : 'user.deactivated', after));
  if (before.systemRole !== after.systemRole) {
    events.push(AuditTrail.event(actor, 'user.system_role_changed', after, { from: before.systemRole, to: after.systemRole }));
  }
  // One statement for the change's audit events, in this order.
  await r.audit.recordAll(events);
}

/**
 * One changed attribute for the request log, from the stored user before and after (the
 * fields the service's own diff named). A password is never a value: `[changed]`.
 */
function change(field: string, before: User | undefined, after: User): AttributeChange {
  if (field === 'password') return { attribute: 'password', after: '[changed]' };
  const value = (user: User | undefined) => (user as unknown as Record<string, unknown> | undefined)?.[field];
  return { attribute: field, ...(before !== undefined ? { before: value(before) } : {}), after: value(after) };
}

/**
 * A role a group grants is read-only over SCIM (docs/roles.md, "Roles from groups"): a
 * draft that changes it is refused, naming the group. Sending the effective role again
 * (an identity provider repeating the profile) is no change.
 */
async function assertRolesNotFromGroups(r: Repositories, current: User, draft: UserDraft): Promise<void> {
  const managed = [
    ['systemRole', current.systemRoleGroupId],
    ['organizationRole', current.organizationRoleGroupId],
  ] as const;
  for (const [attribute, groupId] of managed) {
    const wanted = draft[attribute];
    if (groupId === null || wanted === undefined || wanted === current[attribute]) continue;
    const group = await r.groups.findById(current.organizationId, groupId);
    throw new DomainError(
      'mutability',
      'user.role_from_group',
      `${attribute} of this user is "${current[attribute]}", granted by group "${group?.displayName ?? groupId}": ` +
        `it changes with the user's groups and cannot be set over SCIM (remove the user from the group, or change the group's mapping)`,
    );
  }
}

/** The id an enterprise extension names as the manager (a bare string or `{value}`), if any. */
function managerOf(enterprise: Record<string, unknown> | null | undefined): unknown {
  const manager = enterprise?.manager;
  if (manager === undefined || manager === null) return undefined;
  return typeof manager === 'object' && !Array.isArray(manager) ? (manager as Record<string, unknown>).value : manager;
}

/**
 * The enterprise `manager.value` is the id of another user of the same organization
 * (RFC 7643 section 4.3). Checked when it changes, holding the manager's row (FOR KEY
 * SHARE) so that it cannot be deleted before this change commits; a manager that is
 * deleted is unlinked from the users it managed (UserService.delete).
 */
async function assertManagerIsUser(
  r: Repositories,
  organizationId: string,
  before: Record<string, unknown> | null,
  after: Record<string, unknown> | null,
): Promise<void> {
  const value = managerOf(after);
  if (value === undefined || value === managerOf(before)) return;
  if (typeof value !== 'string' || !(await r.users.existingIds(organizationId, [value.toLowerCase()], { keyShare: true })).has(value.toLowerCase())) {
    throw invalidValue('user.manager_unknown', `the enterprise manager "${String(value)}" is not the id of a user of this organization`);
  }
}

function userNameTaken(userName: string) {
  return uniqueness('user.user_name_taken', `userName "${userName}" is already taken`);
}

function defined<T extends object>(draft: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(draft)) {
    if (v !== undefined && k !== 'password' && k !== 'mfaEnabled') (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

function pickFields(user: User): UserFields {
  const out: Partial<UserFields> = {};
  for (const k of FIELD_NAMES) (out as Record<string, unknown>)[k] = user[k];
  return out as UserFields;
}

function normalize(fields: UserFields): UserFields {
  const userName = typeof fields.userName === 'string' ? fields.userName.trim() : '';
  if (userName === '') throw invalidValue('user.user_name_required', 'userName is required and must not be blank');
  if (userName.length > 256) throw invalidValue('user.user_name_too_long', 'userName must be at most 256 characters');
  assertPlainUserName(userName);
  if (fields.externalId !== null && fields.externalId.length > 512) {
    throw invalidValue('user.external_id_too_long', 'externalId must be at most 512 characters');
  }
  return { ...fields, userName };
}

/**
 * userName is how people and identity providers tell accounts apart, so it refuses
 * what makes two names look alike: control and invisible formatting characters
 * (zero-width, bidi overrides), forms that Unicode compatibility folds into others
 * (fullwidth `ａｄｍｉｎ`), and letters of Latin, Cyrillic and Greek mixed in one name.
 */
function assertPlainUserName(userName: string): void {
  if (/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u.test(userName)) {
    throw invalidValue('user.user_name_invisible', 'userName must not contain control or invisible formatting characters');
  }
  if (userName.normalize('NFKC') !== userName) {
    throw invalidValue('user.user_name_not_normalized', `userName must be written in Unicode NFKC form ("${userName.normalize('NFKC')}")`);
  }
  const scripts = ['Latin', 'Cyrillic', 'Greek'].filter((script) => new RegExp(`\\p{Script=${script}}`, 'u').test(userName));
  if (scripts.length > 1) {
    throw invalidValue('user.user_name_mixed_scripts', `userName mixes ${scripts.join(' and ')} letters, which can imitate another name`);
  }
}

/** JSON with object keys sorted, so values read back from jsonb compare equal. */
function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)))
      : v,
  );
}

/** Whether two field values are the same (objects compared whatever the order of their keys). */
function same(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  // Two different primitives, or a primitive and an object, are never the same (as canonical would say, for what a field holds).
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  return canonical(a) === canonical(b);
}

function diff(current: User, desired: UserFields): Partial<UserFields> {
  const changes: Partial<UserFields> = {};
  for (const k of FIELD_NAMES) {
    if (!same(current[k], desired[k])) {
      (changes as Record<string, unknown>)[k] = desired[k];
    }
  }
  return changes;
}

export type { InstanceSettings };
