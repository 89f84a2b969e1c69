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
