import fc from 'fast-check';
import request from 'supertest';
import { createAdmin, signIn, type ConsoleSession } from '../support/console';
import { startTestRoster, type TestRoster } from '../support/roster';
import { scimClient, userBody } from '../support/scim';

/**
 * Hostile input to every console API route: random query parameters, path segments,
 * JSON bodies of any shape, bodies that are not JSON. No answer is a 500; every refusal
 * is the console's error body with a dotted code.
 */

let t: TestRoster;
let admin: ConsoleSession;
let userId: string;

beforeAll(async () => {
  t = await startTestRoster();
  userId = (await scimClient(t.app, t.token).post('/Users', userBody('fuzz.target@acme.example')).expect(201)).body.id;
  await createAdmin(t.roster, 'fuzz@example.com');
  admin = await signIn(t.app, 'fuzz@example.com');
});
afterAll(() => t.close());

const hostile = fc.oneof(
  fc.string({ maxLength: 40 }),
  fc.constantFrom(
    '',
    ' ',
    '%',
    '%00',
    '../..',
    '"',
    "'; drop table users; --",
    'userName eq',
    '((((',
    'a'.repeat(5000),
    '-1',
    '1e9',
    '99999999999999999999',
    '\u0000',
    '\ud800',
    'NaN',
    '[]',
    '{}',
  ),
);

function expectRefusalOrSuccess(res: request.Response, what: string): void {
  if (res.status >= 500) throw new Error(`${what} -> ${res.status} ${JSON.stringify(res.body)}`);
  if (res.status >= 400)
    expect(res.body.error).toEqual({ status: res.status, code: expect.stringMatching(/^[a-z_]+\.[a-z_.]+$/), message: expect.any(String) });
}

describe('console API fuzzing', () => {
  it('never answers 500 to hostile query parameters', async () => {
    const params = fc.dictionary(
      fc.constantFrom('q', 'filter', 'state', 'sortBy', 'sortOrder', 'startIndex', 'count', 'before', 'status', 'client', 'since', 'limit'),
      hostile,
      { maxKeys: 4 },
    );
    const routes = fc.constantFrom(
      '/orgs/acme/users',
      '/orgs/acme/groups',
      '/orgs/acme/audit',
      `/orgs/acme/groups/${userId}`,
      '/orgs/acme/receivers',
      '/orgs/acme/requests',
    );
    await fc.assert(
      fc.asyncProperty(routes, params, async (route, query) => {
        const res = await admin.agent.get(`/admin/api${route}`).query(query);
        expectRefusalOrSuccess(res, `GET ${route} ${JSON.stringify(query)}`);
      }),
      { numRuns: 200 },
    );
  });

  it('never answers 500 to hostile path segments', async () => {
    // A lone surrogate cannot be percent-encoded as UTF-8: it goes as the bytes of one (invalid UTF-8).
    const encode = (s: string) => {
      try {
        return encodeURIComponent(s);
      } catch {
        return '%ED%A0%80';
      }
    };
    const segment = hostile.map((s) => encode(s).slice(0, 300) || 'x');
    const route = fc.constantFrom(
      '/orgs/S/users/S',
      '/orgs/acme/users/S',
      '/orgs/acme/groups/S',
      '/orgs/S/connection',
      '/orgs/acme/users/S/actions/S',
      '/orgs/acme/tokens/S/revoke',
      '/orgs/acme/requests/S',
    );
    await fc.assert(
      fc.asyncProperty(route, segment, segment, async (pattern, a, b) => {
        const url = pattern.replace('S', a).replace('S', b);
        const res = pattern.includes('actions') || pattern.includes('revoke') ? await admin.post(url, {}) : await admin.get(url);
        expectRefusalOrSuccess(res, url);
      }),
      { numRuns: 200 },
    );
  });

  it('never answers 500 to JSON bodies of any shape, or to bodies that are not JSON', async () => {
    const routes = fc.constantFrom(
      '/orgs/acme/tokens',
      `/orgs/acme/users/${userId}/actions/changeRoles`,
      `/orgs/acme/users/${userId}/actions/requireMfaReset`,
      '/session',
    );
    await fc.assert(
      fc.asyncProperty(routes, fc.jsonValue({ maxDepth: 3 }), async (route, body) => {
        const res = await admin.agent
          .post(`/admin/api${route}`)
          .set('X-CSRF-Token', admin.csrf)
          .set('Content-Type', 'application/json')
          .send(JSON.stringify(body));
        expectRefusalOrSuccess(res, `POST ${route} ${JSON.stringify(body)}`);
      }),
      { numRuns: 200 },
    );
    for (const raw of ['{', '{"name":', '\u0000', 'null', '[1,2', '"x"', '{"a":'.repeat(2000)]) {
      const res = await admin.agent.post('/admin/api/orgs/acme/tokens').set('X-CSRF-Token', admin.csrf).set('Content-Type', 'application/json').send(raw);
      expectRefusalOrSuccess(res, raw.slice(0, 20));
    }
    const huge = await admin.agent
      .post('/admin/api/orgs/acme/tokens')
      .set('X-CSRF-Token', admin.csrf)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify({ name: 'x'.repeat(100_000) }));
    expect(huge.status).toBe(413);
  });

  it('never answers 500 to hostile sign-ins, and never signs one in', async () => {
    const field = fc.oneof(hostile, fc.jsonValue({ maxDepth: 2 }));
    await fc.assert(
      fc.asyncProperty(field, field, async (email, password) => {
        const res = await request(t.app).post('/admin/api/session').set('X-Forwarded-For', '10.9.8.7').send({ email, password });
        expectRefusalOrSuccess(res, JSON.stringify({ email, password }));
        expect(res.status).not.toBe(200);
      }),
      { numRuns: 60 },
    );
  });
});
