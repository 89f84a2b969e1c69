import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { decodeJwt } from 'jose';
import pg from 'pg';
import request from 'supertest';
import { EVENT_URIS } from '../../src/domain/events';
import type { DeliveryWorker } from '../../src/events/delivery';
import { servesOneSession } from '../../src/orm/database';
import { OUTBOX_LOCK } from '../../src/orm/event-sequencer';
import { Sql } from '../../src/orm/sql';
import { OrmUnitOfWork } from '../../src/orm/unit-of-work';
import { deliveryWorker } from '../../src/roster';
import { startTestRoster, type TestRoster } from '../support/roster';
import { patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

/**
 * The event queue and its sequencer (orm/event-sequencer.ts): writes append their events
 * to provisioning_event_queue without a lock, so an organization's writes commit in
 * parallel; the sequencer moves the committed ones to provisioning_events in order, so a
 * receiver's cursor never passes an event, and each subject's events stay in order.
 */

/** The SETs a receiver on 127.0.0.1 took, in the order they arrived. */
const received: Record<string, unknown>[] = [];
const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (chunk: Buffer) => (body += chunk.toString()));
  req.on('end', () => {
    received.push(decodeJwt(body) as Record<string, unknown>);
    res.writeHead(202).end();
  });
});

let t: TestRoster;
let scim: ScimClient;
let sql: Sql;
let worker: DeliveryWorker;
/** Whether the database serves one session (embedded): an open transaction there holds every other connection. */
let oneSession: boolean;

beforeAll(async () => {
  t = await startTestRoster({ receiversAllowPrivate: true });
  scim = scimClient(t.app, t.token);
  sql = Sql.onPool(t.roster.database.pool, false, servesOneSession(t.roster.database.pool));
  oneSession = servesOneSession(t.roster.database.pool);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  await t.roster.signingKeys.ensureActive();
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  await t.roster.receivers.add({ organizationId: t.org.id, url, audience: url, events: null, full: false });
  // Never started: the tests run its rounds themselves (a wake of a stopped worker does nothing).
  worker = deliveryWorker(t.roster, 8080, { intervalMs: 60_000 });
});
afterAll(async () => {
  await worker.stop();
  await new Promise((resolve) => server.close(resolve));
  await t.close();
});

const subjectOf = (set: Record<string, unknown>) => (set.sub_id as { id: string }).id;
const txnsOf = (subject: string) => received.filter((set) => subjectOf(set) === subject).map((set) => set.txn);
const queued = async () => Number((await sql.one<{ n: string }>(`select count(*) as n from provisioning_event_queue`))?.n);
const stored = async (txn: string) => Number((await sql.one<{ n: string }>(`select count(*) as n from provisioning_events where txn = ?`, [txn]))?.n);

/** A patch:notice of `userId` put in the queue directly, as a write commits it (`txn` names it). */
const queueEvent = (userId: string, txn: string) =>
  sql.run(
    `insert into provisioning_event_queue (organization_id, resource_type, resource_id, event_uris, attributes, txn)
     values (?, 'User', ?, ?::jsonb, '["active"]'::jsonb, ?)`,
    [t.org.id, userId, JSON.stringify([EVENT_URIS.patchNotice]), txn],
  );

/** The receiver's cursor and how many events it still has pending. */
async function cursor(): Promise<{ lastDeliveredId: bigint; pending: number }> {
  const [receiver] = await t.roster.receivers.list(t.org.id);
  return { lastDeliveredId: BigInt(receiver.lastDeliveredId), pending: receiver.pending };
}

/** A patch:notice of `userId` appended in a write that stays open (the user's row locked) until `release` is called. */
async function heldWrite(userId: string, txn: string) {
  let release: () => void = () => undefined;
  const gate = new Promise<void>((resolve) => (release = resolve));
  let queuedIt: () => void = () => undefined;
  const isQueued = new Promise<void>((resolve) => (queuedIt = resolve));
  const uow = new OrmUnitOfWork(t.roster.database.orm);
  const committed = uow.write(async (r) => {
    await r.users.lockById(t.org.id, userId);
    await r.events.append([
      { organizationId: t.org.id, resourceType: 'User', resourceId: userId, eventUris: [EVENT_URIS.patchNotice], attributes: ['displayName'], txn },
    ]);
    queuedIt();
    await gate;
  });
  await isQueued;
  return { release, committed };
}

const createUser = async (userName: string) => (await scim.post('/Users', userBody(userName)).expect(201)).body.id as string;

describe('an organization writes in parallel', () => {
  it('commits other writes while one of its writes is open, and delivers every event, each subject in order, none passed by the cursor', async () => {
    const held = await createUser('seq.held@example.com');
    await worker.round();
    if (oneSession) {
      // The embedded database serves one session: an open transaction holds every other connection, so
      // writes cannot overlap there. The order and the cursor are the next test's.
      return;
    }
    const write = await heldWrite(held, 'held-write');
    // Before the queue, these waited for the open write's outbox lock until it committed: here they commit meanwhile.
    const started = Date.now();
    const others = await Promise.all([createUser('seq.other1@example.com'), createUser('seq.other2@example.com')]);
    await scim.patch(`/Users/${others[0]}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(204);
    expect(Date.now() - started).toBeLessThan(5_000);
    // A change of the held user waits for its row; its event must come after the held write's.
    const patched = scim.patch(`/Users/${held}`, patchOp({ op: 'replace', path: 'displayName', value: 'Second' })).then((res) => res);
    const waiting = async () =>
      Number((await sql.one<{ n: string }>(`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`))?.n);
    for (let i = 0; i < 200 && (await waiting()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    // The others' events are delivered, and the cursor moves past them, while the held write's event is queued.
    await worker.round();
    expect(received.filter((set) => others.includes(subjectOf(set)))).toHaveLength(3);
    expect(txnsOf(held)).toHaveLength(1); // its create only
    expect(await stored('held-write')).toBe(0);
    const passed = await cursor();

    write.release();
    await write.committed;
    const second = await patched;
    expect(second.status).toBe(204);
    await worker.round();
    // Sequenced after the events the cursor passed: it has a higher id, and is delivered.
    const [heldEvent] = await sql.all<{ id: string }>(`select id::text as id from provisioning_events where txn = ?`, ['held-write']);
    expect(BigInt(heldEvent.id)).toBeGreaterThan(passed.lastDeliveredId);
    expect(txnsOf(held)).toEqual([expect.any(String), 'held-write', second.headers['x-request-id']]);
    expect(txnsOf(others[0]).length).toBe(2);
    expect((await cursor()).pending).toBe(0);
  });

  it('delivers an event queued by a transaction that commits after a later one was sequenced and passed by the cursor', async () => {
    const user = await createUser('seq.late@example.com');
    await worker.round();
    // A write draws its queue id, and is slow to commit (simulated: the id is drawn now, the row written later).
    const early = (await sql.one<{ id: string }>(`select nextval('provisioning_event_queue_id_seq')::text as id`))!.id;
    const later = await createUser('seq.later@example.com');
    await worker.round();
    expect(txnsOf(later)).toHaveLength(1);
    const passed = await cursor();
    expect(passed.pending).toBe(0);
    // The slow write commits: its queue id is lower than the one already sequenced, its outbox id higher than the cursor.
    await sql.run(
      `insert into provisioning_event_queue (id, organization_id, resource_type, resource_id, event_uris, attributes, txn)
       values (?::bigint, ?, 'User', ?, ?::jsonb, '["active"]'::jsonb, 'late-commit')`,
      [early, t.org.id, user, JSON.stringify([EVENT_URIS.patchNotice, EVENT_URIS.deactivate])],
    );
    await worker.round();
    expect(txnsOf(user)).toEqual([expect.any(String), 'late-commit']);
    expect((await cursor()).pending).toBe(0);
    // The poll stream (acknowledgements, not a cursor) has it too.
    const res = await request(t.app).post('/scim/v2/Events/poll').set('Authorization', `Bearer ${t.token}`).set('Content-Type', 'application/json').send('{}');
    const polled = Object.values(res.body.sets as Record<string, string>).map((set) => decodeJwt(set).txn);
    expect(polled).toContain('late-commit');
  });
});

describe("one subject's events", () => {
  it('stay in the order of its changes when many writes of the organization commit at once', async () => {
    const users = await Promise.all([0, 1, 2].map((i) => createUser(`seq.order${i}@example.com`)));
    // Six PATCHes of each user, all at once: each user's serialise on its row (and retry when stale), the users' overlap.
    const answers = await Promise.all(
      users.flatMap((id) =>
        [1, 2, 3, 4, 5, 6].map(async (n) => {
          const res = await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'displayName', value: `Take ${n}` })).expect(204);
          return { id, txn: res.headers['x-request-id'] as string, version: Number(/"(\d+)"/.exec(res.headers.etag as string)![1]) };
        }),
      ),
    );
    const events = (await t.roster.organizations.events('acme', undefined, 100)).reverse();
    for (const id of users) {
      const byVersion = answers.filter((a) => a.id === id).sort((a, b) => a.version - b.version);
      const byOutbox = events.filter((e) => e.resourceId === id && e.eventUris.includes(EVENT_URIS.patchNotice)).map((e) => e.txn);
      expect(byOutbox).toEqual(byVersion.map((a) => a.txn));
    }
    await worker.round();
    for (const id of users) {
      const byVersion = answers.filter((a) => a.id === id).sort((a, b) => a.version - b.version);
      expect(txnsOf(id).slice(1)).toEqual(byVersion.map((a) => a.txn));
    }
  });
});

describe('the sequencer', () => {
  it('drains the queue when nobody reads: its periodic run, and the retention prune', async () => {
    const user = await createUser('seq.quiet@example.com');
    await worker.round();
    // A write whose own post-commit run never came (a CLI process gone, a SIGKILL after COMMIT).
    const queue = (txn: string) => queueEvent(user, txn);
    await queue('quiet-1');
    t.roster.sequencer.start({ intervalMs: 50 });
    try {
      for (let i = 0; i < 100 && (await queued()) > 0; i++) await new Promise((resolve) => setTimeout(resolve, 20));
      expect(await queued()).toBe(0);
      expect(await stored('quiet-1')).toBe(1);
    } finally {
      await t.roster.sequencer.stop();
    }
    await queue('quiet-2');
    await t.roster.receivers.prune(new Date(0));
    expect(await queued()).toBe(0);
    expect(await stored('quiet-2')).toBe(1);
  });

  it('runs once for a burst of readers, not once each, and each reader sees what was committed before its call', async () => {
    const user = await createUser('seq.burst@example.com');
    await worker.round();
    await queueEvent(user, 'burst');
    // The request log's entries of the requests above are stored first: on the embedded database its batch would
    // take a connection of the same pool during the burst (it flushes every 100 ms), and be counted with the runs'.
    await t.roster.requestLog.writer?.flush();
    // Every pool's connections: the sequencer has a pool of its own on PostgreSQL, and shares Roster's on the embedded database.
    const connect = jest.spyOn(pg.Pool.prototype, 'connect');
    try {
      const moved = await Promise.all(Array.from({ length: 20 }, () => t.roster.sequencer.run()));
      // One run moved the row (its check, its transaction), one more after it found the queue empty (its check).
      expect(moved.filter((n) => n > 0)).toEqual([1]);
      expect(connect.mock.calls.length).toBeLessThanOrEqual(3);
    } finally {
      connect.mockRestore();
    }
    // Readers called together: each sees the events committed before it was called.
    await queueEvent(user, 'burst-read');
    const reads = await Promise.all(Array.from({ length: 10 }, () => t.roster.organizations.events('acme', undefined, 5)));
    for (const events of reads) expect(events.map((e) => e.txn)).toContain('burst-read');
  });

  it('moves what committed while its run waited for the outbox lock: the move sees the queue as it is once the lock is held', async () => {
    // The embedded database serves one session: no second session can hold the lock there.
    if (oneSession) return;
    const user = await createUser('seq.waited@example.com');
    await worker.round();
    const queue = (txn: string) => queueEvent(user, txn);
    const holder = await t.roster.database.pool.connect();
    let run: Promise<number>;
    try {
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock(${OUTBOX_LOCK})`);
      await queue('waited-before');
      // The run's transaction (BEGIN, the lock, the move, COMMIT: one round trip) waits for the lock...
      run = t.roster.sequencer.run();
      let waiting = false;
      for (let i = 0; i < 200 && !waiting; i++) {
        waiting = (await sql.one(`select 1 from pg_stat_activity where datname = current_database() and wait_event = 'advisory'`)) !== null;
        if (!waiting) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(waiting).toBe(true);
      // ...while another write commits its event.
      await queue('waited-during');
    } finally {
      await holder.query('rollback');
      holder.release();
    }
    expect(await run).toBe(2);
    expect([await stored('waited-before'), await stored('waited-during'), await queued()]).toEqual([1, 1, 0]);
  });

  it('loses its connection during a run (the database restarted, the connection killed): that run fails, the process goes on, the next run moves the events', async () => {
    // The embedded database serves one session: no second session can hold the lock there.
    if (oneSession) return;
    const user = await createUser('seq.lost@example.com');
    await worker.round();
    // Another session holds the outbox lock, so the sequencer's next run waits for it inside its transaction.
    const holder = await t.roster.database.pool.connect();
    try {
      await holder.query('begin');
      await holder.query(`select pg_advisory_xact_lock(${OUTBOX_LOCK})`);
      await queueEvent(user, 'lost-run');
      const run = t.roster.sequencer.run();
      run.catch(() => undefined);
      const waiting = async () =>
        (await sql.one<{ pid: number }>(`select pid from pg_stat_activity where datname = current_database() and wait_event = 'advisory' limit 1`))?.pid;
      let pid: number | undefined;
      for (let i = 0; i < 200 && pid === undefined; i++) {
        pid = await waiting();
        if (pid === undefined) await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(pid).toBeDefined();
      await sql.all('select pg_terminate_backend(?)', [pid]);
      await expect(run).rejects.toThrow();
    } finally {
      await holder.query('rollback');
      holder.release();
    }
    expect(await stored('lost-run')).toBe(0);
    // The next run, on a new connection, moves the event.
    expect(await t.roster.sequencer.run()).toBe(1);
    expect(await stored('lost-run')).toBe(1);
  });
});
