import { DomainError, invalidValue, uniqueness } from './errors';
import { SLUG_PATTERN, type Organization, type OrganizationLicense } from './organization';
import type { StoredEvent } from './events';
import type { User } from './user';
import type { Actor } from './actor';
import type { AccountCounts, AuditEvent, AuditPageQuery, UnitOfWork } from './ports';

export const DEFAULT_ORGANIZATION = 'default';

/** Organizations (tenants): created by an operator, never through SCIM. */
export class OrganizationService {
  constructor(private readonly uow: UnitOfWork) {}

  async create(slug: string, name?: string): Promise<Organization> {
    if (!SLUG_PATTERN.test(slug)) {
      throw invalidValue('organization.slug_invalid', `"${slug}" is not a valid slug: use 1 to 64 lowercase letters, digits and inner hyphens`);
    }
    return this.uow.write(async (r) => {
      if (await r.organizations.findBySlug(slug)) {
        throw uniqueness('organization.slug_taken', `organization "${slug}" already exists`);
      }
      return r.organizations.insert({ slug, name: name?.trim() || slug });
    });
  }

  /** The organization with this slug, created when missing; idempotent. */
  async ensure(slug: string, name?: string): Promise<Organization> {
    const existing = await this.uow.read((r) => r.organizations.findBySlug(slug));
    if (existing) return existing;
    try {
      return await this.create(slug, name);
    } catch (error) {
      const raced = await this.uow.read((r) => r.organizations.findBySlug(slug));
      if (raced) return raced;
      throw error;
    }
  }

  async bySlug(slug: string): Promise<Organization> {
    const org = await this.uow.read((r) => r.organizations.findBySlug(slug));
    if (!org) throw new DomainError('not_found', 'organization.not_found', `organization "${slug}" not found`);
    return org;
  }

  list(): Promise<Organization[]> {
    return this.uow.read((r) => r.organizations.list());
  }

  /** Limits, flags and how many users of each account type the organization has. */
  async show(slug: string): Promise<{ organization: Organization; license: OrganizationLicense; counts: AccountCounts }> {
    const organization = await this.bySlug(slug);
    return this.uow.read(async (r) => ({
      organization,
      license: (await r.organizations.license(organization.id)) as OrganizationLicense,
      counts: await r.users.countByAccountType(organization.id),
    }));
  }

  /** The actor's organization: its limits, flags and users per account type. */
  async usage(actor: Actor): Promise<{ organization: Organization; license: OrganizationLicense; counts: AccountCounts }> {
    return this.uow.read(async (r) => {
      const organization = await r.organizations.findById(actor.organizationId);
      if (!organization) throw new DomainError('not_found', 'organization.not_found', 'Organization not found');
      return {
        organization,
        license: (await r.organizations.license(organization.id)) as OrganizationLicense,
        counts: await r.users.countByAccountType(organization.id),
      };
    });
  }

  /** A page of the actor's organization's audit trail, newest first. */
  auditPage(actor: Actor, query: AuditPageQuery): Promise<AuditEvent[]> {
    return this.uow.read((r) => r.audit.page(actor.organizationId, query));
  }

  /** Changes license limits and flags; values left undefined stay as they are. */
  async setLicense(slug: string, change: Partial<OrganizationLicense>): Promise<OrganizationLicense> {
    for (const [key, value] of Object.entries(change)) {
      if (typeof value === 'number' && (!Number.isInteger(value) || value < 0)) {
        throw invalidValue('organization.limit_invalid', `${key} must be a whole number of at least 0`);
      }
    }
    const organization = await this.bySlug(slug);
    return this.uow.write(async (r) => {
      const before = await r.organizations.lockLicense(organization.id);
      await r.organizations.setLicense(organization.id, change);
      const after = (await r.organizations.license(organization.id)) as OrganizationLicense;
      await r.audit.record({
        organizationId: organization.id,
        credentialId: null,
        actor: 'cli',
        action: 'organization.license_changed',
        targetType: 'organization',
        targetId: organization.id,
        targetName: organization.slug,
        details: { from: before, to: after },
      });
      return after;
    });
  }

  /** The organization's audit events, oldest first. */
  async audit(slug: string, since?: Date): Promise<AuditEvent[]> {
    const organization = await this.bySlug(slug);
    return this.uow.read((r) => r.audit.list(organization.id, since));
  }

  /** The organization's provisioning events, newest first (at most `limit`, from `since` on). */
  async events(slug: string, since: Date | undefined, limit: number): Promise<StoredEvent[]> {
    const organization = await this.bySlug(slug);
    return this.uow.read((r) => r.events.recent(organization.id, since, limit));
  }

  /** Every user of the organization, in batches (for exports of any size). */
  async *users(slug: string, batchSize = 1000): AsyncGenerator<User[]> {
    const organization = await this.bySlug(slug);
    let after: string | undefined;
    for (;;) {
      const batch = await this.uow.read((r) => r.users.batch(organization.id, after, batchSize));
      if (batch.length === 0) return;
      yield batch;
      after = batch[batch.length - 1].id;
    }
  }
}
