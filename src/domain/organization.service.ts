import { invalidValue, notFound, uniqueness } from './errors';
import { SLUG_PATTERN, type Organization } from './organization';
import type { UnitOfWork } from './ports';

export const DEFAULT_ORGANIZATION = 'default';

/** Organizations (tenants): created by an operator, never through SCIM. */
export class OrganizationService {
  constructor(private readonly uow: UnitOfWork) {}

  async create(slug: string, name?: string): Promise<Organization> {
    if (!SLUG_PATTERN.test(slug)) {
      throw invalidValue(
        'organization.slug_invalid',
        `"${slug}" is not a valid slug: use 1 to 64 lowercase letters, digits and inner hyphens`,
      );
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
    if (!org) throw notFound('Organization', slug);
    return org;
  }

  list(): Promise<Organization[]> {
    return this.uow.read((r) => r.organizations.list());
  }
}
