import type { Actor } from './actor';
import { DomainError, invalidValue, notFound, uniqueness } from './errors';
import { assertMay, type DeploymentType } from './policy';
import type { ListQuery, Page, PasswordHasher, UnitOfWork } from './ports';
import { USER_DEFAULTS, type User, type UserDraft, type UserFields } from './user';

export interface ServiceDeps {
  uow: UnitOfWork;
  passwords: PasswordHasher;
  deploymentType: DeploymentType;
}

/** A precondition on the stored version (If-Match); undefined means none. */
export type ExpectedVersion = number | undefined;

const FIELD_NAMES = Object.keys(USER_DEFAULTS).concat('userName') as (keyof UserFields)[];

/** Creates, changes and removes users, each change checked by the policy in one transaction. */
export class UserService {
  constructor(private readonly deps: ServiceDeps) {}

  list(actor: Actor, query: ListQuery): Promise<Page<User>> {
    return this.deps.uow.read((r) => r.users.list(actor.organizationId, query));
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
    assertMay(actor, 'create', 'user', this.deps.deploymentType);
    const fields = normalize({ ...USER_DEFAULTS, ...defined(draft), userName: draft.userName });
    const passwordHash = draft.password === undefined ? null : await this.deps.passwords.hash(draft.password);
    return this.deps.uow.write(async (r) => {
      if (await r.users.userNameTaken(fields.userName)) throw userNameTaken(fields.userName);
      return r.users.insert({
        ...fields,
        passwordResetRequired: true,
        organizationId: actor.organizationId,
        passwordHash,
      });
    });
  }

  /**
   * Applies a change to one user: `change` receives the stored user (locked until the
   * transaction ends) and returns the user as the client wants it. Attributes the draft
   * leaves undefined keep their stored value. Used by PUT and PATCH alike.
   */
  async update(
    actor: Actor,
    id: string,
    change: (current: User) => UserDraft | Promise<UserDraft>,
    expectedVersion?: ExpectedVersion,
  ): Promise<User> {
    return this.deps.uow.write(async (r) => {
      const current = await r.users.lockById(actor.organizationId, id);
      if (!current) throw notFound('User', id);
      assertVersion(current.version, expectedVersion);
      const draft = await change(current);
      assertMay(actor, 'update', 'user', this.deps.deploymentType);
      const desired = normalize({ ...pickFields(current), ...defined(draft) });
      const changes = diff(current, desired);
      if (changes.userName !== undefined && (await r.users.userNameTaken(changes.userName, current.id))) {
        throw userNameTaken(changes.userName);
      }
      const passwordChange =
        draft.password === undefined
          ? {}
          : { passwordHash: await this.deps.passwords.hash(draft.password), passwordResetRequired: true };
      if (Object.keys(changes).length === 0 && draft.password === undefined) return current;
      return r.users.update(current, { ...changes, ...passwordChange });
    });
  }

  async delete(actor: Actor, id: string, expectedVersion?: ExpectedVersion): Promise<void> {
    await this.deps.uow.write(async (r) => {
      const current = await r.users.lockById(actor.organizationId, id);
      if (!current) throw notFound('User', id);
      assertVersion(current.version, expectedVersion);
      assertMay(actor, 'delete', 'user', this.deps.deploymentType);
      await r.users.delete(actor.organizationId, id);
    });
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
    if (v !== undefined && k !== 'password') (out as Record<string, unknown>)[k] = v;
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
  return { ...fields, userName };
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
