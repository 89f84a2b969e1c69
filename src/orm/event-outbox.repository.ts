import type { DomainEvent, StoredEvent } from '../domain/events';
import type { EventOutbox } from '../domain/ports';
import { toDate, type Sql } from './sql';

type Row = Record<string, unknown>;

const toEvent = (row: Row): StoredEvent => ({
  id: String(row.id),
  createdAt: toDate(row.created_at),
  organizationId: row.organization_id as string,
  resourceType: row.resource_type as StoredEvent['resourceType'],
  resourceId: row.resource_id as string,
  eventUris: row.event_uris as string[],
  attributes: row.attributes as string[],
  ...(row.txn !== null && row.txn !== undefined ? { txn: row.txn as string } : {}),
});

/** provisioning_events: appended in the transaction of the change they announce. */
export class EventOutboxSqlRepository implements EventOutbox {
  constructor(private readonly sql: Sql) {}

  /**
   * Appends in the change's transaction. It first takes the organization's outbox lock
   * (held to commit), so an organization's events commit in id order: a reader that
   * sees event n has every earlier event of that organization too, and a receiver's
   * cursor never passes an event still being written.
   */
  async append(events: DomainEvent[]): Promise<void> {
    for (const organizationId of new Set(events.map((e) => e.organizationId)).values()) {
      await this.sql.all(`select pg_advisory_xact_lock(hashtextextended('roster.outbox:' || ?, 0))`, [organizationId]);
    }
    for (const event of events) {
      await this.sql.run(
        `insert into provisioning_events (organization_id, resource_type, resource_id, event_uris, attributes, txn)
         values (?, ?, ?, ?::jsonb, ?::jsonb, ?)`,
        [event.organizationId, event.resourceType, event.resourceId, JSON.stringify(event.eventUris), JSON.stringify(event.attributes), event.txn ?? null],
      );
    }
  }

  async recent(organizationId: string, since: Date | undefined, limit: number): Promise<StoredEvent[]> {
    const rows = await this.sql.all<Row>(
      `select * from provisioning_events where organization_id = ?${since ? ' and created_at >= ?' : ''} order by id desc limit ?`,
      since ? [organizationId, since, limit] : [organizationId, limit],
    );
    return rows.map(toEvent);
  }
}
