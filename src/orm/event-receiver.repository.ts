import type { Pool } from 'pg';
import type { StoredEvent } from '../domain/events';
import type { DeliveryOutcome, NewReceiver, Receiver, ReceiverStore } from '../domain/receivers';
import { servesOneSession } from './database';
import { normalizeDatabaseError } from './errors';
import { EventSequencer } from './event-sequencer';
import { isUuid } from '../domain/ids';
import { Sql, toDate, toDateOrNull } from './sql';
import { toEvent } from './event-outbox.repository';
import { userResourceColumns } from './user-resource';

type Row = Record<string, unknown>;

const NAMES = [
  'id',
  'organization_id',
  'url',
  'audience',
  'events',
  '"full"',
  'created_at',
  'last_delivered_id',
  'last_delivered_at',
  'attempts',
  'next_attempt_at',
  'last_error',
  'failing_since',
  'failing',
];
const columns = (prefix = '') => NAMES.map((name) => prefix + name).join(', ');
const COLUMNS = columns();

/** An event the receiver `r` asked for (all when its `events` is null); `e` is the event. */
const WANTED = `(r.events is null or jsonb_exists_any(e.event_uris, array(select jsonb_array_elements_text(r.events))))`;

function toReceiver(row: Row): Receiver {
  return {
    id: row.id as string,
    organizationId: row.organization_id as string,
    url: row.url as string,
    audience: row.audience as string,
    events: (row.events as string[] | null) ?? null,
    full: row.full as boolean,
    createdAt: toDate(row.created_at),
    lastDeliveredId: String(row.last_delivered_id),
    lastDeliveredAt: toDateOrNull(row.last_delivered_at),
    attempts: Number(row.attempts),
    nextAttemptAt: toDateOrNull(row.next_attempt_at),
    lastError: (row.last_error as string | null) ?? null,
    failingSince: toDateOrNull(row.failing_since),
    failing: row.failing as boolean,
  };
}

/**
 * event_receivers (and the outbox rows they read) on Roster's pool; each method is one
 * statement. Those an operator calls (add, list, prune) first run the sequencer
 * (orm/event-sequencer.ts, coalesced with any under way), so they see every event
 * committed before they were called. The delivery worker's two (claimDue, pending) do
 * not: the worker is woken once a commit's events are sequenced, and polls; waiting there
 * for one more run, behind the runs a write load keeps under way, doubled the time to
 * deprovision (docs/benchmarks.md, scenario 10). An explicit round waits for `sequenced`.
 * None runs inside a transaction.
 */
export class EventReceiverSqlStore implements ReceiverStore {
  private readonly sql: Sql;
  private readonly sequencer: EventSequencer;

  constructor(pool: Pool) {
    this.sql = Sql.onPool(pool, false, servesOneSession(pool));
    this.sequencer = EventSequencer.of(pool);
  }

  async add(receiver: NewReceiver): Promise<Receiver> {
    await this.sequenced();
    const row = await this.guard(() =>
      this.sql.one<Row>(
        `insert into event_receivers (organization_id, url, audience, events, "full", last_delivered_id)
         values (?, ?, ?, ?::jsonb, ?, (select coalesce(max(id), 0) from provisioning_events where organization_id = ?))
         returning ${COLUMNS}`,
        [
          receiver.organizationId,
          receiver.url,
          receiver.audience,
          receiver.events === null ? null : JSON.stringify(receiver.events),
          receiver.full,
          receiver.organizationId,
        ],
      ),
    );
    return toReceiver(row as Row);
  }

  async list(organizationId: string): Promise<(Receiver & { pending: number })[]> {
    await this.sequenced();
    const rows = await this.guard(() =>
      this.sql.all<Row>(
        `select ${columns('r.')},
           (select count(*) from provisioning_events e
             where e.organization_id = r.organization_id and e.id > r.last_delivered_id and ${WANTED}) as pending
         from event_receivers r where r.organization_id = ? order by r.created_at, r.id`,
        [organizationId],
      ),
    );
    return rows.map((row) => ({ ...toReceiver(row), pending: Number(row.pending) }));
  }

  async remove(id: string): Promise<boolean> {
    if (!isUuid(id)) return false;
    return (await this.guard(() => this.sql.run(`delete from event_receivers where id = ?`, [id]))) === 1;
  }

  async any(): Promise<boolean> {
    const row = await this.guard(() => this.sql.one<Row>(`select exists (select 1 from event_receivers) as any`));
    return row?.any === true;
  }

  async claimDue(now: Date, leaseUntil: Date, limit: number): Promise<Receiver[]> {
    const rows = await this.guard(() =>
      this.sql.all<Row>(
        `update event_receivers set next_attempt_at = ?
         where id in (select r.id from event_receivers r
                      where (r.next_attempt_at is null or r.next_attempt_at <= ?)
                        and exists (select 1 from provisioning_events e where e.organization_id = r.organization_id and e.id > r.last_delivered_id)
                      order by r.next_attempt_at nulls first, r.id limit ? for update skip locked)
         returning ${COLUMNS}`,
        [leaseUntil, now, limit],
      ),
    );
    return rows.map(toReceiver).sort((a, b) => a.organizationId.localeCompare(b.organizationId));
  }

  /**
   * The receiver's next events. The organization and the cursor are bound as values as well
   * as joined from the receiver's row (which stays the authority: its cursor may have moved
   * since `receiver` was read): read only from the joined row, they are unknown when the
   * statement is planned, and once the table has statistics the planner scanned every
   * event of the table for each batch (300 ms at 900,000 events) instead of the range of
   * the (organization_id, id) index after the cursor.
   */
  async pending(receiver: Receiver, limit: number, baseUrl: string): Promise<{ events: StoredEvent[]; head: string }> {
    const head = await this.guard(() =>
      this.sql.one<Row>(`select coalesce(max(id), 0) as head from provisioning_events where organization_id = ?`, [receiver.organizationId]),
    );
    const headId = head?.head ?? 0;
    if (!receiver.full) {
      const rows = await this.guard(() =>
        this.sql.all<Row>(
          `select e.* from provisioning_events e, event_receivers r
           where r.id = ? and e.organization_id = ? and e.id > ?::bigint and e.organization_id = r.organization_id and e.id > r.last_delivered_id
             and e.id <= ? and ${WANTED}
           order by e.id limit ?`,
          [receiver.id, receiver.organizationId, receiver.lastDeliveredId, headId, limit],
        ),
      );
      return { events: rows.map(toEvent), head: String(headId) };
    }
    // The full form: each user event with the user's resource as PostgreSQL renders it for GET (orm/user-resource.ts).
    const resource = userResourceColumns(baseUrl);
    const rows = await this.guard(() =>
      this.sql.all<Row>(
        `select e.*, ur.resource_json from provisioning_events e
           join event_receivers r on r.id = ? and e.organization_id = r.organization_id
           left join lateral (select ${resource.sql} from users u
                              where e.resource_type = 'User' and u.id = e.resource_id and u.organization_id = e.organization_id) ur on true
         where e.organization_id = ? and e.id > ?::bigint and e.id > r.last_delivered_id and e.id <= ? and ${WANTED}
         order by e.id limit ?`,
        [receiver.id, ...resource.params, receiver.organizationId, receiver.lastDeliveredId, headId, limit],
      ),
    );
    return {
      events: rows.map((row) => ({ ...toEvent(row), ...(typeof row.resource_json === 'string' ? { resource: row.resource_json } : {}) })),
      head: String(headId),
    };
  }

  async record(id: string, outcome: DeliveryOutcome): Promise<Receiver | null> {
    const row = await this.guard(() =>
      outcome.delivered
        ? this.sql.one<Row>(
            `update event_receivers set last_delivered_id = greatest(last_delivered_id, ?::bigint), last_delivered_at = coalesce(?::timestamptz, last_delivered_at),
               attempts = 0, last_error = null, failing_since = null, failing = false
             where id = ? returning ${COLUMNS}`,
            [outcome.cursor, outcome.at, id],
          )
        : this.sql.one<Row>(
            `update event_receivers set attempts = attempts + 1, next_attempt_at = ?, last_error = ?,
               failing_since = coalesce(failing_since, ?::timestamptz),
               failing = ?::timestamptz - coalesce(failing_since, ?::timestamptz) >= make_interval(secs => ?)
             where id = ?${outcome.heldUntil ? ' and next_attempt_at = ?' : ''} returning ${COLUMNS}`,
            [
              outcome.retryAt,
              outcome.error.slice(0, 500),
              outcome.at,
              outcome.at,
              outcome.at,
              outcome.failingAfterMs / 1000,
              id,
              ...(outcome.heldUntil ? [outcome.heldUntil] : []),
            ],
          ),
    );
    return row ? toReceiver(row) : null;
  }

  async renew(id: string, from: Date, to: Date): Promise<boolean> {
    return (await this.guard(() => this.sql.run(`update event_receivers set next_attempt_at = ? where id = ? and next_attempt_at = ?`, [to, id, from]))) === 1;
  }

  async release(id: string, at: Date, heldUntil?: Date | null): Promise<void> {
    const held = heldUntil ? ' and next_attempt_at = ?' : '';
    await this.guard(() => this.sql.run(`update event_receivers set next_attempt_at = ? where id = ?${held}`, [at, id, ...(heldUntil ? [heldUntil] : [])]));
  }

  /**
   * Deletes the events older than `before` that have been delivered: every push receiver
   * of the organization has passed them, and, once the organization has polled (it has
   * acknowledged anything), its poll stream has acknowledged them. An event a receiver
   * or the poll stream still owes is kept, however old.
   */
  async prune(before: Date): Promise<number> {
    // Run before the prune too: with no reader at all, the queue is still drained at least this often.
    await this.sequenced();
    return this.guard(() =>
      this.sql.run(
        `delete from provisioning_events e where e.created_at < ?
           and not exists (select 1 from event_receivers r where r.organization_id = e.organization_id and r.last_delivered_id < e.id)
           and (not exists (select 1 from event_poll_acks p where p.organization_id = e.organization_id)
                or exists (select 1 from event_poll_acks a where a.organization_id = e.organization_id and a.event_id = e.id))`,
        [before],
      ),
    );
  }

  async failingCount(): Promise<number> {
    const row = await this.guard(() => this.sql.one<Row>(`select count(*) as n from event_receivers where failing`));
    return Number(row?.n ?? 0);
  }

  /** Every event committed so far moved to provisioning_events (a failure is the database's, as the read's would be). */
  async sequenced(): Promise<void> {
    await this.guard(() => this.sequencer.run());
  }

  private async guard<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      throw normalizeDatabaseError(error);
    }
  }
}
