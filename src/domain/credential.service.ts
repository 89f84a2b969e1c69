import { createHash, randomBytes } from 'node:crypto';
import { actorCredentialId, actorName, type Actor } from './actor';
import { AuditTrail } from './audit';
import { authorizeCredentialChange } from './policy';
import { settingsFrom } from './settings';
import type { Credential } from './credential';
import { invalidValue, notFound } from './errors';
import type { AuditEventInput, UnitOfWork } from './ports';
import { organizationRoleNamed, systemRoleNamed, type OrganizationRole, type SystemRole } from './roles';

/** Generated tokens: a recognisable prefix, then 256 random bits in base64url. */
export const TOKEN_PREFIX = 'roster_';
const LAST_USED_WRITE_INTERVAL_MS = 60_000;

export function hashSecret(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('hex');
}

export function generateSecret(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

/** Tells the service when credentials change elsewhere, so it may keep verified ones in memory. */
export interface CredentialChanges {
  isLive(): boolean;
  onChange(listener: () => void): void;
}

const CACHE_TTL_MS = 60_000;
const ACTIVE_REFRESH_MS = 10_000;
const ACTIVE_MISS_REFRESH_MS = 1_000;
const CACHE_MAX = 10_000;

export interface IssueCredential {
  organizationId: string;
  name?: string;
  systemRole?: string;
  organizationRole?: string;
  expiresInDays?: number;
}

/**
 * Provisioning credentials: issue, authenticate, list, revoke. A request's token is
 * found by the SHA-256 of its secret (one indexed lookup; no slow hash per request),
 * and checked for revocation and expiry on every request. With a live change feed
 * (every Roster process LISTENs for revocations, which NOTIFY at commit), verified
 * credentials are kept in memory and a revocation from any process drops them.
 */
export class CredentialService {
  private readonly lastUsedWrites = new Map<string, number>();
  private readonly pendingWrites = new Set<Promise<void>>();
  /** Verified credentials by secret hash, kept only while `changes` is live. */
  private readonly cache = new Map<string, { credential: Credential; at: number }>();
  /** Bumped on every change: a lookup that raced a revocation is not cached. */
  private generation = 0;
  /** The hashes of every active credential, read when an address is blocked (`mayBeActive`). */
  private active?: { hashes: Set<string>; at: number; generation: number };
  private activeLoading?: Promise<Set<string>>;

  constructor(
    private readonly uow: UnitOfWork,
    private readonly now: () => Date = () => new Date(),
    private readonly changes?: CredentialChanges,
  ) {
    changes?.onChange(() => {
      this.generation += 1;
      this.cache.clear();
    });
  }

  /** The credential with this secret hash: from memory when the change feed is live, else from the database. */
  private async lookup(secretHash: string): Promise<Credential | null> {
    const live = this.changes?.isLive() === true;
    const now = Date.now();
    if (live) {
      const hit = this.cache.get(secretHash);
      if (hit && now - hit.at < CACHE_TTL_MS) return hit.credential;
    }
    const generation = this.generation;
    const credential = await this.uow.read((r) => r.credentials.findBySecretHash(secretHash));
    if (live && credential && credential.revokedAt === null && generation === this.generation && this.changes?.isLive()) {
      if (this.cache.size >= CACHE_MAX) this.cache.clear();
      this.cache.set(secretHash, { credential, at: now });
    }
    return credential;
  }

  /** Issues a credential and returns it with its secret, which is never shown again. */
  async issue(request: IssueCredential, secret: string = generateSecret(), by?: Actor): Promise<{ credential: Credential; secret: string }> {
    const systemRole = roleOrDefault(request.systemRole, 'Api User', systemRoleNamed, 'system role');
    const organizationRole = roleOrDefault(request.organizationRole, 'Organization Administrator', organizationRoleNamed, 'organization role');
    let expiresAt: Date | null = null;
    if (request.expiresInDays !== undefined) {
      if (!Number.isInteger(request.expiresInDays) || request.expiresInDays < 1 || request.expiresInDays > 3650) {
        throw invalidValue('credential.expiry_invalid', 'expires-in-days must be a whole number from 1 to 3650');
      }
      expiresAt = new Date(this.now().getTime() + request.expiresInDays * 86_400_000);
    }
    const credential = await this.uow.write(async (r) => {
      if (by) authorizeCredentialChange(by, settingsFrom(await r.settings.all()), request.organizationId, systemRole);
      const issued = await r.credentials.insert({
        organizationId: request.organizationId,
        name: request.name ?? 'provisioning',
        systemRole,
        organizationRole,
        expiresAt,
        secretHash: hashSecret(secret),
      });
      await r.audit.record(credentialEvent('credential.issued', issued, { systemRole, organizationRole, expiresAt }, by));
      return issued;
    });
    this.active = undefined;
    return { credential, secret };
  }

  /**
   * Whether a secret is one of the active credentials, from a set of their hashes kept
   * in memory (read again after ACTIVE_REFRESH_MS, after a change this process hears
   * of, and on a miss at most every ACTIVE_MISS_REFRESH_MS): an address blocked for its
   * failed authentications still lets such a token through, while guesses cost no
   * lookup of their own.
   */
  async mayBeActive(secret: string): Promise<boolean> {
    if (secret.length < 16 || secret.length > 512) return false;
    const hash = hashSecret(secret);
    const age = (active: typeof this.active) => (active && active.generation === this.generation ? Date.now() - active.at : Infinity);
    if (age(this.active) < ACTIVE_REFRESH_MS && this.active?.hashes.has(hash)) return true;
    // A miss reads the set again, at most every ACTIVE_MISS_REFRESH_MS: a token issued
    // elsewhere a moment ago is found, and guesses cost one read a second at most.
    if (age(this.active) < ACTIVE_MISS_REFRESH_MS) return false;
    this.activeLoading ??= (async () => {
      const generation = this.generation;
      try {
        const read = new Set(await this.uow.read((r) => r.credentials.activeSecretHashes(this.now())));
        this.active = { hashes: read, at: Date.now(), generation };
        return read;
      } finally {
        this.activeLoading = undefined;
      }
    })();
    return (await this.activeLoading).has(hash);
  }

  /** The actor a bearer token stands for, or null for any kind of failure. */
  async authenticate(secret: string): Promise<Actor | null> {
    if (secret.length < 16 || secret.length > 512) return null;
    const credential = await this.lookup(hashSecret(secret));
    const now = this.now();
    if (!credential || credential.revokedAt !== null) return null;
    if (credential.expiresAt !== null && credential.expiresAt.getTime() <= now.getTime()) return null;
    this.noteUse(credential.id, now);
    return {
      credentialId: credential.id,
      organizationId: credential.organizationId,
      systemRole: credential.systemRole,
      organizationRole: credential.organizationRole,
    };
  }

  /** Makes sure a credential with exactly this secret exists; idempotent. */
  async ensure(organizationId: string, secret: string, name: string): Promise<{ credential: Credential; created: boolean }> {
    const existing = await this.uow.read((r) => r.credentials.findBySecretHash(hashSecret(secret)));
    if (existing) return { credential: existing, created: false };
    const { credential } = await this.issue({ organizationId, name }, secret);
    return { credential, created: true };
  }

  list(organizationId: string): Promise<Credential[]> {
    return this.uow.read((r) => r.credentials.listByOrganization(organizationId));
  }

  /**
   * Issued by an actor (a console administrator) for its own organization: authorized by
   * the domain policy (authorizeCredentialChange) in the issuing transaction, audited as
   * the actor, a refusal recorded.
   */
  issueAs(actor: Actor, request: Omit<IssueCredential, 'organizationId'>): Promise<{ credential: Credential; secret: string }> {
    return new AuditTrail(this.uow).recordingRefusals(actor, 'credential.issue', { targetName: request.name }, () =>
      this.issue({ ...request, organizationId: actor.organizationId }, generateSecret(), actor),
    );
  }

  /** Revoked by an actor: a credential of another organization is not found; authorized like issuing. */
  revokeAs(actor: Actor, id: string): Promise<Credential> {
    return new AuditTrail(this.uow).recordingRefusals(actor, 'credential.revoke', { targetId: id }, () => this.revoke(id, actor));
  }

  async revoke(id: string, by?: Actor): Promise<Credential> {
    this.active = undefined;
    return this.uow.write(async (r) => {
      const credential = /^[0-9a-f-]{36}$/i.test(id) ? await r.credentials.findById(id) : null;
      if (!credential || (by && credential.organizationId !== by.organizationId)) throw notFound('Credential', id);
      if (by) authorizeCredentialChange(by, settingsFrom(await r.settings.all()), credential.organizationId);
      if (credential.revokedAt === null) {
        await r.credentials.revoke(id, this.now());
        await r.audit.record(credentialEvent('credential.revoked', credential, {}, by));
      }
      return (await r.credentials.findById(id)) as Credential;
    });
  }

  /** Records use at most once a minute per credential, so a request costs no write. */
  private noteUse(id: string, now: Date): void {
    const last = this.lastUsedWrites.get(id);
    if (last !== undefined && now.getTime() - last < LAST_USED_WRITE_INTERVAL_MS) return;
    this.lastUsedWrites.set(id, now.getTime());
    const write = this.uow
      .read((r) => r.credentials.markUsed(id, now))
      .catch(() => {
        this.lastUsedWrites.delete(id);
      })
      .finally(() => this.pendingWrites.delete(write));
    this.pendingWrites.add(write);
  }

  /** Waits for the `lastUsedAt` writes under way (before the database closes). */
  async settle(): Promise<void> {
    await Promise.all([...this.pendingWrites]);
  }
}

function credentialEvent(action: string, credential: Credential, details: Record<string, unknown> = {}, by?: Actor): AuditEventInput {
  return {
    organizationId: credential.organizationId,
    credentialId: by ? actorCredentialId(by) : null,
    actor: by ? actorName(by) : 'cli',
    action,
    targetType: 'credential',
    targetId: credential.id,
    targetName: credential.name,
    details,
  };
}

function roleOrDefault<R extends string>(given: string | undefined, fallback: R, named: (s: string) => R | undefined, what: string): R {
  if (given === undefined) return fallback;
  const role = named(given);
  if (!role) throw invalidValue('credential.role_invalid', `"${given}" is not a ${what}`);
  return role;
}

export type { OrganizationRole, SystemRole };
