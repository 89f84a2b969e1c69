import { createHash, randomBytes } from 'node:crypto';
import type { Actor } from './actor';
import { DomainError, invalidValue, notFound } from './errors';
import type { PasswordHasher, UnitOfWork } from './ports';
import { ROLE_PAIRS } from './policy-rule-book';
import { list } from './policy-wording';
import { organizationRoleNamed, systemRoleNamed, type OrganizationRole, type SystemRole } from './roles';
import { assertPasswordMeetsPolicy, settingsFrom } from './settings';

/**
 * A console administrator (the web console at /admin/, src/console/): an email, an
 * argon2id password hash, and roles that pass through the same policy as a token's.
 * Without an organization it is an instance administrator and may act in every
 * organization; with one, only in that one.
 */
export interface ConsoleAdmin {
  id: string;
  email: string;
  /** null: an instance administrator. */
  organizationId: string | null;
  systemRole: SystemRole;
  organizationRole: OrganizationRole;
  createdAt: Date;
  disabledAt: Date | null;
  lastSignInAt: Date | null;
}

export interface NewConsoleAdmin {
  email: string;
  passwordHash: string;
  organizationId: string | null;
  systemRole: SystemRole;
  organizationRole: OrganizationRole;
}

/** Console administrators and their sessions (src/orm/console-admin.repository.ts). Sessions are kept by the SHA-256 of their id. */
export interface ConsoleAdminStore {
  /** A taken email is DomainError uniqueness. */
  insert(admin: NewConsoleAdmin): Promise<ConsoleAdmin>;
  list(): Promise<ConsoleAdmin[]>;
  count(): Promise<number>;
  /** The administrator with this email (any case) and its password hash, disabled or not. */
  withPassword(email: string): Promise<{ admin: ConsoleAdmin; passwordHash: string } | null>;
  /** Disables the administrator and ends its sessions; null when there is none. */
  disable(email: string, at: Date): Promise<ConsoleAdmin | null>;
  /** Stores a session and notes the sign-in; sessions idle since `idleSince` or longer are deleted. */
  startSession(idHash: string, adminId: string, at: Date, idleSince: Date): Promise<void>;
  /**
   * The administrator of a session last seen after `idleSince`, not disabled: its last
   * use becomes `now`. A session idle longer, or of a disabled administrator, is deleted: null.
   */
  resumeSession(idHash: string, now: Date, idleSince: Date): Promise<ConsoleAdmin | null>;
  endSession(idHash: string): Promise<void>;
  /** Stores a first-run setup token (its hash) until `expiresAt`. */
  addSetupToken(tokenHash: string, expiresAt: Date): Promise<void>;
  /**
   * Uses a setup token: while it is unexpired at `now` and no administrator exists,
   * inserts `admin` and deletes every setup token, in one statement. Null otherwise
   * (expired, used, unknown, or an administrator exists).
   */
  createFirst(tokenHash: string, now: Date, admin: NewConsoleAdmin): Promise<ConsoleAdmin | null>;
}

/** Checks a password against a stored hash (argon2.verify; the hash carries its parameters). */
export interface PasswordVerifier {
  verify(hash: string, password: string): Promise<boolean>;
}

export interface ConsoleAdminDeps {
  store: ConsoleAdminStore;
  uow: UnitOfWork;
  passwords: PasswordHasher;
  verifier: PasswordVerifier;
  /** A session unused this long ends (ROSTER_CONSOLE_IDLE_TIMEOUT_MINUTES). */
  idleTimeoutMs: number;
  now?: () => Date;
}

export interface CreateConsoleAdmin {
  email: string;
  password: string;
  organizationId?: string | null;
  systemRole?: string;
  organizationRole?: string;
}

const EMAIL = /^[^\s@]+@[^\s@]+$/;
const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');

/** The hash a session is stored by. */
export const sessionIdHash = (session: string) => sha256(`session:${session}`);

/** The CSRF token of a session: derived from its id (which only the cookie carries), so nothing more is stored. */
export function csrfTokenOf(session: string): string {
  return createHash('sha256').update(`csrf:${session}`, 'utf8').digest('base64url');
}

/**
 * Console administrators: created and disabled by the operator's CLI, signed in with
 * email and password. Passwords meet the instance's password policy and are hashed
 * (argon2id) before any transaction; sign-in verifies outside any transaction too.
 */
export class ConsoleAdminService {
  /** The clock sessions are timed by (tests move it instead of waiting). */
  now: () => Date;
  /** A hash to verify against when the email is unknown, so both cost the same time. */
  private decoy?: Promise<string>;

  constructor(private readonly deps: ConsoleAdminDeps) {
    this.now = deps.now ?? (() => new Date());
  }

  async create(input: CreateConsoleAdmin): Promise<ConsoleAdmin> {
    return this.deps.store.insert(await this.prepare(input));
  }

  /** A new administrator checked (email, roles, role pair, password policy) and its password hashed, outside any transaction. */
  private async prepare(input: CreateConsoleAdmin): Promise<NewConsoleAdmin> {
    const email = input.email.trim().toLowerCase();
    if (!EMAIL.test(email) || email.length > 254) throw invalidValue('admin.email_invalid', `"${input.email}" is not an email address`);
    const instance = input.organizationId == null;
    const systemRole = roleNamed(input.systemRole, instance ? 'Administrator' : 'User', systemRoleNamed, 'system role');
    const organizationRole = roleNamed(input.organizationRole, 'Organization Administrator', organizationRoleNamed, 'organization role');
    const pair = ROLE_PAIRS[systemRole];
    if (pair && !pair.includes(organizationRole)) {
      throw invalidValue('admin.role_pair', `system role ${systemRole} requires organization role ${list([...pair], 'or')} (rule: role pairs)`);
    }
    const settings = await this.deps.uow.read(async (r) => settingsFrom(await r.settings.all()));
    assertPasswordMeetsPolicy(input.password, settings.passwordPolicy);
    const passwordHash = await this.deps.passwords.hash(input.password, 'console');
    return { email, passwordHash, organizationId: input.organizationId ?? null, systemRole, organizationRole };
  }

  /**
   * First run: while no administrator exists, a setup token (valid for `ttlMs`, used
   * once) for the link the server logs; null once one exists.
   */
  async openSetup(ttlMs = 3_600_000): Promise<string | null> {
    if (await this.any()) return null;
    const token = randomBytes(32).toString('base64url');
    await this.deps.store.addSetupToken(sha256(`setup:${token}`), new Date(this.now().getTime() + ttlMs));
    return token;
  }

  /** The setup link's form: creates the instance administrator (system role Administrator) and signs it in. */
  async completeSetup(token: string, email: string, password: string): Promise<{ admin: ConsoleAdmin; session: string }> {
    const refused = () =>
      new DomainError('not_found', 'admin.setup_invalid', 'this setup link has expired or has been used; an administrator signs in instead');
    if (!/^[A-Za-z0-9_-]{43}$/.test(token)) throw refused();
    const admin = await this.prepare({ email, password, organizationId: null });
    const created = await this.deps.store.createFirst(sha256(`setup:${token}`), this.now(), admin);
    if (!created) throw refused();
    const signedIn = await this.signIn(email, password);
    if (!signedIn) throw refused();
    return signedIn;
  }

  list(): Promise<ConsoleAdmin[]> {
    return this.deps.store.list();
  }

  /** Whether any administrator exists (the first-run setup link is offered while none does). */
  async any(): Promise<boolean> {
    return (await this.deps.store.count()) > 0;
  }

  async disable(email: string): Promise<ConsoleAdmin> {
    const admin = await this.deps.store.disable(email.trim().toLowerCase(), this.now());
    if (!admin) throw new DomainError('not_found', 'admin.not_found', `no console administrator "${email}"`);
    return admin;
  }

  /** A new session for the right email and password of an enabled administrator; null for anything else. */
  async signIn(email: string, password: string): Promise<{ admin: ConsoleAdmin; session: string } | null> {
    if (email.length > 254 || password.length > 1024) return null;
    const found = await this.deps.store.withPassword(email.trim().toLowerCase());
    this.decoy ??= this.deps.passwords.hash(randomBytes(16).toString('hex'), 'console');
    const hash = found?.passwordHash ?? (await this.decoy);
    // A verification costs what a hash costs: it waits for a turn of the bounded hasher, as a password change does.
    const verify = () => this.deps.verifier.verify(hash, password).catch(() => false);
    const passwords = this.deps.passwords;
    const valid = passwords.inTurn ? await passwords.inTurn('console', verify) : await verify();
    if (!found || !valid || found.admin.disabledAt !== null) return null;
    const session = randomBytes(32).toString('base64url');
    const now = this.now();
    await this.deps.store.startSession(sessionIdHash(session), found.admin.id, now, new Date(now.getTime() - this.deps.idleTimeoutMs));
    return { admin: found.admin, session };
  }

  /** The administrator of a live session (its idle clock restarts), or null. */
  async resume(session: string): Promise<ConsoleAdmin | null> {
    if (!/^[A-Za-z0-9_-]{43}$/.test(session)) return null;
    const now = this.now();
    return this.deps.store.resumeSession(sessionIdHash(session), now, new Date(now.getTime() - this.deps.idleTimeoutMs));
  }

  async signOut(session: string): Promise<void> {
    await this.deps.store.endSession(sessionIdHash(session));
  }
}

/**
 * The actor a console administrator acts as in one organization: its own roles, so
 * the same policy decides as for a token. An organization administrator asking for
 * another organization gets not_found, as a token would.
 */
export function consoleActor(admin: ConsoleAdmin, organizationId: string, requestId?: string): Actor {
  if (admin.organizationId !== null && admin.organizationId !== organizationId) throw notFound('Organization', organizationId);
  return {
    credentialId: admin.id,
    organizationId,
    systemRole: admin.systemRole,
    organizationRole: admin.organizationRole,
    console: { adminId: admin.id, email: admin.email },
    ...(requestId ? { requestId } : {}),
  };
}

/**
 * Creating organizations is an operator's job (`roster org create`); in the console,
 * only an instance administrator whose system role may choose system roles
 * (Administrator, Operations Administrator) may.
 */
export function assertMayCreateOrganizations(admin: ConsoleAdmin): void {
  if (admin.organizationId === null && (admin.systemRole === 'Administrator' || admin.systemRole === 'Operations Administrator')) return;
  throw new DomainError(
    'forbidden',
    'organization.create_forbidden',
    `a console administrator ${admin.organizationId === null ? `with system role ${admin.systemRole}` : 'of one organization'} cannot create organizations (rule: only an instance administrator with system role Administrator or Operations Administrator may)`,
  );
}

function roleNamed<R extends string>(given: string | undefined, fallback: R, named: (s: string) => R | undefined, what: string): R {
  if (given === undefined) return fallback;
  const role = named(given);
  if (!role) throw invalidValue('admin.role_invalid', `"${given}" is not a ${what}`);
  return role;
}
