import { EntitySchema } from '@mikro-orm/core';
import { timestamps, uuidKey } from './columns';
import type { OrganizationEntity } from './organization';

export interface EventReceiverEntity {
  id: string;
  organization: OrganizationEntity;
  url: string;
  audience: string;
  events: string[] | null;
  full: boolean;
  createdAt: Date;
  lastDeliveredId: string;
  lastDeliveredAt: Date | null;
  attempts: number;
  nextAttemptAt: Date | null;
  lastError: string | null;
  failingSince: Date | null;
  failing: boolean;
}

/**
 * A push receiver of an organization's security events (RFC 8935). `last_delivered_id`
 * is its cursor in provisioning_events: every event of the organization up to it was
 * delivered (or did not match `events`). `next_attempt_at` is when it is due again
 * (null: now); a delivery run also sets it ahead as a lease while it sends.
 * `failing_since` is the first failure of the current run of failures.
 */
export const EventReceiver = new EntitySchema<EventReceiverEntity>({
  name: 'EventReceiver',
  tableName: 'event_receivers',
  indexes: [{ name: 'event_receivers_organization_id_index', properties: ['organization'] }],
  properties: {
    id: uuidKey,
    organization: { kind: 'm:1', entity: 'Organization', deleteRule: 'cascade' },
    url: { type: 'text' },
    audience: { type: 'text' },
    events: { type: 'json', columnType: 'jsonb', nullable: true },
    full: { type: 'boolean', default: false },
    createdAt: timestamps.createdAt,
    lastDeliveredId: { type: 'bigint', default: 0 },
    lastDeliveredAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    attempts: { type: 'integer', default: 0 },
    nextAttemptAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    lastError: { type: 'text', nullable: true },
    failingSince: { type: 'Date', columnType: 'timestamptz', nullable: true },
    failing: { type: 'boolean', default: false },
  },
});
