import { actorCredentialId, actorName, type Actor } from './actor';
import { DomainError } from './errors';
import type { AuditEvent, AuditEventInput, UnitOfWork } from './ports';

interface Target {
  id: string;
  organizationId: string;
  userName?: string;
  displayName?: string | null;
}

/**
 * The audit trail of changes: who (which credential), which organization, which
 * target, what. Changes write their event in their own transaction; refusals are
 * recorded after the refused transaction has rolled back.
 */
export class AuditTrail {
  constructor(private readonly uow: UnitOfWork) {}

  static event(actor: Actor, action: string, target: Target, details: Record<string, unknown> = {}): AuditEventInput {
    const isUser = target.userName !== undefined;
    return {
      organizationId: target.organizationId,
      credentialId: actorCredentialId(actor),
      actor: actorName(actor),
      action,
      targetType: isUser ? 'user' : 'group',
      targetId: target.id,
      targetName: (isUser ? target.userName : target.displayName) ?? undefined,
      details,
    };
  }

  /**
   * Runs a change and returns what it returns; when the policy refuses it (403), records
   * the refused attempt (after the change's transaction rolled back), then rethrows.
   */
  async recordingRefusals<T>(actor: Actor, attempted: string, target: { targetId?: string; targetName?: string }, change: () => Promise<T>): Promise<T> {
    try {
      return await change();
    } catch (error) {
      if (error instanceof DomainError && error.kind === 'forbidden') {
        await this.uow
          .write((r) =>
            r.audit.record({
              organizationId: actor.organizationId,
              credentialId: actorCredentialId(actor),
              actor: actorName(actor),
              action: 'refused',
              targetType: attempted.split('.')[0] as 'user' | 'group' | 'credential',
              ...(target.targetId && /^[0-9a-f-]{36}$/i.test(target.targetId) ? { targetId: target.targetId } : {}),
              ...(target.targetName ? { targetName: target.targetName } : {}),
              details: { attempted, rule: error.code, reason: error.message },
            }),
          )
          .catch(() => undefined);
      }
      throw error;
    }
  }
}

/** An audit event as `roster audit --json` prints it (the console adds its id, for paging). */
export function auditEventView(e: AuditEvent) {
  return {
    occurredAt: e.occurredAt.toISOString(),
    actor: e.actor,
    action: e.action,
    targetType: e.targetType ?? null,
    targetId: e.targetId ?? null,
    targetName: e.targetName ?? null,
    details: e.details ?? {},
  };
}
