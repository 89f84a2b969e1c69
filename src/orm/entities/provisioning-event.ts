import { EntitySchema } from '@mikro-orm/core';
import type { OrganizationEntity } from './organization';

export interface ProvisioningEventEntity {
  /** Increases with every event: the outbox's order. */
  id: string;
  organization: OrganizationEntity;
  resourceType: string;
  resourceId: string;
  eventUris: string[];
  attributes: string[];
  txn: string | null;
  createdAt: Date;
}

/**
 * The transactional outbox of provisioning events (RFC 9967): a row per committed
 * change to a user or group, written in its transaction. No foreign key on the
 * resource: the event of a deletion outlives what it names.
 */
export const ProvisioningEvent = new EntitySchema<ProvisioningEventEntity>({
  name: 'ProvisioningEvent',
  tableName: 'provisioning_events',
  indexes: [{ name: 'provisioning_events_organization_id_index', properties: ['organization', 'id'] }],
  properties: {
    id: { type: 'bigint', primary: true, autoincrement: true },
    organization: { kind: 'm:1', entity: 'Organization', deleteRule: 'cascade' },
    resourceType: { type: 'text' },
    resourceId: { type: 'uuid' },
    eventUris: { type: 'json', columnType: 'jsonb' },
    attributes: { type: 'json', columnType: 'jsonb' },
    txn: { type: 'text', nullable: true },
    createdAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'clock_timestamp()' },
  },
});
