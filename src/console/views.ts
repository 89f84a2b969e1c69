import type { Credential } from '../domain/credential';
import type { AuditEvent } from '../domain/ports';

/** An audit event as the console shows it (the same fields as `roster audit --json`, with its id for paging). */
export function auditView(e: AuditEvent) {
  return {
    id: e.id,
    occurredAt: e.occurredAt.toISOString(),
    actor: e.actor,
    action: e.action,
    targetType: e.targetType ?? null,
    targetId: e.targetId ?? null,
    targetName: e.targetName ?? null,
    details: e.details ?? {},
  };
}

/** A provisioning token as the Connection page lists it: never its secret (only its hash is stored). */
export function tokenView(c: Credential) {
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
