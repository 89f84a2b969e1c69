import { EntitySchema } from '@mikro-orm/core';
import type { OrganizationEntity } from './organization';
import type { ProvisioningEventEntity } from './provisioning-event';

export interface EventPollAckEntity {
  organization: OrganizationEntity;
  event: ProvisioningEventEntity;
  ackedAt: Date;
  /** RFC 8936 `setErrs`: the receiver's error for this SET (`{ err, description }`); null for a plain `ack`. */
  error: Record<string, unknown> | null;
}

/**
 * Poll delivery (RFC 8936): the events an organization's poller acknowledged (`ack`,
 * or `setErrs`), one row each. Acknowledgements may arrive in any order, so the set
 * is stored rather than a cursor. An acknowledged event is never polled again. A row
 * goes with its event (pruned, or its organization deleted).
 */
export const EventPollAck = new EntitySchema<EventPollAckEntity>({
  name: 'EventPollAck',
  tableName: 'event_poll_acks',
  properties: {
    organization: { kind: 'm:1', entity: 'Organization', primary: true, deleteRule: 'cascade' },
    event: { kind: 'm:1', entity: 'ProvisioningEvent', primary: true, deleteRule: 'cascade' },
    ackedAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'clock_timestamp()' },
    error: { type: 'json', columnType: 'jsonb', nullable: true },
  },
});
