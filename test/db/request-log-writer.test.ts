import { Pool } from 'pg';
import type { ResourceChange } from '../../src/domain/request-log';
import { openDatabase, servesOneSession, type Database } from '../../src/orm/database';
import { OrganizationSqlRepository } from '../../src/orm/organization.repository';
import { RequestLogSqlStore } from '../../src/orm/request-log.repository';
import { Sql } from '../../src/orm/sql';
import { requestLogWritePool } from '../../src/roster';
import { readResponse, type RawEntry } from '../../src/requestlog/entry';
import { RequestLogWriter } from '../../src/requestlog/writer';
import { openTestDatabase } from '../support/database';
import { Outage } from '../support/outage';

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let store: RequestLogSqlStore;
let orgId: string;

beforeAll(async () => {
  database = await openTestDatabase();
  store = new RequestLogSqlStore(database.pool, servesOneSession(database.pool));
  orgId = await newOrganization('acme');
});
afterAll(() => database.close());

/** A new organization's id. */
async function newOrganization(slug: string): Promise<string> {
  return (await new OrganizationSqlRepository(Sql.onPool(database.pool, false, servesOneSession(database.pool))).insert({ slug, name: slug })).id;
}

let n = 0;
function entry(path: string, extra: Partial<RawEntry> = {}): RawEntry {
  n += 1;
  return {
    time: new Date(),
    organizationId: orgId,
    credentialId: null,
    requestId: `request-${n}`,
    userAgent: 'Okta SCIM Client 1.0.0',
    method: 'GET',
    path,
    filter: null,
    status: 200,
    scimType: null,
    detail: null,
    errorCode: null,
    durationMs: 1.25,
    resourceIds: [],
    changes: [],
    requestBody: {},
    responseBody: { text: '{"totalResults":0}' },
    responseCap: 4096,
    ...extra,
  };
}

/** The store, with the prunes it is asked for kept (to wait for them, or count them) and the organizations each was for (all: undefined). */
function watchedPrunes() {
  const prunes: Promise<number>[] = [];
  const scopes: ((string | null)[] | undefined)[] = [];
  const watch = (pruning: Promise<number>, scope: (string | null)[] | undefined) => {
    prunes.push(pruning);
    scopes.push(scope);
    return pruning;
  };
  const watched = {
    insert: (entries: Parameters<typeof store.insert>[0]) => store.insert(entries),
    prune: (before: Date, maxRows: number) => watch(store.prune(before, maxRows), undefined),
    pruneBeyond: (maxRows: number, ids: readonly (string | null)[]) => watch(store.pruneBeyond(maxRows, ids), [...ids]),
  };
  return { prunes, scopes, watched };
}

/** A writer's options where only the entries stored can start a prune: the interval and the first prune an hour away. */
const BURSTS = { retentionDays: 14, maxRows: 1_000, batchSize: 1_000, flushEveryMs: 60_000, pruneEveryMs: 3_600_000, firstPruneAfterMs: 3_600_000 };

/** A writer held to `maxBytes`, with the count of the entries it dropped. */
function boundedWriter(maxBytes: number) {
  const counts = { dropped: 0 };
  const writer = new RequestLogWriter({ store, retentionDays: 14, maxRows: 100_000, maxBytes, flushEveryMs: 60_000 });
  writer.observe({ dropped: (count) => (counts.dropped += count) });
  return { writer, counts };
}

const paths = async (limit = 1000) => (await store.list(orgId, { limit })).map((e) => e.path);

describe('the request log writer', () => {
  it('drops the oldest entries when it holds as many as it may, counts them, and stores the newest', async () => {
    const dropped: number[] = [];
    const writer = new RequestLogWriter({ store, retentionDays: 14, maxRows: 100_000, capacity: 3, flushEveryMs: 60_000 });
    writer.observe({ dropped: (count, reason) => reason === 'full' && dropped.push(count) });
    for (const p of ['/full/1', '/full/2', '/full/3', '/full/4', '/full/5']) writer.record(entry(p));
    expect(dropped).toEqual([1, 1]);
    await writer.stop();
    expect((await paths()).filter((p) => p.startsWith('/full/'))).toEqual(['/full/5', '/full/4', '/full/3']);
    // Stopped: it takes nothing more.
    writer.record(entry('/full/6'));
    expect(writer.pending).toBe(0);
  });

  it('drops the oldest when the bodies it holds pass its byte bound', async () => {
    const { writer, counts } = boundedWriter(1_000);
    // Each entry, as stored, is its 600-character response and a little more.
    writer.record(entry('/bytes/1', { responseBody: { text: 'x'.repeat(600), ours: true } }));
    writer.record(entry('/bytes/2', { responseBody: { text: 'y'.repeat(600), ours: true } }));
    expect(counts.dropped).toBe(1);
    await writer.flush();
    expect((await paths()).filter((p) => p.startsWith('/bytes/'))).toEqual(['/bytes/2']);
  });

  it('counts a parsed body it holds at three times its size as received', async () => {
    const { writer, counts } = boundedWriter(10_000);
    // 2,000 bytes as received, held parsed until the batch: 6,000 and a little more each, so the second pushes out the first.
    const body = { value: { note: 'x'.repeat(1_990) }, bytes: 2_000 };
    writer.record(entry('/parsed/1', { method: 'POST', requestBody: body }));
    writer.record(entry('/parsed/2', { method: 'POST', requestBody: body }));
    expect(counts.dropped).toBe(1);
    await writer.flush();
    expect((await paths()).filter((p) => p.startsWith('/parsed/'))).toEqual(['/parsed/2']);
  });

  it('holds a large body, or a parsed one of unknown size, only in its stored form (redacted, at most 64 KB)', async () => {
    const { writer, counts } = boundedWriter(150_000);
    // Held parsed, each would count 600,000 bytes; stored at once, about 65,000: both fit.
    const big = { value: { note: 'y'.repeat(200_000), password: 'Big-Secret-1' }, bytes: 200_040 };
    writer.record(entry('/large/1', { method: 'POST', requestBody: big }));
    writer.record(entry('/large/2', { method: 'POST', requestBody: big }));
    writer.record(entry('/large/unsized', { method: 'POST', requestBody: { value: { note: 'z', password: 'Unsized-Secret-1' } } }));
    expect(counts.dropped).toBe(0);
    await writer.flush();
    const listed = (await store.list(orgId, { limit: 1000 })).filter((e) => e.path.startsWith('/large/'));
    expect(listed.map((e) => e.path)).toEqual(['/large/unsized', '/large/2', '/large/1']);
    for (const { id } of listed) {
      const body = (await store.get(orgId, id))?.requestBody ?? '';
      expect(Buffer.byteLength(body)).toBeLessThanOrEqual(64 * 1024);
      expect(body).not.toMatch(/Secret-1/);
    }
  });

  it('drops and counts an entry it cannot serialise, and stores the rest of its batch', async () => {
    const failed: number[] = [];
    const errors: unknown[] = [];
    const writer = new RequestLogWriter({ store, retentionDays: 14, maxRows: 100_000, flushEveryMs: 60_000 });
    writer.observe({ dropped: (count, reason) => reason === 'failed' && failed.push(count), failed: (error) => errors.push(error) });
    writer.record(entry('/serialise/1'));
    // A body JSON cannot hold (serialised with its batch, not in the request: the request was answered long before).
    writer.record(entry('/serialise/2', { method: 'POST', status: 201, requestBody: { value: { count: 1n } } }));
    // A time that is no time.
    writer.record(entry('/serialise/no-time', { time: new Date(Number.NaN) }));
    writer.record(entry('/serialise/3'));
    await writer.flush();
    // The body when it was recorded (a parsed body of unknown size is stored at once), the time with its batch.
    expect(failed).toEqual([1, 1]);
    expect(errors).toHaveLength(2);
    expect((await paths()).filter((p) => p.startsWith('/serialise/'))).toEqual(['/serialise/3', '/serialise/1']);
  });

  it('keeps a line saying what a successful read held, and its ids, not the response', async () => {
    const writer = new RequestLogWriter({ store, retentionDays: 14, maxRows: 100_000, flushEveryMs: 60_000 });
    const id = '2819c223-7f76-453a-919d-413861904646';
    const text = JSON.stringify({ totalResults: 1, Resources: [{ id, userName: 'private.person@example.com' }] });
    const read = readResponse(text, Buffer.byteLength(text));
    writer.record(entry('/read/1', { filter: 'userName eq "private.person@example.com"', responseBody: read.body, resourceIds: read.ids }));
    await writer.flush();
    const [listed] = await store.list(orgId, { limit: 1 });
    expect(listed.path).toBe('/read/1');
    expect(listed.resourceIds).toEqual([id]);
    const shown = await store.get(orgId, listed.id);
    expect(shown?.responseBody).toBe(`[a successful read: not kept; totalResults 1, 1 resource(s) on the page, ${Buffer.byteLength(text)} bytes]`);
  });

  it('stores text that an array literal has to escape exactly as it was sent, and NULL only for a missing value', async () => {
    const writer = new RequestLogWriter({ store, retentionDays: 14, maxRows: 100_000, flushEveryMs: 60_000 });
    const tricky = 'a "quoted" \\ back\\slash, {braces}, NULL, commas, \t tab\nnewline, é ✓ 🙂';
    writer.record(
      entry('/escape/"{},\\', {
        method: 'PATCH',
        status: 400,
        filter: tricky,
        detail: 'NULL',
        scimType: 'invalidValue',
        userAgent: tricky,
        requestBody: { value: { displayName: tricky } },
        responseBody: { text: `{"detail":${JSON.stringify(tricky)}}`, ours: true },
      }),
    );
    const changes: ResourceChange[] = [
      { resourceType: 'User', resourceId: 'u-1', action: 'updated', changes: [{ attribute: 'title', before: tricky, after: 'NULL' }] },
    ];
    writer.record(entry('/escape/plain', { changes }));
    await writer.stop();
    const [plain, escaped] = (await store.list(orgId, { limit: 1000 })).filter((e) => e.path.startsWith('/escape/'));
    const stored = await store.get(orgId, escaped!.id);
    expect(stored).toMatchObject({ path: '/escape/"{},\\', filter: tricky, detail: 'NULL', userAgent: tricky, status: 400, scimType: 'invalidValue' });
    expect(JSON.parse(stored!.requestBody!)).toEqual({ displayName: tricky });
    expect(JSON.parse(stored!.responseBody!)).toEqual({ detail: tricky });
    const other = await store.get(orgId, plain!.id);
    expect(other).toMatchObject({ filter: null, detail: null, scimType: null, requestBody: null });
    expect(other!.changes).toEqual(changes);
  });

  it('compresses bodies and batched reads with lz4 where PostgreSQL has it, and with its default where it does not', async () => {
    const lz4 = (await database.pool.query<{ lz4: boolean }>(`select 'lz4' = any(enumvals) as lz4 from pg_settings where name = 'default_toast_compression'`))
      .rows[0]?.lz4;
    const writer = new RequestLogWriter({ store, retentionDays: 14, maxRows: 100_000, flushEveryMs: 60_000 });
    // A body large enough to be compressed (past PostgreSQL's 2 KB row threshold), and a batch of reads as large.
    const long = JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], note: 'compressible '.repeat(800) });
    writer.record(entry('/compressed/write', { method: 'POST', status: 201, requestBody: { text: long }, responseBody: { text: long, ours: true } }));
    for (let i = 0; i < 60; i++) {
      writer.record(
        entry('/scim/v2/Users', { filter: `userName eq "compressed.${i}@example.com"`, responseBody: readResponse('{"totalResults":0}', 18).body }),
      );
    }
    await writer.flush();
    const method = lz4 ? 'lz4' : 'pglz';
    const written = await database.pool.query(
      `select pg_column_compression(request_body) as request, pg_column_compression(response_body) as response from request_log where path = '/compressed/write'`,
    );
    expect(written.rows).toEqual([{ request: method, response: method }]);
    const reads = await database.pool.query(
      `select pg_column_compression(reads) as reads from request_read_batches where organization_id = $1 and reads like '%compressed.59@%'`,
      [orgId],
    );
    expect(reads.rows).toEqual([{ reads: method }]);
  });

  it('writes a batch by itself after its interval', async () => {
    const writer = new RequestLogWriter({ store, retentionDays: 14, maxRows: 100_000, flushEveryMs: 20 });
    const written = new Promise<number>((resolve) => writer.observe({ written: resolve }));
    writer.record(entry('/timed/1'));
    expect(await written).toBe(1);
    expect(await paths()).toContain('/timed/1');
  });

  it('under a steady trickle writes one batch per interval, not one statement per entry', async () => {
    const batches: number[] = [];
    const writer = new RequestLogWriter({ store, retentionDays: 14, maxRows: 100_000, flushEveryMs: 150 });
    writer.observe({ written: (count) => batches.push(count) });
    for (let i = 0; i < 60; i++) {
      writer.record(entry(`/trickle/${i}`));
      await new Promise((resolve) => setTimeout(resolve, 5));
    }
    await writer.stop();
    expect(batches.reduce((a, b) => a + b, 0)).toBe(60);
    // About 300 ms of entries at one batch per 150 ms: a handful of statements, however the timers fall.
    expect(batches.length).toBeLessThanOrEqual(6);
  });

  it('prunes only the organizations it is asked for beyond their cap, when asked for some', async () => {
    const [a, b] = (await Promise.all([newOrganization('beyond-a'), newOrganization('beyond-b')])) as [string, string];
    const writer = new RequestLogWriter({ store, retentionDays: 14, maxRows: 100_000, batchSize: 1_000, flushEveryMs: 60_000 });
    const refused = { status: 403, errorCode: 'policy.no_acting_upward' };
    for (const org of [a, b]) for (let i = 0; i < 30; i++) writer.record(entry(`/beyond/${i}`, { organizationId: org, ...refused }));
    // The entries of requests that did not authenticate share one cap, asked for as null.
    for (let i = 0; i < 30; i++) writer.record(entry(`/anonymous/${i}`, { organizationId: null, status: 401, errorCode: 'auth.invalid_token' }));
    await writer.stop();
    const anonymous = (await store.listUnauthenticated({ limit: 1_000 })).length;
    expect(anonymous).toBeGreaterThanOrEqual(30);
    expect(await store.pruneBeyond(25, [a])).toBe(5);
    expect(await store.list(a, { limit: 100 })).toHaveLength(25);
    expect((await store.list(a, { limit: 1 }))[0]?.path).toBe('/beyond/29');
    expect(await store.list(b, { limit: 100 })).toHaveLength(30);
    expect(await store.listUnauthenticated({ limit: 1_000 })).toHaveLength(anonymous);
    expect(await store.pruneBeyond(25, [null])).toBe(anonymous - 25);
    expect(await store.listUnauthenticated({ limit: 1_000 })).toHaveLength(25);
    expect(await store.list(b, { limit: 100 })).toHaveLength(30);
  });

  it('prunes entries older than the retention, and each organization beyond its newest maxRows', async () => {
    const writer = new RequestLogWriter({ store, retentionDays: 14, maxRows: 1_000, flushEveryMs: 60_000 });
    // Refusals: a row each (successful reads are stored by the batch, below).
    const refused = { status: 403, errorCode: 'policy.no_acting_upward' };
    writer.record(entry('/old/1', { ...refused, time: new Date(Date.now() - 15 * 86_400_000) }));
    for (let i = 0; i < 1_005; i++) writer.record(entry(`/many/${i}`, refused));
    await writer.flush();
    const deleted = await store.prune(new Date(Date.now() - 14 * 86_400_000), 1_000);
    expect(deleted).toBeGreaterThanOrEqual(6);
    const left = await paths(5_000);
    expect(left).toHaveLength(1_000);
    expect(left[0]).toBe('/many/1004');
    expect(left).not.toContain('/old/1');
    expect(left).not.toContain('/many/4');
    expect(left).toContain('/many/5');
  });

  it('prunes after a burst of entries, not only at its interval: an organization stays near its cap', async () => {
    const org = await newOrganization('burst');
    const { prunes, watched } = watchedPrunes();
    const writer = new RequestLogWriter({ ...BURSTS, store: watched, pruneAfterVolumeMs: 0 });
    writer.start();
    const count = async () =>
      (await database.pool.query<{ n: number }>(`select count(*)::int as n from request_log where organization_id = $1`, [org])).rows[0]?.n;
    const removed = { organizationId: org, method: 'DELETE', status: 204 };
    const counts: (number | undefined)[] = [];
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < 600; i++) writer.record(entry(`/burst/${round}/${i}`, removed));
      await writer.flush();
      await Promise.all(prunes);
      counts.push(await count());
    }
    await writer.stop();
    // 600 a burst against a cap of 1,000: each burst (more than a quarter of the cap) is followed by a prune.
    expect(prunes).toHaveLength(3);
    expect(counts).toEqual([600, 1_000, 1_000]);
    expect((await store.list(org, { limit: 1 }))[0]?.path).toBe('/burst/2/599');
  });

  it('starts a burst prune for one organization past a quarter of its cap, not for many below it, and not too often', async () => {
    const orgs = await Promise.all(['spread-a', 'spread-b', 'spread-c', 'spread-d'].map(newOrganization));
    const { prunes: calls, scopes, watched } = watchedPrunes();
    const options = { ...BURSTS, store: watched };
    const removed = (organizationId: string, i: number) => entry(`/spread/${organizationId}/${i}`, { organizationId, method: 'DELETE', status: 204 });

    // 800 entries, 200 for each of four organizations: none near its cap, no prune.
    const spread = new RequestLogWriter({ ...options, pruneAfterVolumeMs: 0 });
    spread.start();
    for (let i = 0; i < 200; i++) for (const org of orgs) spread.record(removed(org, i));
    await spread.flush();
    await spread.stop();
    expect(calls).toEqual([]);

    // One organization past a quarter of its cap among others below it: the burst prune is that organization's alone.
    const among = new RequestLogWriter({ ...options, pruneAfterVolumeMs: 0 });
    among.start();
    for (let i = 0; i < 300; i++) among.record(removed(orgs[3] as string, 10_000 + i));
    for (let i = 0; i < 100; i++) for (const org of orgs.slice(0, 3)) among.record(removed(org, 10_000 + i));
    await among.flush();
    await among.stop();
    expect(scopes).toEqual([[orgs[3]]]);
    calls.length = 0;
    scopes.length = 0;

    // One organization's bursts: the first prunes, the second comes within pruneAfterVolumeMs of it and waits.
    const spaced = new RequestLogWriter({ ...options, pruneAfterVolumeMs: 3_600_000 });
    spaced.start();
    for (let burst = 0; burst < 2; burst++) {
      for (let i = 0; i < 300; i++) spaced.record(removed(orgs[0] as string, 1_000 * (burst + 1) + i));
      await spaced.flush();
    }
    await spaced.stop();
    expect(calls).toHaveLength(1);

    // A writer never started (the CLI's) does not prune, whatever it stores.
    const cli = new RequestLogWriter({ ...options, pruneAfterVolumeMs: 0 });
    for (let i = 0; i < 600; i++) cli.record(removed(orgs[1] as string, 5_000 + i));
    await cli.flush();
    await cli.stop();
    expect(calls).toHaveLength(1);
  });

  it('keeps counting an organization whose burst prune failed, and tries again', async () => {
    const org = await newOrganization('prune-fails');
    const attempts: string[] = [];
    const failing = {
      insert: (entries: Parameters<typeof store.insert>[0]) => store.insert(entries),
      prune: (before: Date, maxRows: number) => store.prune(before, maxRows),
      pruneBeyond: async (maxRows: number, ids: readonly (string | null)[]) => {
        attempts.push(attempts.length === 0 ? 'failed' : 'pruned');
        if (attempts.length === 1) throw new Error('the database is away');
        return store.pruneBeyond(maxRows, ids);
      },
    };
    const failures: unknown[] = [];
    const writer = new RequestLogWriter({ ...BURSTS, store: failing, pruneAfterVolumeMs: 0 });
    writer.observe({ failed: (error) => failures.push(error) });
    writer.start();
    const removed = (i: number) => entry(`/fails/${i}`, { organizationId: org, method: 'DELETE', status: 204 });
    for (let i = 0; i < 300; i++) writer.record(removed(i));
    await writer.flush();
    await new Promise((resolve) => setImmediate(resolve));
    // The 300 the failed prune did not prune still count (and ten more): it is tried again.
    for (let i = 300; i < 310; i++) writer.record(removed(i));
    await writer.flush();
    await writer.stop();
    expect(attempts).toEqual(['failed', 'pruned']);
    expect(failures).toHaveLength(1);
  });

  it('runs the prune at its interval when a burst prune that held it up ends, rather than skip it', async () => {
    const org = await newOrganization('held-up');
    const asked: string[] = [];
    let release = () => {};
    const gate = new Promise<void>((resolve) => (release = resolve));
    const held = {
      insert: (entries: Parameters<typeof store.insert>[0]) => store.insert(entries),
      prune: async (before: Date, maxRows: number) => {
        asked.push('all');
        return store.prune(before, maxRows);
      },
      // Held until released, then done: nothing of it waits for the database.
      pruneBeyond: async () => {
        asked.push('burst');
        await gate;
        return 0;
      },
    };
    const writer = new RequestLogWriter({ ...BURSTS, store: held, pruneEveryMs: 400, pruneAfterVolumeMs: 0 });
    writer.start();
    for (let i = 0; i < 300; i++) writer.record(entry(`/held/${i}`, { organizationId: org, method: 'DELETE', status: 204 }));
    await writer.flush();
    // The burst's prune is running (held); the interval comes due twice meanwhile (the next time 200 ms after the wait).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    expect(asked).toEqual(['burst']);
    release();
    await gate;
    await new Promise((resolve) => setImmediate(resolve));
    expect(asked.slice(0, 2)).toEqual(['burst', 'all']);
    await writer.stop();
  });
});

describe('successful reads, stored by the batch', () => {
  let other: string;
  beforeAll(async () => {
    other = await newOrganization('reads-other');
  });
  const writer = () => new RequestLogWriter({ store, retentionDays: 14, maxRows: 100_000, flushEveryMs: 60_000 });
  const readBatches = async (organization: string) =>
    Number((await database.pool.query('select count(*)::int as n from request_read_batches where organization_id = $1', [organization])).rows[0].n);

  it('lists reads and the other entries together in the order they came, newest first, and shows a read by its id', async () => {
    const org = await newOrganization('reads-order');
    const w = writer();
    const at = (path: string, extra: Partial<RawEntry> = {}) => w.record(entry(path, { organizationId: org, ...extra }));
    at('/Users/a', { filter: 'userName eq "a@example.com"', resourceIds: ['u-a'] });
    at('/Users/b', { method: 'PATCH', status: 403, errorCode: 'policy.no_acting_upward', detail: 'no' });
    at('/Users/c');
    await w.flush();
    at('/Users/d', { userAgent: 'Microsoft.Azure.AD.Provisioning 1.0' });
    at('/Users', { method: 'POST', status: 201, resourceIds: ['u-e'] });
    await w.flush();
    at('/Users/f');
    await w.stop();
    const listed = await store.list(org, { limit: 100 });
    expect(listed.map((e) => e.path)).toEqual(['/Users/f', '/Users', '/Users/d', '/Users/c', '/Users/b', '/Users/a']);
    // The reads went to their batches (three flushes that held reads: three rows), the rest to rows of their own.
    expect(await readBatches(org)).toBe(3);
    const ids = listed.map((e) => BigInt(e.id));
    expect([...ids].sort((a, b) => (a > b ? -1 : 1))).toEqual(ids);
    const read = listed[5]!;
    expect(read).toMatchObject({ method: 'GET', status: 200, filter: 'userName eq "a@example.com"', client: 'okta', rule: null, resourceIds: ['u-a'] });
    const shown = await store.get(org, read.id);
    expect(shown).toMatchObject({ id: read.id, path: '/Users/a', requestBody: null, changes: [], responseBody: '{"totalResults":0}' });
    expect(await store.find(read.id)).toMatchObject({ id: read.id, organizationId: org });
    // Another organization does not find it.
    expect(await store.get(other, read.id)).toBeNull();
    expect(await store.list(other, { limit: 100 })).toEqual([]);
    // The filters apply to reads as to rows.
    expect((await store.list(org, { limit: 100, client: 'entra' })).map((e) => e.path)).toEqual(['/Users/d']);
    expect((await store.list(org, { limit: 100, status: { min: 400, max: 499 } })).map((e) => e.path)).toEqual(['/Users/b']);
    expect((await store.list(org, { limit: 100, status: { min: 200, max: 299 } })).map((e) => e.path)).toEqual([
      '/Users/f',
      '/Users',
      '/Users/d',
      '/Users/c',
      '/Users/a',
    ]);
    expect((await store.list(org, { limit: 2 })).map((e) => e.path)).toEqual(['/Users/f', '/Users']);
    expect(await store.list(org, { limit: 100, since: new Date(Date.now() + 60_000) })).toEqual([]);
  });

  it('stores a read the writer encodes itself exactly as one the store recognises as a read, redacted alike', async () => {
    const org = await newOrganization('reads-early');
    const w = writer();
    const text = JSON.stringify({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:ListResponse'],
      totalResults: 1,
      Resources: [{ id: 'u-1', userName: 'a' }],
    });
    const early = readResponse(text, Buffer.byteLength(text));
    const same = {
      organizationId: org,
      time: new Date(),
      requestId: 'the-same',
      filter: 'userName eq "a@example.com" or externalId eq "roster_0123456789abcdefghijKLMNOPQRST"',
      userAgent: 'Okta SCIM Client 1.0.0',
      durationMs: 1.26,
    };
    w.record(entry('/scim/v2/Users', { ...same, responseBody: early.body, resourceIds: early.ids }));
    // The same summary without the writer's mark: it goes the way of a row, and the store batches it as a read.
    w.record(entry('/scim/v2/Users', { ...same, responseBody: { kept: early.body.kept }, resourceIds: early.ids }));
    await w.stop();
    const [first, second] = await Promise.all((await store.list(org, { limit: 10 })).map((e) => store.get(org, e.id)));
    expect(first).toMatchObject({
      client: 'okta',
      resourceIds: ['u-1'],
      filter: 'userName eq "a@example.com" or externalId eq "[redacted]"',
      durationMs: 1.3,
      responseBody: expect.stringContaining('totalResults 1, 1 resource(s) on the page'),
    });
    expect({ ...first, id: '' }).toEqual({ ...second, id: '' });
    expect(await readBatches(org)).toBe(1);
  });

  it('finds the newest reads that match across many batches, past a page of them', async () => {
    const org = await newOrganization('reads-pages');
    const w = writer();
    // 80 batches of one read each: the oldest two from Entra, the rest from Okta.
    for (let i = 0; i < 80; i++) {
      w.record(entry(`/page/${i}`, { organizationId: org, userAgent: i < 2 ? 'Microsoft.Azure.AD.Provisioning 1.0' : 'Okta SCIM Client 1.0.0' }));
      await w.flush();
    }
    await w.stop();
    expect(await readBatches(org)).toBe(80);
    expect((await store.list(org, { limit: 100, client: 'entra' })).map((e) => e.path)).toEqual(['/page/1', '/page/0']);
    const newest = (await store.list(org, { limit: 40 })).map((e) => e.path);
    expect(newest).toEqual(Array.from({ length: 40 }, (_, i) => `/page/${79 - i}`));
    expect(await store.list(org, { limit: 1_000 })).toHaveLength(80);
    // Newer rows that fill the list leave every read out; one more place lets the newest read in.
    const later = writer();
    for (let i = 0; i < 3; i++) later.record(entry(`/refused/${i}`, { organizationId: org, status: 403, errorCode: 'policy.no_acting_upward' }));
    await later.stop();
    expect((await store.list(org, { limit: 3 })).map((e) => e.path)).toEqual(['/refused/2', '/refused/1', '/refused/0']);
    expect((await store.list(org, { limit: 4 })).map((e) => e.path)).toEqual(['/refused/2', '/refused/1', '/refused/0', '/page/79']);
  });

  it('keeps text that JSON has to escape exactly as it was sent, and stores nothing of an organization that is gone', async () => {
    const w = writer();
    // U+0001 too: it separates the organizations' reads in the batch's statement (READS_SEPARATOR).
    const tricky = 'a "quoted" \\ back\\slash, {braces}, \u0000 nul, \u0001 soh, \ud800 lone, \t tab\nnewline, é ✓ 🙂';
    w.record(entry('/tricky/"{},\\', { filter: tricky, userAgent: tricky }));
    w.record(entry('/tricky/gone', { organizationId: '00000000-0000-4000-8000-00000000dead' }));
    w.record(entry('/tricky/other', { organizationId: other, filter: tricky }));
    await w.stop();
    const [read] = (await store.list(orgId, { limit: 1_000 })).filter((e) => e.path.startsWith('/tricky/'));
    expect(read).toMatchObject({
      path: '/tricky/"{},\\',
      filter: tricky.replace('\u0000', '\uFFFD').replace('\ud800', '\uFFFD'),
      userAgent: expect.any(String),
    });
    expect(await store.find(String(BigInt(read!.id) + 1n))).toBeNull();
    // The other organization's read of the same batch, after the one that is gone, is its own.
    const [theirs] = (await store.list(other, { limit: 1_000 })).filter((e) => e.path.startsWith('/tricky/'));
    expect(theirs).toMatchObject({ path: '/tricky/other', filter: read!.filter });
  });

  it('finds a read by its id whatever else its batch held: many organizations, rows between, an id written with leading zeros', async () => {
    const orgs: string[] = [];
    for (let i = 0; i < 18; i++) orgs.push(await newOrganization(`reads-many-${i}`));
    const w = writer();
    // One batch: each organization's reads interleaved with the others' and with refusals.
    for (let round = 0; round < 3; round++)
      for (const [i, org] of orgs.entries()) {
        w.record(entry(`/many/${i}/${round}`, { organizationId: org }));
        if (i % 5 === 0) w.record(entry(`/many/${i}/${round}/refused`, { organizationId: org, status: 403, errorCode: 'policy.no_acting_upward' }));
      }
    await w.stop();
    for (const [i, org] of orgs.entries()) {
      const listed = await store.list(org, { limit: 100 });
      expect(listed.map((e) => e.path).filter((p) => !p.endsWith('/refused'))).toEqual([`/many/${i}/2`, `/many/${i}/1`, `/many/${i}/0`]);
      for (const e of listed) {
        expect((await store.find(e.id))?.path).toBe(e.path);
        expect((await store.get(org, `00${e.id}`))?.path).toBe(e.path);
        // Another organization's id is not found through this one.
        expect(await store.get(orgs[(i + 1) % orgs.length]!, e.id)).toBeNull();
      }
    }
  });

  it('skips the batches without a read of the client or status a list asks for', async () => {
    const org = await newOrganization('reads-skip');
    const w = writer();
    w.record(entry('/skip/entra', { organizationId: org, userAgent: 'Microsoft.Azure.AD.Provisioning 1.0' }));
    await w.flush();
    for (let i = 0; i < 300; i++) {
      w.record(entry(`/skip/okta/${i}`, { organizationId: org }));
      await w.flush();
    }
    await w.stop();
    const seen: string[] = [];
    const all = Sql.prototype.all;
    // Count the batches the list reads: only the one with an Entra ID read is.
    const spy = jest.spyOn(Sql.prototype, 'all').mockImplementation(async function (this: Sql, ...args: Parameters<Sql['all']>) {
      const rows = (await all.apply(this, args)) as { reads?: unknown }[];
      for (const row of rows) if (typeof row.reads === 'string') seen.push(row.reads);
      return rows;
    });
    try {
      expect((await store.list(org, { limit: 10, client: 'entra' })).map((e) => e.path)).toEqual(['/skip/entra']);
      expect(await store.list(org, { limit: 10, status: { min: 201, max: 299 } })).toEqual([]);
    } finally {
      spy.mockRestore();
    }
    expect(seen).toHaveLength(1);
  });

  it('lists rows and reads as of one moment: a batch stored while the list reads shows neither its rows nor its reads', async () => {
    const org = await newOrganization('reads-snapshot');
    const w = writer();
    w.record(entry('/before/read', { organizationId: org }));
    w.record(entry('/before/refused', { organizationId: org, status: 403, errorCode: 'policy.no_acting_upward' }));
    await w.flush();
    const all = Sql.prototype.all;
    let storing: Promise<void> | undefined;
    // Once the list has read its rows, another batch (a row and a read) is stored before it reads the read batches. On the
    // embedded database (one session) the batch waits for the list's transaction instead: awaited there, it would wait forever.
    const oneSession = servesOneSession(database.pool);
    const spy = jest.spyOn(Sql.prototype, 'all').mockImplementation(async function (this: Sql, ...args: Parameters<Sql['all']>) {
      const rows = await all.apply(this, args);
      if (!storing && /from request_log l/.test(args[0])) {
        w.record(entry('/during/read', { organizationId: org }));
        w.record(entry('/during/refused', { organizationId: org, status: 403, errorCode: 'policy.no_acting_upward' }));
        storing = w.flush();
        if (!oneSession) await storing;
      }
      return rows;
    });
    try {
      expect((await store.list(org, { limit: 10 })).map((e) => e.path)).toEqual(['/before/refused', '/before/read']);
    } finally {
      spy.mockRestore();
    }
    expect(storing).toBeDefined();
    await storing;
    await w.stop();
    expect((await store.list(org, { limit: 10 })).map((e) => e.path)).toEqual(['/during/refused', '/during/read', '/before/refused', '/before/read']);
  });

  it('prunes reads by age and by the cap, counting them with the rows; a batch goes whole', async () => {
    const org = await newOrganization('reads-prune');
    const w = writer();
    const at = (path: string, extra: Partial<RawEntry> = {}) => w.record(entry(path, { organizationId: org, ...extra }));
    at('/aged/1', { time: new Date(Date.now() - 15 * 86_400_000) });
    await w.flush();
    for (let b = 0; b < 6; b++) {
      for (let i = 0; i < 10; i++) at(`/read/${b}/${i}`);
      at(`/refused/${b}`, { status: 404, errorCode: 'resource.not_found' });
      await w.flush();
    }
    await w.stop();
    // 67 entries: the aged read, then six batches of ten reads and a refusal each. A cap of 25 keeps the newest 25,
    // and the batch that straddles the cut whole.
    const deleted = await store.prune(new Date(Date.now() - 14 * 86_400_000), 25);
    const left = (await store.list(org, { limit: 1_000 })).map((e) => e.path);
    expect(left).not.toContain('/aged/1');
    expect(left.slice(0, 25)).toEqual(
      [
        '/refused/5',
        ...Array.from({ length: 10 }, (_, i) => `/read/5/${9 - i}`),
        '/refused/4',
        ...Array.from({ length: 10 }, (_, i) => `/read/4/${9 - i}`),
        '/refused/3',
      ].concat(Array.from({ length: 2 }, (_, i) => `/read/3/${9 - i}`)),
    );
    // The third batch from the end straddles the cut: its reads are kept whole, the refusals before it are not.
    expect(left).toHaveLength(33);
    expect(left).not.toContain('/refused/2');
    expect(deleted).toBeGreaterThanOrEqual(67 - 33);
    // By age: what the prune says it deleted counts the reads, not their batches.
    const aged = await newOrganization('reads-aged');
    const old = writer();
    for (let i = 0; i < 5; i++) old.record(entry(`/aged/${i}`, { organizationId: aged, time: new Date(Date.now() - 20 * 86_400_000) }));
    await old.stop();
    expect(await store.prune(new Date(Date.now() - 14 * 86_400_000), 100_000)).toBe(5);
    expect(await store.list(aged, { limit: 10 })).toEqual([]);
  });
});

describe('when the database goes away', () => {
  let outage: Outage;
  let proxied: Database;
  let writePool: Pool;

  beforeAll(async () => {
    let url: string;
    ({ outage, url } = await Outage.before(database.url));
    proxied = await openDatabase({ url, poolMax: 2, migrate: false });
    // The pool a server writes its log through, as roster.ts makes it.
    writePool = requestLogWritePool(url);
  });
  afterAll(async () => {
    await outage.up();
    await writePool.end();
    await proxied.close();
    await outage.down();
  });

  /** A writer storing through the outage's proxy, as a server does, with the counts of the entries it dropped as failed. */
  function writerThroughOutage() {
    const through = new RequestLogSqlStore(database.pool, servesOneSession(database.pool), writePool);
    const failed: number[] = [];
    const writer = new RequestLogWriter({ store: through, retentionDays: 14, maxRows: 100_000, flushEveryMs: 60_000 });
    writer.observe({ dropped: (count, reason) => reason === 'failed' && failed.push(count) });
    return { writer, failed };
  }

  it('loses a batch, not the process, when its connection goes in the middle of the INSERT', async () => {
    const { writer, failed } = writerThroughOutage();
    await outage.up();
    await writePool.query('select 1'); // the writer's connection is open
    // The batch's INSERT leaves Roster but never reaches the database; then the connection goes.
    outage.hold();
    writer.record(entry('/cut/1'));
    const flushed = writer.flush();
    for (let i = 0; i < 500 && outage.heldBytes === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(outage.heldBytes).toBeGreaterThan(0);
    await outage.down();
    await flushed;
    expect(failed).toEqual([1]);
    await outage.up();
    writer.record(entry('/cut/2'));
    await writer.stop();
    // The next batch goes through; the cut one never reached the database.
    expect((await paths()).filter((p) => p.startsWith('/cut/'))).toEqual(['/cut/2']);
  });

  it('drops and counts the entries it could not store, never throws, and stores the next ones once it is back', async () => {
    const { writer, failed } = writerThroughOutage();
    await outage.down();
    writer.record(entry('/outage/1'));
    writer.record(entry('/outage/2'));
    await writer.flush();
    expect(failed).toEqual([2]);
    await outage.up();
    writer.record(entry('/outage/3'));
    await writer.stop();
    const stored = (await paths()).filter((p) => p.startsWith('/outage/'));
    expect(stored).toEqual(['/outage/3']);
  });
});
