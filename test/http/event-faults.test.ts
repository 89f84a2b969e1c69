import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/app';
import { receiverAdd, receiverList } from '../../src/cli/receivers';
import { loadConfig } from '../../src/config';
import { EVENT_URIS } from '../../src/domain/events';
import { defaultBackoff } from '../../src/events/delivery';
import { openDatabase } from '../../src/orm/database';
import { assemble, deliveryWorker, type Roster } from '../../src/roster';
import { openTestDatabase } from '../support/database';
import { Outage } from '../support/outage';
import { cli, processDatabase, startServer, stopServer } from '../support/processes';
import { startTestRoster } from '../support/roster';
import { patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

/**
 * Issue #13, item 8: delivery faults. In each case every event of the outbox reaches the
 * receiver, each user's in outbox order (so never a user's deactivate before its create),
 * none lost. Users go in parallel, so the order between two users is not kept.
 */

/** What the receiver does with a request: take it (202), answer 503, or drop the connection. */
type Answer = 'take' | 503 | 'drop';

/** A receiver on 127.0.0.1 that records the SETs it took, and asks `answer` what to do with each request. */
class Receiver {
  readonly taken: string[] = [];
  readonly refused: number[] = [];
  /** `stamp()` at each refusal: the test's clock, to count failed attempts rather than refused SETs. */
  readonly refusedAt: number[] = [];
  stamp: () => number = () => Date.now();
  answer: (n: number) => Answer | Promise<Answer> = () => 'take';
  /** When the last request was answered (Date.now()). */
  lastAnswerAt = 0;
  private requests = 0;
  private readonly server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', async () => {
      const answer = await this.answer(this.requests++);
      this.lastAnswerAt = Date.now();
      if (answer === 'take') {
        this.taken.push(body);
        res.writeHead(202).end();
      } else if (answer === 'drop') {
        this.refused.push(0);
        this.refusedAt.push(this.stamp());
        req.socket.destroy();
      } else {
        this.refused.push(answer);
        this.refusedAt.push(this.stamp());
        res.writeHead(answer).end();
      }
    });
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/events`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

async function until(probe: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await probe())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Verifies each SET (signature, typ, audience) and names it `<user id> <last event URI>`. */
async function named(sets: string[], jwks: JSONWebKeySet, audience: string): Promise<string[]> {
  const keys = createLocalJWKSet(jwks);
  return Promise.all(
    sets.map(async (set) => {
      const { payload } = await jwtVerify(set, keys, { audience, typ: 'secevent+jwt' });
      return name(payload);
    }),
  );
}

function name(payload: JWTPayload): string {
  return `${(payload.sub_id as { id: string }).id} ${Object.keys(payload.events as object).at(-1)}`;
}

/** Each user's SETs (`<id> <uri>` names) in the order received. */
function perSubject(names: string[]): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const name of names) {
    const [id, uri] = name.split(' ');
    (out[id] ??= []).push(uri);
  }
  return out;
}

const created = (id: string) => `${id} ${EVENT_URIS.createNotice}`;
const deactivated = (id: string) => `${id} ${EVENT_URIS.deactivate}`;

/** A receiver's row of `receiver list --org acme --json`, from a CLI handler run in this process. */
async function receiverRow(roster: Roster, url: string): Promise<Record<string, unknown>> {
  let out = '';
  await receiverList(roster, [], { org: 'acme', json: true }, { out: (text) => (out += text), err: () => undefined });
  return (JSON.parse(out) as Record<string, unknown>[]).find((row) => row.url === url) ?? {};
}

async function addReceiver(roster: Roster, url: string): Promise<string> {
  let out = '';
  await receiverAdd(roster, [], { org: 'acme', url }, { out: (text) => (out += text), err: () => undefined });
  return out.trim();
}

describe('a receiver down for 60 seconds', () => {
  it("gets everything, each user's in outbox order, once it is back; the retries follow the backoff, not the rounds", async () => {
    const t = await startTestRoster({ receiversAllowPrivate: true });
    const receiver = new Receiver();
    try {
      await receiver.start();
      await t.roster.signingKeys.ensureActive();
      const jwks = (await request(t.app).get('/.well-known/jwks.json').expect(200)).body as JSONWebKeySet;
      const scim = scimClient(t.app, t.token);
      await addReceiver(t.roster, receiver.url);

      // The worker's clock is the test's: one round per simulated second, with the real
      // backoff (2^n s, jitter) computed from that clock. Down = 503s and dropped connections.
      const start = Date.now();
      let clock = start;
      const worker = deliveryWorker(t.roster, 8080, { now: () => new Date(clock), backoff: (n) => defaultBackoff(n) });
      const downFor = 60_000;
      receiver.answer = (n) => (clock - start < downFor ? (n % 2 ? 503 : 'drop') : 'take');
      receiver.stamp = () => clock;

      const ids: string[] = [];
      const expected: string[] = [];
      const deactivate = async (i: number) => {
        await scim.patch(`/Users/${ids[i]}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(204);
        expected.push(deactivated(ids[i]));
      };
      const create = async (i: number) => {
        ids[i] = (await scim.post('/Users', userBody(`down.${i}@example.com`)).expect(201)).body.id as string;
        expected.push(created(ids[i]));
      };
      // Changes made while the receiver is down, spread over its downtime.
      const changes = new Map<number, () => Promise<void>>([
        [0, () => create(0)],
        [5, () => create(1)],
        [15, () => deactivate(0)],
        [25, () => create(2)],
        [40, () => deactivate(1)],
        [55, () => deactivate(2)],
      ]);
      let firstTakenAt: number | undefined;
      for (let second = 0; second < 400 && receiver.taken.length < 6; second++) {
        await changes.get(second)?.();
        await worker.round();
        if (firstTakenAt === undefined && receiver.taken.length > 0) firstTakenAt = clock - start;
        clock += 1000;
      }

      const got = await named(receiver.taken, jwks, receiver.url);
      expect(perSubject(got)).toEqual(perSubject(expected));
      expect(got).toHaveLength(expected.length);
      expect(firstTakenAt).toBeGreaterThanOrEqual(downFor);
      // 2+4+8+16+32 s (± 20 %): about 5 failed attempts in 60 s, not one a round (an attempt may refuse several users' SETs at once).
      const attempts = new Set(receiver.refusedAt).size;
      expect(attempts).toBeGreaterThanOrEqual(4);
      expect(attempts).toBeLessThanOrEqual(7);
      // Nothing more arrives, and the receiver is healthy again.
      for (let i = 0; i < 5; i++, clock += 1000) await worker.round();
      expect(receiver.taken).toHaveLength(6);
      expect(await receiverRow(t.roster, receiver.url)).toMatchObject({ pending: 0, attempts: 0, lastError: null, failing: false });
    } finally {
      await receiver.close();
      await t.close();
    }
  }, 60_000);
});

describe('a receiver failing for 72 hours', () => {
  it('is marked failing (once, logged and counted) after 72 h, keeps its events past their retention, and recovers', async () => {
    const t = await startTestRoster({ receiversAllowPrivate: true });
    const receiver = new Receiver();
    try {
      await receiver.start();
      await t.roster.signingKeys.ensureActive();
      const scim = scimClient(t.app, t.token);
      await addReceiver(t.roster, receiver.url);
      const id = (await scim.post('/Users', userBody('failing.72h@example.com')).expect(201)).body.id as string;
      await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(204);

      const start = Date.now();
      let clock = start;
      const hours = (n: number) => n * 3_600_000;
      const failingAt: number[] = [];
      const counts: number[] = [];
      const worker = deliveryWorker(t.roster, 8080, {
        now: () => new Date(clock),
        onFailing: () => failingAt.push(clock - start),
        onFailingCount: (n) => counts.push(n),
      });
      let up = false;
      receiver.answer = () => (up ? 'take' : 503);
      // Eight days of half-hour rounds: the real backoff (at most an hour apart) keeps retrying.
      for (; clock - start < hours(8 * 24); clock += hours(0.5)) {
        await worker.round();
        const row = await receiverRow(t.roster, receiver.url);
        // Marked at the first attempt 72 h or more after the first failure (attempts at most 72 min apart).
        if (clock - start < hours(72)) expect(row.failing).toBe(false);
        if (clock - start >= hours(74)) expect(row.failing).toBe(true);
      }
      expect(failingAt).toHaveLength(1);
      expect(failingAt[0]).toBeGreaterThanOrEqual(hours(72));
      expect(failingAt[0]).toBeLessThan(hours(74));
      expect(counts.at(-1)).toBe(1);
      // Past the 7-day retention, its undelivered events are all still there.
      expect(await receiverRow(t.roster, receiver.url)).toMatchObject({ pending: 2, failing: true, lastError: 'HTTP 503' });
      expect(receiver.taken).toHaveLength(0);

      up = true;
      for (let i = 0; i < 4 && receiver.taken.length < 2; i++, clock += hours(0.5)) await worker.round();
      expect(perSubject(await named(receiver.taken, (await request(t.app).get('/.well-known/jwks.json')).body, receiver.url))).toEqual(
        perSubject([created(id), deactivated(id)]),
      );
      expect(await receiverRow(t.roster, receiver.url)).toMatchObject({ pending: 0, failing: false, lastError: null });
      expect(counts.at(-1)).toBe(0);
    } finally {
      await receiver.close();
      await t.close();
    }
  }, 60_000);
});

describe('Roster killed with SIGKILL between commit and delivery', () => {
  const BOOTSTRAP = 'bootstrap-secret-for-the-event-faults-test-0123456789';

  it('delivers every committed event after a restart on the same database, in order', async () => {
    const db = await processDatabase();
    const receiver = new Receiver();
    let server: Awaited<ReturnType<typeof startServer>> | undefined;
    try {
      await receiver.start();
      // Down (503) until the kill; only 1-2 failures, so the retry after restart is due within seconds.
      let up = false;
      receiver.answer = () => (up ? 'take' : 503);
      const env = { ...db.env, ROSTER_BOOTSTRAP_TOKEN: BOOTSTRAP, ROSTER_RECEIVERS_ALLOW_PRIVATE: 'true', ROSTER_RATE_LIMIT_PER_SECOND: '0' };
      server = await startServer(env);
      const added = await cli(['receiver', 'add', '--org', 'default', '--url', receiver.url], env);
      expect({ code: added.code, stderr: added.stderr }).toEqual({ code: 0, stderr: '' });

      const port = server.port;
      const scim = async (method: string, path: string, body: unknown) => {
        const res = await fetch(`http://127.0.0.1:${port}/scim/v2${path}`, {
          method,
          headers: { Authorization: `Bearer ${BOOTSTRAP}`, 'Content-Type': 'application/scim+json' },
          body: JSON.stringify(body),
        });
        return { status: res.status, body: res.status === 204 ? undefined : ((await res.json()) as { id: string }) };
      };
      const expected: string[] = [];
      for (let i = 0; i < 3; i++) {
        const res = await scim('POST', '/Users', userBody(`killed.${i}@example.com`));
        expect(res.status).toBe(201);
        const id = res.body?.id as string;
        expect((await scim('PATCH', `/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: false }))).status).toBe(204);
        expected.push(created(id), deactivated(id));
      }
      // Kill 1 s after a failed attempt, once it is recorded (its retry 1.6 s or more away).
      const failures = receiver.refused.length;
      await until(() => receiver.refused.length > failures, 10_000, 'a retry after the last change');
      await new Promise((resolve) => setTimeout(resolve, 1000));
      expect((await stopServer(server.child, 'SIGKILL')).code).toBeNull();
      server = undefined;
      expect(receiver.taken).toHaveLength(0);
      const [row] = JSON.parse((await cli(['receiver', 'list', '--org', 'default', '--json'], db.env)).stdout);
      expect(row).toMatchObject({ pending: 6, lastDeliveredAt: null, lastError: 'HTTP 503' });

      up = true;
      server = await startServer(env);
      await until(() => receiver.taken.length >= 6, 20_000, 'six SETs after the restart');
      await new Promise((resolve) => setTimeout(resolve, 300));
      const jwks = (await (await fetch(`http://127.0.0.1:${server.port}/.well-known/jwks.json`)).json()) as JSONWebKeySet;
      const got = await named(receiver.taken, jwks, receiver.url);
      expect(perSubject(got)).toEqual(perSubject(expected));
      expect(got).toHaveLength(expected.length);
    } finally {
      if (server) await stopServer(server.child);
      await receiver.close();
      await db.cleanup();
    }
  }, 90_000);
});

// The database going away: a TCP proxy (test/support/outage.ts) stands in for a PostgreSQL restart, since
// restarting the shared server would break every other test file running in parallel.

describe('the database going away during delivery', () => {
  it('interrupts delivery, which resumes when it is back; nothing is lost, only the unrecorded batch is sent again', async () => {
    const database = await openTestDatabase();
    const { outage, url } = await Outage.before(database.url);
    const roster = assemble({ ...loadConfig({}), rateLimitPerSecond: 0, receiversAllowPrivate: true }, await openDatabase({ url, poolMax: 3 }));
    const receiver = new Receiver();
    try {
      await receiver.start();
      const org = await roster.organizations.create('acme');
      const token = (await roster.credentials.issue({ organizationId: org.id })).secret;
      const app = createApp(roster, pino({ level: 'silent' }));
      const scim: ScimClient = scimClient(app, token);
      await roster.signingKeys.ensureActive();
      const jwks = (await request(app).get('/.well-known/jwks.json').expect(200)).body as JSONWebKeySet;
      await addReceiver(roster, receiver.url);

      const expected: string[] = [];
      for (let i = 0; i < 3; i++) {
        const id = (await scim.post('/Users', userBody(`outage.${i}@example.com`)).expect(201)).body.id as string;
        await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(204);
        expected.push(created(id), deactivated(id));
      }

      // The database goes away while the receiver holds the third SET: the batch's 202s come after,
      // so the worker cannot record them (nor release its claim on the receiver).
      receiver.answer = async (n): Promise<Answer> => {
        if (n === 2) await outage.down();
        return 'take';
      };
      let clock = Date.now();
      const worker = deliveryWorker(roster, 8080, { now: () => new Date(clock), backoff: (n) => defaultBackoff(n) });
      const errors: unknown[] = [];
      const round = () => worker.round().catch((error: unknown) => errors.push(error));
      await round();
      const sentBefore = receiver.taken.length;
      expect(sentBefore).toBeGreaterThanOrEqual(3);
      // While it is away, rounds fail (and are retried), nothing is sent.
      for (let i = 0; i < 5; i++, clock += 1000) await round();
      expect(errors.length).toBeGreaterThan(0);
      expect(receiver.taken).toHaveLength(sentBefore);
      await scim.post('/Users', userBody('during.outage@example.com')).expect(503);

      await outage.up();
      // The claim the interrupted round could not release lapses: its lease is 15 s.
      clock += 16_000;
      for (let i = 0; i < 200 && receiver.taken.length < sentBefore + 6; i++, clock += 1000) await round();
      for (let i = 0; i < 5; i++, clock += 1000) await round();

      const got = await named(receiver.taken, jwks, receiver.url);
      // At least once: the SETs taken but never recorded come again, then the rest; each user's in order.
      const again = perSubject(got.slice(sentBefore));
      expect(again).toEqual(perSubject(expected));
      expect(got).toHaveLength(sentBefore + 6);
      const before = perSubject(got.slice(0, sentBefore));
      for (const [id, uris] of Object.entries(before)) expect(perSubject(expected)[id].slice(0, uris.length)).toEqual(uris);
      expect(await receiverRow(roster, receiver.url)).toMatchObject({ pending: 0, lastError: null, failing: false });
    } finally {
      await outage.up();
      await receiver.close();
      await roster.close();
      await outage.down();
      await database.close();
    }
  }, 60_000);
});
