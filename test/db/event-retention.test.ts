import type { Database } from '../../src/orm/database';
import { EventReceiverSqlStore } from '../../src/orm/event-receiver.repository';
import { Sql } from '../../src/orm/sql';
import { openTestDatabase } from '../support/database';

/**
 * Retention (ROSTER_EVENT_RETENTION_DAYS): the prune deletes old events that have been
 * delivered, and keeps any a push receiver or the organization's poll stream still owes.
 */
let database: Database;
let sql: Sql;
let store: EventReceiverSqlStore;
const DAY = 24 * 3600 * 1000;

beforeAll(async () => {
  database = await openTestDatabase();
  sql = Sql.onPool(database.pool);
  store = new EventReceiverSqlStore(database.pool);
});
afterAll(() => database.close());

async function organization(slug: string): Promise<string> {
  const row = await sql.one<{ id: string }>(`insert into organizations (slug, name) values (?, ?) returning id`, [slug, slug]);
  return (row as { id: string }).id;
}

/** An event of the organization, `ageDays` old; its id. */
async function event(organizationId: string, ageDays: number): Promise<string> {
  const row = await sql.one<{ id: string }>(
    `insert into provisioning_events (organization_id, resource_type, resource_id, event_uris, attributes, created_at)
     values (?, 'User', gen_random_uuid(), '["urn:ietf:params:scim:event:prov:create:notice"]'::jsonb, '[]'::jsonb, ?) returning id::text as id`,
    [organizationId, new Date(Date.now() - ageDays * DAY)],
  );
  return (row as { id: string }).id;
}

const remaining = async (organizationId: string) =>
  (await sql.all<{ id: string }>(`select id::text as id from provisioning_events where organization_id = ? order by id`, [organizationId])).map((r) => r.id);

it('deletes old delivered events and keeps what a receiver or the poll stream still owes', async () => {
  // No receiver, never polled: old events go, recent ones stay.
  const quiet = await organization('retention-quiet');
  await event(quiet, 10);
  const recent = await event(quiet, 1);
  // A push receiver whose cursor has passed the first old event only.
  const pushed = await organization('retention-pushed');
  const receiver = await store.add({
    organizationId: pushed,
    url: 'https://receiver.example/events',
    audience: 'https://receiver.example/events',
    events: null,
    full: false,
  });
  const passed = await event(pushed, 10);
  const owed = await event(pushed, 9);
  await sql.run(`update event_receivers set last_delivered_id = ? where id = ?`, [passed, receiver.id]);
  // A poll stream that has acknowledged one of two old events.
  const polled = await organization('retention-polled');
  const acked = await event(polled, 10);
  const unacked = await event(polled, 9);
  await sql.run(`insert into event_poll_acks (organization_id, event_id) values (?, ?)`, [polled, acked]);

  await store.prune(new Date(Date.now() - 7 * DAY));

  expect(await remaining(quiet)).toEqual([recent]);
  expect(await remaining(pushed)).toEqual([owed]);
  expect(await remaining(polled)).toEqual([unacked]);
});
