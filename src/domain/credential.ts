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

/** A credential as the CLI (`token list --json`) and the console show it: dates as ISO text, never a secret (only its hash is stored). */
export function credentialView(c: Credential) {
  return {
    id: c.id,
    name: c.name,
    systemRole: c.systemRole,
    organizationRole: c.organizationRole,
    createdAt: c.createdAt.toISOString(),
    lastUsedAt: c.lastUsedAt?.toISOString() ?? null,
    expiresAt: c.expiresAt?.toISOString() ?? null,
    revokedAt: c.revokedAt?.toISOString() ?? null,
  };
}
