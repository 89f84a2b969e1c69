import type { AuditEvent, AuditEventInput, AuditPageQuery, AuditRepository } from '../domain/ports';
import { isUuid } from '../domain/ids';
import { toDate, type Sql } from './sql';

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
    await this.sql.atCommit(
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

  async recordAll(events: AuditEventInput[]): Promise<void> {
    if (events.length === 0) return;
    // One event: the plain INSERT (no JSON to build and parse).
    if (events.length === 1) return this.record(events[0]);
    const rows = events.map((e) => ({
      organization_id: e.organizationId,
      credential_id: e.credentialId,
      actor: e.actor,
      action: e.action,
      target_type: e.targetType ?? null,
      target_id: e.targetId ?? null,
      target_name: e.targetName ?? null,
      details: e.details ?? {},
    }));
    // One statement however many events; ids follow the array's order.
    await this.sql.atCommit(
      `insert into audit_events (organization_id, credential_id, actor, action, target_type, target_id, target_name, details)
       select x.organization_id, x.credential_id, x.actor, x.action, x.target_type, x.target_id, x.target_name, x.details
       from rows from (jsonb_to_recordset(?::jsonb) as (organization_id uuid, credential_id uuid, actor text, action text,
         target_type text, target_id uuid, target_name text, details jsonb)) with ordinality as x(organization_id, credential_id, actor, action,
         target_type, target_id, target_name, details, n)
       order by x.n`,
      [JSON.stringify(rows)],
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
