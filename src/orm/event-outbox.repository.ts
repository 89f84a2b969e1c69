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

/** The key of an organization's outbox lock (an advisory lock), taken before appending its events: of the organization id as text (bound, or an expression). */
export const outboxLockKey = (organizationId = '?'): string => `hashtextextended('roster.outbox:' || ${organizationId}, 0)`;

/** provisioning_events: appended in the transaction of the change they announce. */
export class EventOutboxSqlRepository implements EventOutbox {
  /** True once `append` wrote an event (in a write: this transaction has events to announce after COMMIT). */
  appended = false;

  constructor(
    private readonly sql: Sql,
    private readonly sequencer?: EventSequencer,
  ) {}

  /**
   * Appends in the change's transaction. It first takes the organization's outbox lock
   * (held to commit), so an organization's events commit in id order: a reader that
   * sees event n has every earlier event of that organization too, and a receiver's
   * cursor never passes an event still being written.
   */
  async append(events: DomainEvent[]): Promise<void> {
    if (events.length === 0) return;
    const organizations = [...new Set(events.map((e) => e.organizationId))];
    // The usual case, one organization: its lock is taken by the INSERT's own statement (one round trip,
    // not two). The lock is a CTE joined to the rows, so it is held before the first id is drawn.
    const single = organizations.length === 1;
    if (!single) for (const organizationId of organizations) await this.lock(organizationId);
    // One statement (one text, so one prepared statement) however many events: ids follow the array's order.
    const rows = events.map((e) => ({
      organization_id: e.organizationId,
      resource_type: e.resourceType,
      resource_id: e.resourceId,
      event_uris: e.eventUris,
      attributes: e.attributes,
      txn: e.txn ?? null,
    }));
    await this.sql.run(
      `${single ? `with outbox_lock as (select pg_advisory_xact_lock(${outboxLockKey()})) ` : ''}
       insert into provisioning_events (organization_id, resource_type, resource_id, event_uris, attributes, txn)
       select x.organization_id, x.resource_type, x.resource_id, x.event_uris, x.attributes, x.txn
       from ${single ? 'outbox_lock, ' : ''}rows from (jsonb_to_recordset(?::jsonb) as (organization_id uuid, resource_type text, resource_id uuid, event_uris jsonb, attributes jsonb, txn text))
         with ordinality as x(organization_id, resource_type, resource_id, event_uris, attributes, txn, n)
       order by x.n`,
      single ? [organizations[0], JSON.stringify(rows)] : [JSON.stringify(rows)],
    );
    this.appended = true;
  }

  private async lock(organizationId: string): Promise<void> {
    await this.sql.all(`select pg_advisory_xact_lock(${outboxLockKey()})`, [organizationId]);
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

  /** An acknowledged event was polled, so sequenced already: no run first (this is called in a write). */
  async acknowledge(organizationId: string, acks: EventAck[]): Promise<void> {
    for (const ack of acks) {
      // Only an event of this organization: a foreign or unknown id inserts nothing.
      await this.sql.run(
        `insert into event_poll_acks (organization_id, event_id, error)
         select organization_id, id, ?::jsonb from provisioning_events where organization_id = ? and id = ?
         on conflict do nothing`,
        [ack.error ? JSON.stringify(ack.error) : null, organizationId, ack.eventId],
      );
    }
  }
}
