import type { OrganizationRole, SystemRole } from './roles';

/** A provisioning credential (bearer token). Only the SHA-256 of its secret is kept. */
export interface Credential {
  id: string;
  organizationId: string;
  name: string;
  systemRole: SystemRole;
  organizationRole: OrganizationRole;
  createdAt: Date;
  lastUsedAt: Date | null;
  expiresAt: Date | null;
  revokedAt: Date | null;
}
