import fc from 'fast-check';
import pino from 'pino';
import request from 'supertest';
import { createApp } from '../../src/app';
import { sharedCounterStore } from '../../src/roster';
import { createRateLimits } from '../../src/scim/http/rate-limit';
import { startTestRoster, type TestRoster } from '../support/roster';
import { USER, expectScimError, scimClient, userBody } from '../support/scim';

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
    // A token this process has not seen authenticate is one of the active credentials:
    // it is served from the blocked address too, while a revoked one is refused unlooked.
    const fresh = await t.newOrganization('fresh-tenant');
    await from(t.app, attacker, fresh.token).expect(200);
    const gone = await t.roster.credentials.issue({ organizationId: fresh.org.id, name: 'gone' });
    await t.roster.credentials.revoke(gone.credential.id);
    expectTooMany(await from(t.app, attacker, gone.secret), 60);
    expect(lookups).not.toHaveBeenCalledWith(gone.secret);

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

  it('costs at most the budget in lookups when bad tokens arrive at the same time (generated batches)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 4 }), fc.array(fc.integer({ min: 1, max: 25 }), { minLength: 1, maxLength: 3 }), async (budget, batches) => {
        const app = createApp(
          { ...t.roster, rateLimits: createRateLimits({ rateLimitPerSecond: 0, rateLimitBurst: 1, authFailuresPerMinute: budget }) },
          silent,
        );
        const lookups = jest.spyOn(t.roster.credentials, 'authenticate');
        try {
          let n = 0;
          const statuses: number[] = [];
          for (const size of batches) {
            const batch = await Promise.all(Array.from({ length: size }, () => from(app, '192.0.2.201', `roster_burst_${++n}_${'y'.repeat(30)}`)));
            statuses.push(...batch.map((r) => r.status));
          }
          expect(lookups.mock.calls.length).toBeLessThanOrEqual(budget);
          expect(statuses.filter((s) => s === 401)).toHaveLength(lookups.mock.calls.length);
          expect(statuses.every((s) => s === 401 || s === 429)).toBe(true);
          // The identity provider's token from the same address is served all the same.
          await from(app, '192.0.2.201', t.token).expect(200);
        } finally {
          lookups.mockRestore();
        }
      }),
      { numRuns: 8 },
    );
  });

  it('counts the address the proxy added, not one a client wrote into X-Forwarded-For, with ROSTER_TRUST_PROXY=1', async () => {
    const behindOne = await startTestRoster({ authFailuresPerMinute: 2, trustProxy: 1, rateLimitPerSecond: 0 });
    try {
      const spoofed = (i: number) =>
        request(behindOne.app).get('/scim/v2/Users').set('X-Forwarded-For', `10.9.${i}.1, 203.0.113.50`).set('Authorization', `Bearer ${UNKNOWN}`);
      expectScimError(await spoofed(1), 401);
      expectScimError(await spoofed(2), 401);
      expectTooMany(await spoofed(3), 60);
    } finally {
      await behindOne.close();
    }
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
    const Operations = Array.from({ length: 12 }, (_, i) => ({
      method: 'POST',
      path: '/Users',
      bulkId: `u${i}`,
      data: userBody(`bulk.limited.${i}@example.com`),
    }));
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

describe('generated Bulk requests against a small limit', () => {
  let t: TestRoster;
  beforeAll(async () => {
    t = await startTestRoster({ rateLimitPerSecond: 0 });
  });
  afterAll(() => t.close());

  /** What an operation is, and the status it answers when it runs (each takes its point before it runs). */
  const KINDS = {
    create: '201',
    invalid: '400', // a POST without userName
    badPath: '400', // a path that is not /Users or /Groups
    missing: '404', // a DELETE of a user that does not exist
  } as const;
  type Kind = keyof typeof KINDS;
  const bulk = fc.array(fc.constantFrom<Kind>('create', 'create', 'invalid', 'badPath', 'missing'), { minLength: 1, maxLength: 20 });
  let run = 0;

  it('run at most the points of the window (the requests included), and answer 429 for every operation over them', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 2, max: 12 }), fc.array(bulk, { minLength: 1, maxLength: 4 }), async (burst, requests) => {
        run += 1;
        // A limiter of the run's own. 1/16 per second makes the window 16 × burst seconds
        // (points: burst), so no run comes near a window's end however slow the machine.
        const app = createApp(
          { ...t.roster, rateLimits: createRateLimits({ rateLimitPerSecond: 1 / 16, rateLimitBurst: burst, authFailuresPerMinute: 0 }) },
          silent,
        );
        const scim = scimClient(app, t.token);
        const prefix = `bulkprop.r${run}.`;
        let left = burst; // the model: points left in the window
        let used = 0; // points the server granted: requests answered, plus operations that ran
        let created = 0;
        for (const [r, kinds] of requests.entries()) {
          const Operations = kinds.map((kind, i) => {
            const bulkId = `r${r}o${i}`;
            if (kind === 'create') return { method: 'POST', path: '/Users', bulkId, data: userBody(`${prefix}${bulkId}@example.com`) };
            if (kind === 'invalid') return { method: 'POST', path: '/Users', bulkId, data: { schemas: [USER] } };
            if (kind === 'badPath') return { method: 'POST', path: '/Nope', bulkId, data: userBody(`${prefix}${bulkId}.nope@example.com`) };
            return { method: 'DELETE', path: '/Users/00000000-0000-4000-8000-000000000000' };
          });
          const res = await scim.post('/Bulk', { schemas: [BULK], Operations });
          if (left === 0) {
            // The request itself is over the limit: nothing runs.
            expectTooMany(res, 16 * burst);
            continue;
          }
          left -= 1;
          expect(res.status).toBe(200);
          used += 1;
          const results = res.body.Operations as { bulkId?: string; status: string; response?: { status: string; detail: string } }[];
          expect(results).toHaveLength(kinds.length);
          const expected = kinds.map((kind) => {
            if (left === 0) return '429';
            left -= 1;
            return KINDS[kind];
          });
          expect(results.map((o) => o.status)).toEqual(expected);
          for (const [i, o] of results.entries()) {
            if (o.status === '429') {
              expect(o.response).toMatchObject({ status: '429', detail: expect.stringMatching(/retry after \d+ s/) });
              continue;
            }
            used += 1;
            if (kinds[i] === 'create') created += 1;
          }
          expect(used).toBeLessThanOrEqual(burst);
        }
        // What the answers say ran is what ran: operations refused with 429 created nothing.
        const rows = await t.roster.database.orm.em
          .getConnection()
          .execute<{ n: number }[]>(`select count(*)::int as n from users where user_name like '${prefix}%'`);
        expect(rows[0].n).toBe(created);
      }),
      { numRuns: 8 },
    );
  });
});

describe('generated interleavings of bad tokens and a good token from one address', () => {
  let t: TestRoster;
  let revoked = '';
  beforeAll(async () => {
    t = await startTestRoster({ rateLimitPerSecond: 0, trustProxy: true });
    const issued = await t.roster.credentials.issue({ organizationId: t.org.id, name: 'revoked' });
    await t.roster.credentials.revoke(issued.credential.id);
    revoked = issued.secret;
  });
  afterAll(() => t.close());
  afterEach(() => jest.restoreAllMocks());

  type Attempt = { kind: 'good' } | { kind: 'bad'; token: string } | { kind: 'malformed'; header: string };
  const attempt: fc.Arbitrary<Attempt> = fc.oneof(
    { arbitrary: fc.constant({ kind: 'good' as const }), weight: 2 },
    // A revoked token still configured somewhere: a failure like any unknown one.
    { arbitrary: fc.constant(null).map(() => ({ kind: 'bad' as const, token: revoked })), weight: 1 },
    { arbitrary: fc.stringMatching(/^[A-Za-z0-9_-]{4,40}$/).map((s) => ({ kind: 'bad' as const, token: `roster_${s}` })), weight: 3 },
    {
      arbitrary: fc.constantFrom('Bearer a b', 'Basic dXNlcjpwYXNz', 'Bearer', 'bearer  two-spaces').map((header) => ({ kind: 'malformed' as const, header })),
      weight: 1,
    },
  );
  /** The forms one client address takes: an IPv4 address and its IPv4-mapped form, or addresses of one IPv6 /64. */
  const ADDRESSES = [
    ['192.0.2.10', '::ffff:192.0.2.10'],
    ['2001:db8:5:6::1', '2001:db8:5:6:ffff::2', '2001:0db8:0005:0006::9'],
  ];

  it('cost at most the budget in lookups for bad tokens, and a good token always gets 200', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.nat(ADDRESSES.length - 1),
        fc.array(fc.tuple(attempt, fc.nat()), { minLength: 1, maxLength: 25 }),
        async (budget, family, attempts) => {
          // Failed authentications counted by a limiter of the run's own (and a fresh list of known-good tokens).
          const app = createApp(
            { ...t.roster, rateLimits: createRateLimits({ rateLimitPerSecond: 0, rateLimitBurst: 1, authFailuresPerMinute: budget }) },
            silent,
          );
          const lookups = jest.spyOn(t.roster.credentials, 'authenticate');
          try {
            let failures = 0;
            for (const [a, form] of attempts) {
              const forms = ADDRESSES[family];
              const address = forms[form % forms.length];
              const header = a.kind === 'good' ? `Bearer ${t.token}` : a.kind === 'bad' ? `Bearer ${a.token}` : a.header;
              const res = await request(app).get('/scim/v2/Users?count=1').set('X-Forwarded-For', address).set('Authorization', header);
              if (a.kind === 'malformed') {
                expectScimError(res, 401); // no lookup, not counted
              } else if (a.kind === 'good') {
                // An active credential is served from a blocked address too, seen before or not.
                expect(res.status).toBe(200);
              } else if (failures < budget) {
                expectScimError(res, 401);
                failures += 1;
              } else {
                expectTooMany(res, 60);
              }
            }
            const badLookups = lookups.mock.calls.filter(([token]) => token !== t.token).length;
            expect(badLookups).toBeLessThanOrEqual(budget);
            expect(badLookups).toBe(failures);
          } finally {
            lookups.mockRestore();
          }
        },
      ),
      { numRuns: 10 },
    );
  });
});
