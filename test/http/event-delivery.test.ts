import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet, type JWTPayload } from 'jose';
import request from 'supertest';
import { receiverAdd, receiverList, receiverRemove } from '../../src/cli/receivers';
import { events } from '../../src/cli/reports';
import type { Flags } from '../../src/cli/command';
import { EVENT_URIS } from '../../src/domain/events';
import type { DeliveryWorker } from '../../src/events/delivery';
import { deliveryWorker } from '../../src/roster';
import { startTestRoster, type TestRoster } from '../support/roster';
import { patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

/** A receiver on 127.0.0.1: records each SET per path, answers with the statuses queued for the path, then 202. */
class LocalReceiver {
  readonly received = new Map<string, string[]>();
  readonly statuses = new Map<string, number[]>();
  /** How long the answer to a request of the path waits, ms. */
  readonly delays = new Map<string, number>();
  private readonly server = http.createServer((req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', async () => {
      await new Promise((resolve) => setTimeout(resolve, this.delays.get(req.url ?? '') ?? 0));
      const status = this.statuses.get(req.url ?? '')?.shift() ?? 202;
      if (status === 202) this.received.set(req.url ?? '', [...(this.received.get(req.url ?? '') ?? []), body]);
      res.writeHead(status, { 'content-type': req.headers['content-type'] === 'application/secevent+jwt' ? 'text/plain' : 'text/x-wrong' }).end();
    });
  });
  url = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  close(): Promise<void> {
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

let t: TestRoster;
let scim: ScimClient;
let receiver: LocalReceiver;
let worker: DeliveryWorker;
let jwks: ReturnType<typeof createLocalJWKSet>;

beforeAll(async () => {
  t = await startTestRoster({ receiversAllowPrivate: true });
  scim = scimClient(t.app, t.token);
  receiver = new LocalReceiver();
  await receiver.start();
  await t.roster.signingKeys.ensureActive();
  jwks = createLocalJWKSet((await request(t.app).get('/.well-known/jwks.json').expect(200)).body as JSONWebKeySet);
  worker = deliveryWorker(t.roster, 8080, { intervalMs: 20, backoff: () => 0, onError: (e) => console.error('DELIVERY', e) });
  worker.start();
});
afterAll(async () => {
  await worker.stop();
  await receiver.close();
  await t.close();
});

/** Runs a CLI handler in this process; its stdout. */
async function run(handler: typeof receiverAdd, args: string[], flags: Flags): Promise<string> {
  let out = '';
  await handler(t.roster, args, flags, { out: (text) => (out += text), err: () => undefined });
  return out.trim();
}

const add = (path: string, flags: Flags = {}, org = 'acme') => run(receiverAdd, [], { org, url: receiver.url + path, ...flags });

async function until<T>(probe: () => T | undefined, ms = 10_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

const got = (path: string, n: number) => until(() => ((receiver.received.get(path)?.length ?? 0) >= n ? receiver.received.get(path) : undefined));

async function verified(set: string, audience: string): Promise<JWTPayload> {
  const { payload } = await jwtVerify(set, jwks, { audience, issuer: 'http://localhost:8080/scim/v2', typ: 'secevent+jwt' });
  return payload;
}

async function createThenDeactivate(userName: string): Promise<string> {
  const id = (await scim.post('/Users', userBody(userName)).expect(201)).body.id as string;
  await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(204);
  return id;
}

/** Each subject's event URIs (the last of each SET) in the order first received; a repeat (same txn and URI) counts once. */
function firstSeenPerSubject(payloads: JWTPayload[]): Record<string, string[]> {
  const seen = new Set<string>();
  const out: Record<string, string[]> = {};
  for (const p of payloads) {
    const id = (p.sub_id as { id: string }).id;
    const uri = Object.keys(p.events as object).at(-1) as string;
    if (seen.has(`${p.txn as string} ${id} ${uri}`)) continue;
    seen.add(`${p.txn as string} ${id} ${uri}`);
    (out[id] ??= []).push(uri);
  }
  return out;
}

describe('push delivery (RFC 8935)', () => {
  it('delivers a create and a deactivate as two signed SETs, in order, with the receiver audience', async () => {
    await add('/all', { audience: 'urn:example:app' });
    const id = await createThenDeactivate('push.one@example.com');
    const sets = await got('/all', 2);
    const [create, deactivate] = await Promise.all(sets.map((set) => verified(set, 'urn:example:app')));
    expect(create.sub_id).toEqual({ format: 'scim', uri: `/Users/${id}`, id });
    expect(Object.keys(create.events as object)).toEqual([EVENT_URIS.createNotice]);
    expect(deactivate.sub_id).toEqual(create.sub_id);
    expect(Object.keys(deactivate.events as object)).toEqual([EVENT_URIS.patchNotice, EVENT_URIS.deactivate]);
  });

  it('retries a receiver that answers 500 three times, then gets everything, each user in order', async () => {
    receiver.statuses.set('/flaky', [500, 500, 500]);
    const receiverId = await add('/flaky');
    const ids = [await createThenDeactivate('push.flaky1@example.com'), await createThenDeactivate('push.flaky2@example.com')];
    const rowOf = async () => JSON.parse(await run(receiverList, [], { org: 'acme', json: true })).find((r: { id: string }) => r.id === receiverId);
    await got('/flaky', 4);
    for (let i = 0; i < 200 && (await rowOf()).pending > 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
    const payloads = await Promise.all((receiver.received.get('/flaky') ?? []).map((set) => verified(set, receiver.url + '/flaky')));
    // Subjects go in parallel, each in outbox order; a retry may repeat a SET (same txn), never reorder a subject.
    expect(firstSeenPerSubject(payloads)).toEqual({
      [ids[0]]: [EVENT_URIS.createNotice, EVENT_URIS.deactivate],
      [ids[1]]: [EVENT_URIS.createNotice, EVENT_URIS.deactivate],
    });
    expect(await rowOf()).toMatchObject({ pending: 0, lastError: null, failing: false, lastDeliveredAt: expect.any(String) });
  });

  it('sends a receiver filtered to deactivate only those, and nothing of another organization', async () => {
    await add('/deactivations', { events: EVENT_URIS.deactivate });
    const other = await t.newOrganization('other');
    await add('/other', {}, 'other');
    const id = await createThenDeactivate('push.filter@example.com');
    const [set] = await got('/deactivations', 1);
    expect(((await verified(set, receiver.url + '/deactivations')).sub_id as { id: string }).id).toBe(id);
    await got('/all', 6); // the unfiltered receiver has had this user's events too
    expect(receiver.received.get('/deactivations')).toHaveLength(1);
    expect(receiver.received.get('/other')).toBeUndefined();
    await scimClient(t.app, other.token).post('/Users', userBody('push.other@example.com')).expect(201);
    expect(await got('/other', 1)).toHaveLength(1);
  });

  it('sends a --full receiver each user create and patch with the user resource as data, and groups in the notice form', async () => {
    await add('/full', { full: true });
    const body = userBody('push.full@example.com', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:roster:2.0:User'],
      password: 'Full-Form-Secret-1',
      'urn:ietf:params:scim:schemas:extension:roster:2.0:User': { sendAccountInfoEmail: true },
    });
    const id = (await scim.post('/Users', body).expect(201)).body.id as string;
    await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(204);
    const group = (
      await scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Full form', members: [{ value: id }] }).expect(201)
    ).body.id as string;
    const payloads = await Promise.all((await got('/full', 3)).map((set) => verified(set, receiver.url + '/full')));
    // Subjects go in parallel: the user's two SETs in order, the group's anywhere.
    const [create, patch] = payloads.filter((p) => (p.sub_id as { id: string }).id === id);
    const groupCreate = payloads.find((p) => (p.sub_id as { id: string }).id === group) as JWTPayload;
    const { groups, meta, ...resource } = (await scim.get(`/Users/${id}`).expect(200)).body;
    expect(groups).toEqual([expect.objectContaining({ value: group })]);
    // As the user stands when sent: the deactivate may already be in the create's data.
    const patchFull = (patch.events as Record<string, { data?: Record<string, unknown> }>)['urn:ietf:params:scim:event:prov:patch:full'];
    expect(Object.keys(patch.events as object)).toEqual(['urn:ietf:params:scim:event:prov:patch:full', EVENT_URIS.deactivate]);
    // The equivalent PatchOp: active replaced by the value the user has.
    expect(patchFull.data).toEqual({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'replace', path: 'active', value: false }],
    });
    // The create's data: the user's resource as GET shows it (links at the issuer's base URL), its groups if the group came first.
    const createData = (create.events as Record<string, { data: Record<string, unknown> }>)['urn:ietf:params:scim:event:prov:create:full'].data;
    const { groups: sentGroups, active: _active, meta: sentMeta, ...sent } = createData;
    const { active: _nowActive, ...expected } = resource;
    expect(sent).toEqual(expected);
    expect((sentMeta as { location: string }).location).toBe(`http://localhost:8080/scim/v2/Users/${id}`);
    expect([undefined, 1]).toContain((sentGroups as unknown[] | undefined)?.length);
    expect(meta).toBeDefined();
    // What is never returned is never sent: the password and sendAccountInfoEmail.
    expect(JSON.stringify(payloads)).not.toMatch(/"password"|Full-Form-Secret-1|sendAccountInfoEmail/);
    expect(groupCreate.events).toEqual({ [EVENT_URIS.createNotice]: { attributes: ['displayName', 'members'] } });
  });

  it('keeps delivering to a quick receiver while a slow one holds its answers', async () => {
    receiver.delays.set('/slowpoke', 4_000);
    const slowpoke = await add('/slowpoke');
    await add('/quick');
    try {
      const id = await createThenDeactivate('push.quick@example.com');
      // Both SETs (two batches: the create's and the deactivate's) reach the quick receiver before the slow one has answered one.
      await until(() => (receiver.received.get('/quick')?.length === 2 ? true : undefined), 3_800);
      expect(receiver.received.get('/slowpoke')).toBeUndefined();
      const taken = await Promise.all((receiver.received.get('/quick') ?? []).map((set) => verified(set, receiver.url + '/quick')));
      expect(taken.map((p) => (p.sub_id as { id: string }).id)).toEqual([id, id]);
    } finally {
      await run(receiverRemove, [slowpoke], {});
    }
  });

  it("shows each receiver's delivery state of an event in events --org", async () => {
    receiver.statuses.set(
      '/down',
      Array.from({ length: 10_000 }, () => 503),
    );
    const down = await add('/down');
    const before = receiver.received.get('/all')?.length ?? 0;
    const id = (await scim.post('/Users', userBody('push.state@example.com')).expect(201)).body.id as string;
    await got('/all', before + 1);
    const all = JSON.parse(await run(receiverList, [], { org: 'acme', json: true })).find((r: { url: string }) => r.url.endsWith('/all')).id;
    type Listed = { resourceId: string; deliveries: { receiverId: string; state: string }[] };
    const rowOf = async () => (JSON.parse(await run(events, [], { org: 'acme', json: true, limit: '5' })) as Listed[]).find((r) => r.resourceId === id);
    // The cursor is recorded once the batch is through: shortly after the receiver has the SET.
    let row = await rowOf();
    for (let i = 0; i < 100 && row?.deliveries.find((d) => d.receiverId === all)?.state !== 'delivered'; i++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      row = await rowOf();
    }
    expect(row?.deliveries).toEqual(
      expect.arrayContaining([
        { receiverId: all, url: `${receiver.url}/all`, state: 'delivered' },
        { receiverId: down, url: `${receiver.url}/down`, state: 'pending' },
      ]),
    );
    // A receiver filtered to deactivations is not listed for a create.
    const filtered = JSON.parse(await run(receiverList, [], { org: 'acme', json: true })).find((r: { url: string }) => r.url.endsWith('/deactivations')).id;
    expect(row?.deliveries.map((d) => d.receiverId)).not.toContain(filtered);
    await run(receiverRemove, [down], {});
  });

  it('gives a receiver added later no history', async () => {
    await createThenDeactivate('push.before@example.com');
    await got('/all', 8);
    await add('/late');
    await createThenDeactivate('push.after@example.com');
    await got('/all', 10);
    await got('/late', 2);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(receiver.received.get('/late')).toHaveLength(2);
  });
});

describe('receiver CLI', () => {
  it('refuses a private http URL without ROSTER_RECEIVERS_ALLOW_PRIVATE, and ftp', async () => {
    const strict = { ...t.roster, config: { ...t.roster.config, receiversAllowPrivate: false } };
    const io = { out: () => undefined, err: () => undefined };
    await expect(receiverAdd(strict, [], { org: 'acme', url: 'http://10.0.0.1/x' }, io)).rejects.toThrow(/https/);
    await expect(receiverAdd(strict, [], { org: 'acme', url: 'https://10.0.0.1/x' }, io)).rejects.toThrow(/ROSTER_RECEIVERS_ALLOW_PRIVATE/);
    await expect(receiverAdd(t.roster, [], { org: 'acme', url: 'ftp://example.com/x' }, io)).rejects.toThrow(/https or http/);
    await expect(receiverAdd(t.roster, [], { org: 'acme', url: 'https://example.com/x', events: 'urn:nope' }, io)).rejects.toThrow(/--events/);
    await expect(
      receiverAdd(t.roster, [], { org: 'acme', url: 'https://example.com/x', events: 'urn:ietf:params:scim:event:prov:create:full', full: true }, io),
    ).rejects.toThrow(/name the notice URI/);
  });

  it('adds, lists with pending, and removes', async () => {
    await worker.stop();
    try {
      const id = await add('/listed', { events: EVENT_URIS.deactivate });
      expect(id).toMatch(/^[0-9a-f-]{36}$/);
      await createThenDeactivate('push.pending@example.com');
      const rows = JSON.parse(await run(receiverList, [], { org: 'acme', json: true })) as Record<string, unknown>[];
      expect(rows.find((r) => r.id === id)).toEqual({
        id,
        url: receiver.url + '/listed',
        audience: receiver.url + '/listed',
        events: [EVENT_URIS.deactivate],
        full: false,
        createdAt: expect.any(String),
        lastDeliveredAt: null,
        pending: 1,
        attempts: 0,
        nextAttemptAt: null,
        failing: false,
        lastError: null,
      });
      expect(await run(receiverList, [], { org: 'acme' })).toContain('pending');
      await run(receiverRemove, [id], {});
      expect((JSON.parse(await run(receiverList, [], { org: 'acme', json: true })) as { id: string }[]).map((r) => r.id)).not.toContain(id);
      await expect(run(receiverRemove, [id], {})).rejects.toThrow(/no receiver/);
    } finally {
      worker.start();
    }
  });
});

describe('several instances', () => {
  it('never send one receiver its events twice while a slow batch outlasts the lease: the sender renews it', async () => {
    await worker.stop();
    // A lease renewed every 300 ms (a third of it): a CI host busy with the other test files can stall a
    // renewal by a few hundred milliseconds, which a 300 ms lease (renewed every 100 ms) did not survive.
    const instances = [0, 1].map(() => deliveryWorker(t.roster, 8080, { intervalMs: 20, leaseMs: 900 }));
    try {
      receiver.delays.set('/slow', 3_000);
      const receiverId = await add('/slow');
      for (const i of [1, 2, 3]) await scim.post('/Users', userBody(`push.slow${i}@example.com`)).expect(201);
      for (const instance of instances) instance.start();
      await until(() => ((receiver.received.get('/slow')?.length ?? 0) >= 3 ? true : undefined), 30_000);
      const rowOf = async () => JSON.parse(await run(receiverList, [], { org: 'acme', json: true })).find((r: { id: string }) => r.id === receiverId);
      for (let i = 0; i < 200 && (await rowOf()).pending > 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
      // Each answer took more than three leases; without the renewal the other instance would have claimed and sent again.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      expect(receiver.received.get('/slow')).toHaveLength(3);
      expect(await rowOf()).toMatchObject({ pending: 0, attempts: 0, lastError: null });
    } finally {
      await Promise.all(instances.map((instance) => instance.stop()));
      worker.start();
    }
  });
});
