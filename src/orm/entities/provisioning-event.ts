import { EntitySchema } from '@mikro-orm/core';

export interface ProvisioningEventEntity {
  /** Increases with every event: the outbox's order, assigned by the sequencer (orm/event-sequencer.ts). */
  id: string;
  organizationId: string;
  resourceType: string;
  resourceId: string;
  eventUris: string[];
  attributes: string[];
  txn: string | null;
  /** When the change was written (its queue row's time), not when it was sequenced. */
  createdAt: Date;
}

/** The columns an event has, in the queue and in the outbox alike (a fresh object for each schema). */
const eventColumns = () => ({
  id: { type: 'bigint', primary: true, autoincrement: true },
  organizationId: { type: 'uuid' },
  resourceType: { type: 'text' },
  resourceId: { type: 'uuid' },
  eventUris: { type: 'json', columnType: 'jsonb' },
  attributes: { type: 'json', columnType: 'jsonb' },
  txn: { type: 'text', nullable: true },
  createdAt: { type: 'Date', columnType: 'timestamptz', defaultRaw: 'clock_timestamp()' },
});

/**
 * The transactional outbox of provisioning events (RFC 9967): a row per committed
 * change to a user or group. Writers never insert here: they append to
 * `provisioning_event_queue` in the change's transaction, and the sequencer moves the
 * committed rows here in queue order under one lock, so an organization's events commit
 * in id order. No foreign key on the resource (the event of a deletion outlives what it
 * names), nor on the organization: rows only come from the queue, whose rows come from
 * writes of existing organizations, and Roster never deletes an organization.
 */
export const ProvisioningEvent = new EntitySchema<ProvisioningEventEntity>({
  name: 'ProvisioningEvent',
  tableName: 'provisioning_events',
  indexes: [{ name: 'provisioning_events_organization_id_index', properties: ['organizationId', 'id'] }],
  properties: eventColumns(),
});

/** A queue row: the columns of an outbox row; its id is the order writers appended in, which the sequencer moves rows in. */
export type ProvisioningEventQueueEntity = ProvisioningEventEntity;

/**
 * Events written but not yet sequenced: each write appends its events here in its own
 * transaction, taking no lock (so an organization's writes commit in parallel), and the
 * sequencer (orm/event-sequencer.ts) moves the committed rows to `provisioning_events`.
 * Rows live here for milliseconds; no foreign key, no index but the key.
 */
export const ProvisioningEventQueue = new EntitySchema<ProvisioningEventQueueEntity>({
  name: 'ProvisioningEventQueue',
  tableName: 'provisioning_event_queue',
  properties: eventColumns(),
});
