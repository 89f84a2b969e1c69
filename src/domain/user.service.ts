import type { Actor } from './actor';
import { AuditTrail } from './audit';
import { DomainError, invalidValue, notFound, uniqueness } from './errors';
import { checkLicense, withLicenseCheck } from './license';
import { authorizeUserChange } from './policy';
import type { ListQuery, Page, PasswordHasher, RenderedPage, Repositories, UnitOfWork } from './ports';
import { accountTypeOf } from './roles';
import { assertPasswordMeetsPolicy, settingsFrom, type InstanceSettings } from './settings';
import { USER_DEFAULTS, type User, type UserDraft, type UserFields } from './user';

export interface ServiceDeps {
  uow: UnitOfWork;
  passwords: PasswordHasher;
}

/** A precondition on the stored version (If-Match); undefined means none. */
export type ExpectedVersion = number | undefined;

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

  async create(actor: Actor, draft: UserDraft): Promise<User> {
    return this.audit.refusals(actor, 'user.create', { targetName: draft.userName }, async () => {
      // Hash before the transaction: argon2 takes ~100 ms and must not hold locks.
      let passwordHash: string | null = null;
      if (draft.password !== undefined) {
        const settings = await this.deps.uow.read(async (r) => settingsFrom(await r.settings.all()));
        assertPasswordMeetsPolicy(draft.password, settings.passwordPolicy);
        passwordHash = await this.deps.passwords.hash(draft.password, actor.organizationId);
      }
      return withLicenseCheck((licenseMode) => this.deps.uow.write(async (r) => {
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
        return user;
      }));
    });
  }

  /**
   * Applies a change to one user: `change` receives the stored user (locked until the
   * transaction ends) and returns the user as the client wants it. Attributes the draft
   * leaves undefined keep their stored value. Used by PUT, PATCH and Bulk alike.
   *
   * A new password is never hashed inside the transaction: argon2 would hold the
   * connection and the row lock for ~200 ms, and a burst of such changes the whole
   * pool. With `mayChangePassword` (the request names a password), the change first
   * waits for its turn in the hasher's bounded queue, holding nothing; then the draft
   * is worked out from the user as stored, read without a transaction, and its password
   * checked (version, policy, password policy) and hashed. Then the transaction locks the
   * row and runs `change` again on it; when the draft still carries the same password
   * (it comes from the request, so it nearly always does) the hash is used. When it
   * carries another one, or a password nobody announced, the transaction goes as far as
   * its checks (license, uniqueness), rolls back, the password is hashed outside, and
   * the change is done again: at most PASSWORD_ATTEMPTS hashes in all.
   */
  async update(
    actor: Actor,
    id: string,
    change: (current: User) => UserDraft | Promise<UserDraft>,
    expectedVersion?: ExpectedVersion,
    options: { mayChangePassword?: boolean } = {},
  ): Promise<User> {
    return this.audit.refusals(actor, 'user.update', { targetId: id }, async () => {
      let hashed = options.mayChangePassword ? await this.hashAhead(actor, id, change, expectedVersion) : undefined;
      for (let hashes = hashed ? 1 : 0; ; hashes++) {
        try {
          return await this.applyUpdate(actor, id, change, expectedVersion, hashed);
        } catch (error) {
          if (!(error instanceof PasswordNotHashed)) throw error;
          if (hashes >= PASSWORD_ATTEMPTS) {
            throw new DomainError('unavailable', 'user.password_raced', 'the user kept changing while its new password was hashed; try again');
          }
          // Outside any transaction: no connection and no lock is held while argon2 runs.
          hashed = { password: error.password, hash: await this.deps.passwords.hash(error.password, actor.organizationId) };
        }
      }
    });
  }

  /**
   * `update`'s first step for a change that may set a password, in a turn of the hasher:
   * the draft from the user as stored (no transaction, no lock), refused now if the
   * transaction would refuse it for its version, the policy or the password policy,
   * else its password hashed.
   */
  private hashAhead(
    actor: Actor,
    id: string,
    change: (current: User) => UserDraft | Promise<UserDraft>,
    expectedVersion: ExpectedVersion,
  ): Promise<HashedPassword | undefined> {
    const passwords = this.deps.passwords;
    const owner = actor.organizationId;
    const inTurn = passwords.inTurn
      ? passwords.inTurn.bind(passwords)
      : <T>(_owner: string, work: (hash: (password: string) => Promise<string>) => Promise<T>) => work((password) => passwords.hash(password, owner));
    return inTurn(owner, async (hash) => {
      const [current, settings] = await this.deps.uow.read(
        async (r) => [await r.users.findById(owner, id), settingsFrom(await r.settings.all())] as const,
      );
      if (!current) throw notFound('User', id);
      assertVersion(current.version, expectedVersion);
      const draft = await change(current);
      if (draft.password === undefined) return undefined;
      authorizedUpdate(actor, settings, current, draft);
      assertPasswordMeetsPolicy(draft.password, settings.passwordPolicy);
      return { password: draft.password, hash: await hash(draft.password) };
    });
  }

  /** One try of `update`, in one transaction; throws PasswordNotHashed when the draft's password is not `hashed`. */
  private applyUpdate(
    actor: Actor,
    id: string,
    change: (current: User) => UserDraft | Promise<UserDraft>,
    expectedVersion: ExpectedVersion,
    hashed: HashedPassword | undefined,
  ): Promise<User> {
    return withLicenseCheck((licenseMode) =>
      this.deps.uow.write(async (r) => {
        const current = await r.users.lockById(actor.organizationId, id);
        if (!current) throw notFound('User', id);
        assertVersion(current.version, expectedVersion);
        const draft = await change(current);
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
          assertPasswordMeetsPolicy(draft.password, settings.passwordPolicy);
          if (hashed?.password !== draft.password) throw new PasswordNotHashed(draft.password);
          passwordHash = hashed.hash;
          // An administrator's new password is temporary: the user must change it (rule 9).
          if (!current.passwordResetRequired) changes.passwordResetRequired = true;
        }
        if (Object.keys(changes).length === 0 && passwordHash === undefined) return current;
        const updated = await r.users.update(current, { ...changes, ...(passwordHash !== undefined ? { passwordHash } : {}) });
        await recordUpdate(r, actor, current, updated, Object.keys(changes).concat(passwordHash !== undefined ? ['password'] : []));
        return updated;
      }),
    );
  }

  async delete(actor: Actor, id: string, expectedVersion?: ExpectedVersion): Promise<void> {
    await this.audit.refusals(actor, 'user.delete', { targetId: id }, () =>
      this.deps.uow.write(async (r) => {
        const current = await r.users.lockById(actor.organizationId, id);
        if (!current) throw notFound('User', id);
        assertVersion(current.version, expectedVersion);
        const settings = settingsFrom(await r.settings.all());
        authorizeUserChange(actor, settings, {
          action: 'delete',
          current: { ...pickFields(current), organizationId: current.organizationId, mfaEnabled: current.mfaEnabled },
        });
        await r.users.delete(actor.organizationId, id);
        await r.audit.record(AuditTrail.event(actor, 'user.deleted', current, { systemRole: current.systemRole }));
        // Whoever this user managed has no manager now: a manager is a user of the organization.
        for (const managed of await r.users.unlinkManager(actor.organizationId, id)) {
          await r.audit.record(AuditTrail.event(actor, 'user.updated', managed, { changed: ['enterprise.manager'], reason: 'manager deleted' }));
        }
      }),
    );
  }
}

/** A new password and its hash, worked out outside any transaction. */
interface HashedPassword {
  password: string;
  hash: string;
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

/** How many times `update` may hash a new password before it gives up (the draft's password kept changing). */
const PASSWORD_ATTEMPTS = 3;

/**
 * Thrown inside `update`'s transaction (rolling it back) when the draft carries a
 * password that has not been hashed yet: it is hashed outside, then the change is redone.
 */
class PasswordNotHashed extends Error {
  declare readonly password: string;

  constructor(password: string) {
    super('the new password is to be hashed outside the transaction');
    // Not enumerable: never serialised or logged with the error.
    Object.defineProperty(this, 'password', { value: password, enumerable: false });
  }
}

/** One event for the update (naming what changed), and events of their own for disabling and system role changes. */
async function recordUpdate(r: Repositories, actor: Actor, before: User, after: User, changed: string[]): Promise<void> {
  await r.audit.record(AuditTrail.event(actor, 'user.updated', after, { changed: changed.sort() }));
  if (before.active !== after.active) {
    await r.audit.record(AuditTrail.event(actor, after.active ? 'user.reactivated' : 'user.deactivated', after));
  }
  if (before.systemRole !== after.systemRole) {
    await r.audit.record(AuditTrail.event(actor, 'user.system_role_changed', after, { from: before.systemRole, to: after.systemRole }));
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

export function assertVersion(actual: number, expected: ExpectedVersion): void {
  if (expected !== undefined && actual !== expected) {
    throw new DomainError(
      'precondition_failed',
      'version.mismatch',
      `the resource has changed: its version is ${actual}, the request expected ${expected}`,
    );
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

function diff(current: User, desired: UserFields): Partial<UserFields> {
  const changes: Partial<UserFields> = {};
  for (const k of FIELD_NAMES) {
    if (canonical(current[k]) !== canonical(desired[k])) {
      (changes as Record<string, unknown>)[k] = desired[k];
    }
  }
  return changes;
}

export type { InstanceSettings };
