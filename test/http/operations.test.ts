import { Writable } from 'node:stream';
import pino from 'pino';
import request from 'supertest';
import { migrations } from '../../migrations';
import { createApp } from '../../src/app';
import { startTestRoster, type TestRoster } from '../support/roster';
import { expectScimError, scimClient, userBody } from '../support/scim';

let t: TestRoster;
const METRICS_TOKEN = 'metrics-token-0123456789';
beforeAll(async () => {
  t = await startTestRoster({ rateLimitPerSecond: 1, rateLimitBurst: 3, metricsToken: METRICS_TOKEN });
});
afterAll(() => t.close());

describe('rate limiting per credential', () => {
  it('answers 429 with an integer Retry-After and a SCIM body past the burst, and spares other credentials', async () => {
    const scim = scimClient(t.app, t.token);
    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await scim.get('/Users?count=1')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
    const refused = await scim.get('/Users?count=1');
    expectScimError(refused, 429);
    expect(refused.headers['retry-after']).toMatch(/^\d+$/);
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    const other = await t.newOrganization('other-tenant');
    await scimClient(t.app, other.token).get('/Users').expect(200);
  });
});

describe('operations endpoints', () => {
  it('answers /healthz with 200 and /readyz with 200 once the database answers and holds every migration', async () => {
    expect((await request(t.app).get('/healthz').expect(200)).body).toEqual({ status: 'ok' });
    const latest = migrations[migrations.length - 1].name;
    const forget = () => t.roster.database.pool.query(`delete from roster_migrations where name = '${latest}'`);
    const restore = () => t.roster.database.pool.query(`insert into roster_migrations (name, executed_at) values ('${latest}', now())`);
    // A database that lacks a migration this build knows is not ready (an older schema).
    await forget();
    expect((await request(t.app).get('/readyz').expect(503)).body).toEqual({ status: 'not ready', database: true, migrations: false });
    await restore();
    expect((await request(t.app).get('/readyz').expect(200)).body).toEqual({ status: 'ready', database: true, migrations: true });
    // Once passed, the migration check is not asked again: readiness is one ping.
    await forget();
    try {
      await request(t.app).get('/readyz').expect(200);
    } finally {
      await restore();
    }
  });

  it('serves Prometheus metrics behind their own token, labelled by route pattern', async () => {
    const other = await t.newOrganization('metrics-tenant');
    const scim = scimClient(t.app, other.token);
    const { id } = (await scim.post('/Users', userBody('metrics.user@example.com')).expect(201)).body;
    await scim.get(`/Users/${id}`).expect(200);
    await request(t.app).get('/metrics').expect(401);
    const res = await request(t.app).get('/metrics').set('Authorization', `Bearer ${METRICS_TOKEN}`).expect(200);
    expect(res.text).toMatch(/roster_http_requests_total\{method="GET",route="\/scim\/v2\/Users\/:id",status="200"\} 1/);
    expect(res.text).toMatch(/roster_http_request_duration_seconds_bucket/);
    expect(res.text).toMatch(/roster_rate_limited_total [1-9]/);
    expect(res.text).toMatch(/roster_db_pool_used \d+/);
    expect(res.text).not.toContain(id);
  });

  it('sends security headers and no framework banner', async () => {
    const res = await request(t.app).get('/healthz');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    expect(res.headers['x-powered-by']).toBeUndefined();
    expect(res.headers['content-security-policy']).toMatch(/default-src 'none'/);
  });

  it('sends the same security headers on SCIM responses, errors included', async () => {
    const other = await t.newOrganization('headers-tenant');
    for (const res of [await scimClient(t.app, other.token).get('/Users?count=1').expect(200), await request(t.app).get('/scim/v2/Users').expect(401)]) {
      expect(res.headers['x-content-type-options']).toBe('nosniff');
      expect(res.headers['x-frame-options']).toBe('DENY');
      expect(res.headers['referrer-policy']).toBe('no-referrer');
      expect(res.headers['strict-transport-security']).toMatch(/max-age=31536000; includeSubDomains/);
      expect(res.headers['content-security-policy']).toMatch(/default-src 'none'.*frame-ancestors 'none'/);
      expect(res.headers['x-request-id']).toMatch(/^[0-9a-f-]{36}$/);
    }
  });
});

describe('request logs', () => {
  it('write one structured line per request, with no token, password or query in it', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(...String(chunk).trim().split('\n'));
        done();
      },
    });
    const other = await t.newOrganization('logged-tenant');
    const app = createApp(t.roster, pino({ level: 'info' }, sink));
    const scim = scimClient(app, other.token);
    const password = 'Sup3r-Secret-Passw0rd!';
    await scim.post('/Users', userBody('logged.user@example.com', { password })).expect(201);
    await scim.get(`/Users?filter=${encodeURIComponent('userName eq "logged.user@example.com"')}`).expect(200);
    await request(app).get('/scim/v2/Users').set('Authorization', 'Bearer wrong-token-wrong-token').expect(401);
    await new Promise((resolve) => setImmediate(resolve));
    const text = lines.join('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) {
      const entry = JSON.parse(line);
      expect(entry).toMatchObject({
        msg: 'request',
        requestId: expect.any(String),
        method: expect.any(String),
        status: expect.any(Number),
        ms: expect.any(Number),
      });
    }
    expect(JSON.parse(lines[0])).toMatchObject({ route: '/scim/v2/Users', status: 201, organizationId: expect.any(String), credentialId: expect.any(String) });
    expect(JSON.parse(lines[0]).errorCode).toBeUndefined();
    // A refusal names its stable code, so an operator can tell one cause from another.
    expect(JSON.parse(lines[2])).toMatchObject({ status: 401, errorCode: 'auth.token_rejected' });
    for (const secret of [other.token, password, 'wrong-token', 'logged.user@example.com']) expect(text).not.toContain(secret);
  });
});
