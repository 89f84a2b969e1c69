import type { AuditEvent, AuditEventInput, AuditPageQuery, AuditRepository } from '../domain/ports';
import { isUuid, toDate, type Sql } from './sql';

type Row = Record<string, unknown>;

const toEvent = (row: Row): AuditEvent => ({
  id: String(row.id),
  occurredAt: toDate(row.occurred_at),
  organizationId: row.organization_id as string | null,
  credentialId: row.credential_id as string | null,
  actor: row.actor as string,
  action: row.action as string,
  ...(row.target_type ? { targetType: row.target_type as AuditEvent['targetType'] } : {}),
  ...(row.target_id ? { targetId: row.target_id as string } : {}),
  ...(row.target_name ? { targetName: row.target_name as string } : {}),
  details: (row.details ?? {}) as Record<string, unknown>,
});

/** Audit events: written in the transaction of the change they record. */
export class AuditSqlRepository implements AuditRepository {
  constructor(private readonly sql: Sql) {}

  async record(event: AuditEventInput): Promise<void> {
    await this.sql.run(
      `insert into audit_events (organization_id, credential_id, actor, action, target_type, target_id, target_name, details)
       values (?, ?, ?, ?, ?, ?, ?, ?::jsonb)`,
      [
        event.organizationId,
        event.credentialId,
        event.actor,
        event.action,
        event.targetType ?? null,
        event.targetId ?? null,
        event.targetName ?? null,
        JSON.stringify(event.details ?? {}),
      ],
    );
  }

  async list(organizationId: string, since?: Date): Promise<AuditEvent[]> {
    const rows = await this.sql.all<Row>(
      `select * from audit_events where organization_id = ?${since ? ' and occurred_at >= ?' : ''} order by id`,
      since ? [organizationId, since] : [organizationId],
    );
    return rows.map(toEvent);
  }

  async page(organizationId: string, options: AuditPageQuery): Promise<AuditEvent[]> {
    if (options.targetId !== undefined && !isUuid(options.targetId)) return [];
    const conditions = ['organization_id = ?'];
    const params: unknown[] = [organizationId];
    if (options.beforeId !== undefined) {
      conditions.push('id < ?');
      params.push(options.beforeId);
    }
    if (options.targetId !== undefined) {
      conditions.push('target_id = ?');
      params.push(options.targetId);
    }
    const rows = await this.sql.all<Row>(`select * from audit_events where ${conditions.join(' and ')} order by id desc limit ?`, [...params, options.limit]);
    return rows.map(toEvent);
  }
}
