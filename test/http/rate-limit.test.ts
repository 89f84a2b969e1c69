import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/app';
import { sharedCounterStore } from '../../src/roster';
import { createRateLimits } from '../../src/scim/rate-limit';
import { startTestRoster, type TestRoster } from '../support/roster';
import { expectScimError, scimClient, userBody } from '../support/scim';

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const silent = pino({ level: 'silent' });
const UNKNOWN = 'roster_' + 'Z'.repeat(43);

/** A request from `address` (the tests trust X-Forwarded-For, as ROSTER_TRUST_PROXY does). */
const from = (app: TestRoster['app'], address: string, token: string) =>
  request(app).get('/scim/v2/Users?count=1').set('X-Forwarded-For', address).set('Authorization', `Bearer ${token}`);

function expectTooMany(res: request.Response, maxSeconds: number) {
  expectScimError(res, 429);
  expect(res.headers['retry-after']).toMatch(/^\d+$/);
  expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
  expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(maxSeconds);
}

describe('failed authentications per client address', () => {
  let t: TestRoster;
  beforeAll(async () => {
    t = await startTestRoster({ authFailuresPerMinute: 3, trustProxy: true, rateLimitPerSecond: 0 });
  });
  afterAll(() => t.close());
  afterEach(() => jest.restoreAllMocks());

  it('answers 429 past the budget without looking the token up, while a good token from that address keeps working', async () => {
    const attacker = '203.0.113.7';
    await from(t.app, attacker, t.token).expect(200);
    for (let i = 0; i < 3; i++) expectScimError(await from(t.app, attacker, UNKNOWN), 401);
    const lookups = jest.spyOn(t.roster.credentials, 'authenticate');
    const refused = await from(t.app, attacker, UNKNOWN);
    expectTooMany(refused, 60);
    expect(refused.body.detail).toMatch(/failed authentications/);
    expect(lookups).not.toHaveBeenCalled();
    // The identity provider's token, already known good, is still looked up and served.
    await from(t.app, attacker, t.token).expect(200);
    // Another address has its own budget.
    expectScimError(await from(t.app, '198.51.100.9', UNKNOWN), 401);
    // A token this process has not seen authenticate waits out the block like any other,
    // then works from anywhere else at once.
    const fresh = await t.newOrganization('fresh-tenant');
    expectTooMany(await from(t.app, attacker, fresh.token), 60);
    await from(t.app, '198.51.100.10', fresh.token).expect(200);

    const metrics = await request(t.app).get('/metrics').expect(200);
    expect(metrics.text).toMatch(/roster_auth_refused_total\{reason="blocked"\} [2-9]/);
    expect(metrics.text).toMatch(/roster_auth_refused_total\{reason="unauthorized"\} [4-9]/);
  });

  it('costs at most the budget in token lookups, however many bad tokens an address sends', async () => {
    const lookups = jest.spyOn(t.roster.credentials, 'authenticate');
    const statuses = new Map<number, number>();
    for (let i = 0; i < 200; i++) {
      const { status } = await from(t.app, '192.0.2.55', `roster_guess_${i}_${'x'.repeat(30)}`);
      statuses.set(status, (statuses.get(status) ?? 0) + 1);
    }
    expect(lookups).toHaveBeenCalledTimes(3);
    expect(Object.fromEntries(statuses)).toEqual({ 401: 3, 429: 197 });
  });

  it('counts an IPv6 /64 as one address, and an IPv4-mapped address as its IPv4 address', async () => {
    for (const address of ['2001:db8:1:2::1', '2001:db8:1:2::2', '2001:db8:1:2:ffff:1:2:3']) expectScimError(await from(t.app, address, UNKNOWN), 401);
    expectTooMany(await from(t.app, '2001:0db8:0001:0002:abcd::9', UNKNOWN), 60);
    expectScimError(await from(t.app, '2001:db8:1:3::1', UNKNOWN), 401);

    for (const address of ['::ffff:192.0.2.77', '192.0.2.77', '::ffff:192.0.2.77']) expectScimError(await from(t.app, address, UNKNOWN), 401);
    expectTooMany(await from(t.app, '192.0.2.77', UNKNOWN), 60);
  });

  it('does not count a missing or malformed header (no lookup is made)', async () => {
    for (let i = 0; i < 10; i++) {
      expectScimError(await request(t.app).get('/scim/v2/Users').set('X-Forwarded-For', '192.0.2.99'), 401);
      expectScimError(await request(t.app).get('/scim/v2/Users').set('X-Forwarded-For', '192.0.2.99').set('Authorization', 'Bearer a b'), 401);
    }
    expectScimError(await from(t.app, '192.0.2.99', UNKNOWN), 401);
  });
});

describe('rate limits shared by several instances (ROSTER_RATE_LIMIT_STORE=postgres)', () => {
  let t: TestRoster;
  let second: ReturnType<typeof sharedCounterStore>;
  // One window of 30 s with 30 requests: the test never crosses a window's end.
  const limits = { rateLimitPerSecond: 1, rateLimitBurst: 30, authFailuresPerMinute: 3 };
  beforeAll(async () => {
    t = await startTestRoster({ ...limits, rateLimitStore: 'postgres', trustProxy: true });
    second = sharedCounterStore(t.roster.database, () => undefined);
  });
  afterAll(async () => {
    await second.close();
    await t.close();
  });

  it('count a token across instances: two instances together allow what one allows', async () => {
    const other = createApp({ ...t.roster, rateLimits: createRateLimits(limits, second.store) }, silent);
    const instances = [scimClient(t.app, t.token), scimClient(other, t.token)];
    const statuses: number[] = [];
    for (let i = 0; i < 32; i++) statuses.push((await instances[i % 2].get('/Users?count=1')).status);
    expect(statuses.slice(0, 30)).toEqual(Array(30).fill(200));
    expect(statuses.slice(30)).toEqual([429, 429]);
    const refused = await instances[1].get('/Users?count=1');
    expectTooMany(refused, 30);
    const rows = await t.roster.database.orm.em.getConnection().execute<{ key: string }[]>('select key from rate_limit_counters');
    expect(rows.map((r) => r.key)).toContain(`requests:${(await t.roster.credentials.list(t.org.id))[0].id}`);
  });

  it('count failed authentications of an address across instances', async () => {
    const other = createApp({ ...t.roster, rateLimits: createRateLimits(limits, second.store) }, silent);
    expectScimError(await from(t.app, '203.0.113.50', UNKNOWN), 401);
    expectScimError(await from(other, '203.0.113.50', UNKNOWN), 401);
    expectScimError(await from(t.app, '203.0.113.50', UNKNOWN), 401);
    expectTooMany(await from(other, '203.0.113.50', UNKNOWN), 60);
  });
});

describe('a rate-limit store that fails', () => {
  let t: TestRoster;
  beforeAll(async () => {
    t = await startTestRoster();
  });
  afterAll(() => t.close());

  it('falls back to counting in memory: the limits still hold, and nothing is a 500', async () => {
    const broken = { query: () => Promise.reject(new Error('connection refused')) };
    const app = createApp(
      { ...t.roster, rateLimits: createRateLimits({ rateLimitPerSecond: 1, rateLimitBurst: 3, authFailuresPerMinute: 2 }, broken) },
      silent,
    );
    const scim = scimClient(app, t.token);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await scim.get('/Users?count=1')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const failures = [];
    for (let i = 0; i < 3; i++) failures.push((await scimClient(app, UNKNOWN).get('/Users')).status);
    expect(failures).toEqual([401, 401, 429]);
  });
});

describe('Bulk operations and the rate limit', () => {
  let t: TestRoster;
  beforeAll(async () => {
    // 10 points in a window of 10 s.
    t = await startTestRoster({ rateLimitPerSecond: 1, rateLimitBurst: 10 });
  });
  afterAll(() => t.close());

  it('takes one point per operation: the operations past the limit fail with 429 in the BulkResponse, and run nothing', async () => {
    const scim = scimClient(t.app, t.token);
    const Operations = Array.from({ length: 12 }, (_, i) => ({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: userBody(`bulk.limited.${i}@example.com`) }));
    const res = await scim.post('/Bulk', { schemas: [BULK], Operations }).expect(200);
    const statuses = res.body.Operations.map((o: { status: string }) => o.status);
    // The request took one point, so nine operations ran.
    expect(statuses).toEqual([...Array(9).fill('201'), '429', '429', '429']);
    const refused = res.body.Operations[9];
    expect(refused.bulkId).toBe('u9');
    expect(refused.response).toMatchObject({ status: '429', detail: expect.stringMatching(/retry after \d+ s/) });
    // The credential's budget is spent for plain requests too.
    expectTooMany(await scim.get('/Users?count=1'), 10);
    const rows = await t.roster.database.orm.em
      .getConnection()
      .execute<{ n: number }[]>("select count(*)::int as n from users where user_name like 'bulk.limited.%'");
    expect(rows[0].n).toBe(9);
  });
});
