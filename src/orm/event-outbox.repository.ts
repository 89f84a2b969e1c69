import type { DomainEvent, StoredEvent } from '../domain/events';
import type { EventAck, EventOutbox } from '../domain/ports';
import type { EventSequencer } from './event-sequencer';
import { toDate, type Sql } from './sql';

type Row = Record<string, unknown>;

/** A provisioning_events row as a StoredEvent (also read by the receivers' store). */
export const toEvent = (row: Row): StoredEvent => ({
  id: String(row.id),
  createdAt: toDate(row.created_at),
  organizationId: row.organization_id as string,
  resourceType: row.resource_type as StoredEvent['resourceType'],
  resourceId: row.resource_id as string,
  eventUris: row.event_uris as string[],
  attributes: row.attributes as string[],
  ...(row.txn !== null && row.txn !== undefined ? { txn: row.txn as string } : {}),
});

/**
 * The outbox: writes append their events to `provisioning_event_queue` in the change's
 * transaction; the sequencer (orm/event-sequencer.ts) moves them to `provisioning_events`,
 * which the reads here read. A read repository (`sequencer` given) runs the sequencer
 * first, so it sees every event committed before it; a write's repository has none, and
 * never runs it (inside a transaction, on the embedded database, it would wait for the
 * session that transaction holds).
 */
export class EventOutboxSqlRepository implements EventOutbox {
  /** True once `append` wrote an event (in a write: this transaction has events to announce after COMMIT). */
  appended = false;

  constructor(
    private readonly sql: Sql,
    private readonly sequencer?: EventSequencer,
  ) {}

  /**
   * Appends to the queue in the change's transaction, taking no lock: an organization's
   * writes commit in parallel. Queue ids follow the array's order, and are drawn after
   * everything the transaction locked before: a later change of the same user, which
   * waited for this one's row lock, gets a higher one.
   */
  async append(events: DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    // One statement (one text, so one prepared statement) however many events: ids follow the array's order.
    const rows = events.map((e) => ({
      organization_id: e.organizationId,
      resource_type: e.resourceType,
      resource_id: e.resourceId,
      event_uris: e.eventUris,
      attributes: e.attributes,
      txn: e.txn ?? null,
    }));
    await this.sql.atCommit(
      `insert into provisioning_event_queue (organization_id, resource_type, resource_id, event_uris, attributes, txn)
       select x.organization_id, x.resource_type, x.resource_id, x.event_uris, x.attributes, x.txn
       from rows from (jsonb_to_recordset(?::jsonb) as (organization_id uuid, resource_type text, resource_id uuid, event_uris jsonb, attributes jsonb, txn text))
         with ordinality as x(organization_id, resource_type, resource_id, event_uris, attributes, txn, n)
       order by x.n`,
      [JSON.stringify(rows)],
    );
    this.appended = true;
  }

  async recent(organizationId: string, since: Date | undefined, limit: number): Promise<StoredEvent[]> {
    await this.sequencer?.run();
    const rows = await this.sql.all<Row>(
      `select * from provisioning_events where organization_id = ?${since ? ' and created_at >= ?' : ''} order by id desc limit ?`,
      since ? [organizationId, since, limit] : [organizationId, limit],
    );
    return rows.map(toEvent);
  }

  async unacknowledged(organizationId: string, limit: number): Promise<StoredEvent[]> {
    await this.sequencer?.run();
    const rows = await this.sql.all<Row>(
      `select e.* from provisioning_events e
       where e.organization_id = ?
         and not exists (select 1 from event_poll_acks a where a.organization_id = e.organization_id and a.event_id = e.id)
       order by e.id limit ?`,
      [organizationId, limit],
    );
    return rows.map(toEvent);
  }

  /**
   * One statement for every acknowledgement of a poll (up to MAX_ACKS), in their order: the
   * first for an event stands. An acknowledged event was polled, so sequenced already: no
   * run first (this is called in a write).
   */
  async acknowledge(organizationId: string, acks: EventAck[]): Promise<void> {
    if (acks.length === 0) return;
    // Only events of this organization: a foreign or unknown id inserts nothing.
    await this.sql.run(
      `insert into event_poll_acks (organization_id, event_id, error)
       select e.organization_id, e.id, x.error
       from rows from (jsonb_to_recordset(?::jsonb) as (id bigint, error jsonb)) with ordinality as x(id, error, n)
         join provisioning_events e on e.organization_id = ? and e.id = x.id
       order by x.n
       on conflict do nothing`,
      [JSON.stringify(acks.map((ack) => ({ id: ack.eventId, error: ack.error ?? null }))), organizationId],
    );
  }
}
