import { EntitySchema } from '@mikro-orm/core';

export interface AuditEventEntity {
  /** Increases with every event, so events of one transaction keep their order. */
  id: string;
  occurredAt: Date;
  organizationId: string | null;
  credentialId: string | null;
  actor: string;
  action: string;
  targetType: string | null;
  targetId: string | null;
  targetName: string | null;
  details: Record<string, unknown>;
}

/**
 * The audit trail. No foreign keys: an event outlives the user, group or credential
 * it names (deleting a user keeps its trail).
 */
export const AuditEvent = new EntitySchema<AuditEventEntity>({
  name: 'AuditEvent',
  tableName: 'audit_events',
  indexes: [
    { name: 'audit_events_organization_occurred_index', properties: ['organizationId', 'occurredAt'] },
    { name: 'audit_events_target_index', properties: ['targetId'] },
  ],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    occurredAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'clock_timestamp()' },
    organizationId: { type: 'uuid', nullable: true },
    credentialId: { type: 'uuid', nullable: true },
    actor: { type: 'text' },
    action: { type: 'text' },
    targetType: { type: 'text', nullable: true },
    targetId: { type: 'uuid', nullable: true },
    targetName: { type: 'text', nullable: true },
    details: { type: 'json', columnType: 'jsonb', defaultRaw: `'{}'::jsonb` },
  },
});
