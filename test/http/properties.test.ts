import fc from 'fast-check';
import request from 'supertest';
import { startTestRoster, type TestRoster } from '../support/roster';
import { ENTERPRISE, GROUP, ROSTER, USER, patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

/**
 * Hostile and generated input: whatever a client sends, the answer is a SCIM 4xx or a
 * correct result, never a 500, and a refused request stores nothing.
 */
let t: TestRoster;
let scim: ScimClient;
let userId: string;

beforeAll(async () => {
  t = await startTestRoster({ rateLimitPerSecond: 0 });
  scim = scimClient(t.app, t.token);
  userId = (await scim.post('/Users', userBody('prop.target@example.com', { title: 'Original' })).expect(201)).body.id;
});
afterAll(() => t.close());

const CLIENT_ERRORS = new Set([400, 403, 404, 409, 412, 413]);
const expectClientErrorOrSuccess = (res: request.Response, successes: number[]) => {
  if (!successes.includes(res.status)) {
    expect(CLIENT_ERRORS.has(res.status) ? 'a SCIM client error' : `${res.status} ${JSON.stringify(res.body)}`).toBe('a SCIM client error');
    expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
  }
};

const attribute = fc.constantFrom(
  'userName',
  'USERNAME',
  'name.givenName',
  'emails',
  'emails.value',
  'emails.type',
  'active',
  'title',
  'meta.created',
  'meta.lastModified',
  'externalId',
  'groups.value',
  `${ENTERPRISE}:department`,
  `${ENTERPRISE}:manager.value`,
  `${ROSTER}:systemRole`,
  `${ROSTER}:customTqlTimeout`,
  'nosuch',
  'id',
  "x'; drop table users; --",
);
const operator = fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'EQ', 'xx', 'pr');
const value = fc.oneof(
  fc.string({ maxLength: 12 }).map((s) => JSON.stringify(s)),
  fc.constantFrom('true', 'false', 'null', '42', '-1.5', '"2020-01-01T00:00:00Z"', "'single'", '"\\u0041"', '"%_\\\\"', '"\\"quoted\\""'),
);
const comparison = fc.tuple(attribute, operator, value).map(([a, o, v]) => (o === 'pr' ? `${a} pr` : `${a} ${o} ${v}`));
const filter: fc.Arbitrary<string> = fc.letrec((tie) => ({
  node: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    comparison,
    fc.tuple(tie('node'), fc.constantFrom('and', 'or', 'AND', 'or or'), tie('node')).map(([a, j, b]) => `${a} ${j} ${b}`),
    tie('node').map((f) => `not (${f})`),
    tie('node').map((f) => `(${f})`),
    comparison.map((c) => `emails[${c.replace(/^\S+/, 'type')}]`),
  ),
})).node as fc.Arbitrary<string>;

describe('generated filters', () => {
  it('answer 200 or 400 invalidFilter/invalidValue, never a 500', async () => {
    await fc.assert(
      fc.asyncProperty(fc.oneof(filter, fc.string({ maxLength: 60 }), fc.string({ unit: 'binary', maxLength: 30 })), async (text) => {
        const res = await scim.get(`/Users?filter=${encodeURIComponent(text)}`);
        if (res.status === 200) {
          expect(res.body.totalResults).toBeGreaterThanOrEqual(0);
        } else {
          expect(res.status).toBe(400);
          expect(['invalidFilter', 'invalidValue']).toContain(res.body.scimType);
        }
      }),
      { numRuns: 200 },
    );
  });
});

const pathArb = fc.oneof(
  attribute,
  fc.constantFrom('emails[type eq "work"].value', 'emails[type eq "work"]', 'members', 'name', `${ENTERPRISE}:manager`, ENTERPRISE, 'emails[', 'a..b', ''),
  fc.string({ maxLength: 20 }),
);
const jsonValue = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('True', 'False', '', 'x'.repeat(300), { value: 'x' }, [{ value: 'y', type: 'work' }]),
);
const operation = fc.record(
  {
    op: fc.oneof(fc.constantFrom('add', 'replace', 'remove', 'Replace', 'ADD'), fc.string({ maxLength: 8 })),
    path: pathArb,
    value: jsonValue,
  },
  { requiredKeys: ['op'] },
);

describe('generated PATCH bodies', () => {
  it('answer a success or a SCIM 4xx, and a refused PATCH changes nothing', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(operation, { minLength: 1, maxLength: 4 }), fc.boolean(), async (operations, wellFormed) => {
        // supertest serves each request on a new port: compare all but meta.location.
        const stored = async () => {
          const body = (await scim.get(`/Users/${userId}`).expect(200)).body;
          delete body.meta.location;
          return body;
        };
        const before = await stored();
        const body = wellFormed ? patchOp(...operations) : { Operations: operations };
        const res = await scim.patch(`/Users/${userId}`, body);
        expectClientErrorOrSuccess(res, [204]);
        if (res.status !== 204) expect(await stored()).toEqual(before);
      }),
      { numRuns: 150 },
    );
  });
});

describe('hostile bodies', () => {
  it('never store anything or answer 500, whatever JSON comes', async () => {
    const countBefore = (await scim.get('/Users?count=0')).body.totalResults;
    let created = 0;
    await fc.assert(
      fc.asyncProperty(fc.oneof(fc.anything(), fc.object(), fc.record({ schemas: fc.constant([USER]), userName: fc.anything() })), async (body) => {
        const res = await request(t.app)
          .post('/scim/v2/Users')
          .set('Authorization', `Bearer ${t.token}`)
          .set('Content-Type', 'application/scim+json')
          .send(JSON.stringify(body ?? null) ?? 'null');
        expectClientErrorOrSuccess(res, [201]);
        if (res.status === 201) created += 1;
      }),
      { numRuns: 150 },
    );
    expect((await scim.get('/Users?count=0')).body.totalResults).toBe(countBefore + created);
  });

  it.each([
    ['truncated JSON', '{"schemas":["urn:ietf:params:scim:schemas:core:2.0:User"],"userName":"tr'],
    ['a NUL character', JSON.stringify(userBody('nul\u0000byte@example.com'))],
    ['deep nesting', `{"schemas":["${USER}"],"userName":"deep@example.com","name":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}`],
    ['a huge externalId', JSON.stringify(userBody('huge.ext@example.com', { externalId: 'e'.repeat(5000) }))],
    ['a huge userName', JSON.stringify(userBody(`${'u'.repeat(5000)}@example.com`))],
    ['a look-alike userName (Cyrillic а)', JSON.stringify(userBody('\u0430dmin@example.com'))],
    ['a fullwidth userName', JSON.stringify(userBody('ａｄｍｉｎ@example.com'))],
    ['a zero-width space', JSON.stringify(userBody('ad\u200bmin@example.com'))],
    ['wrong JSON types', JSON.stringify({ schemas: USER, userName: ['a'], emails: 'x' })],
    ['an unknown schema', JSON.stringify({ schemas: ['urn:evil:2.0:User'], userName: 'evil@example.com' })],
  ])('refuse %s with a SCIM 4xx and store nothing', async (_name, raw) => {
    const before = (await scim.get('/Users?count=0')).body.totalResults;
    const res = await request(t.app).post('/scim/v2/Users').set('Authorization', `Bearer ${t.token}`).set('Content-Type', 'application/scim+json').send(raw);
    expect(res.status).toBeGreaterThanOrEqual(400);
    expect(res.status).toBeLessThan(500);
    expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    expect((await scim.get('/Users?count=0')).body.totalResults).toBe(before);
  });

  it('answers SQL fragments and quotes in ids and filters with 404 or 400', async () => {
    for (const id of ["1' or '1'='1", '00000000-0000-4000-8000-000000000000; drop table users', '%00', '..%2F..%2Fetc']) {
      expect([400, 404]).toContain((await scim.get(`/Users/${encodeURIComponent(id)}`)).status);
      expect([400, 404]).toContain((await scim.delete(`/Groups/${encodeURIComponent(id)}`)).status);
    }
    const res = await scim.get(`/Users?filter=${encodeURIComponent(`userName eq "x\\" or 1=1 --"`)}`).expect(200);
    expect(res.body.totalResults).toBe(0);
  });
});

describe('tenant isolation', () => {
  it('never shows one organization an id, userName or count of the other', async () => {
    const a = await t.newOrganization('iso-a');
    const b = await t.newOrganization('iso-b');
    const clients = { a: scimClient(t.app, a.token), b: scimClient(t.app, b.token) };
    const owned = { a: new Set<string>(), b: new Set<string>() };
    const step = fc.record({
      who: fc.constantFrom('a' as const, 'b' as const),
      kind: fc.constantFrom('createUser', 'createGroup', 'list', 'filter', 'get', 'patch', 'delete', 'search'),
      name: fc.stringMatching(/^[a-z]{1,8}$/),
      pick: fc.nat(),
    });
    let serial = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(step, { minLength: 5, maxLength: 25 }), async (steps) => {
        for (const s of steps) {
          const me = clients[s.who];
          const other = s.who === 'a' ? 'b' : 'a';
          const theirs = [...owned[other]];
          const target = theirs.length > 0 ? theirs[s.pick % theirs.length] : '00000000-0000-4000-8000-000000000000';
          let res: request.Response;
          switch (s.kind) {
            case 'createUser': {
              const userName = `${s.name}.${++serial}@${s.who}.iso`;
              res = await me.post('/Users', userBody(userName));
              if (res.status === 201) owned[s.who].add(res.body.id).add(userName);
              break;
            }
            case 'createGroup':
              res = await me.post('/Groups', { schemas: [GROUP], displayName: `${s.name} ${++serial}`, members: theirs.length > 0 ? [{ value: target }] : [] });
              if (res.status === 201) owned[s.who].add(res.body.id);
              break;
            case 'list':
              res = await me.get('/Users?count=1000');
              expect(res.body.totalResults).toBe(res.body.Resources.length);
              break;
            case 'filter':
              res = await me.get(`/Users?filter=${encodeURIComponent(`userName sw "${s.name}" or userName ew ".iso"`)}`);
              break;
            case 'search':
              res = await me.post('/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'id pr' });
              break;
            case 'get':
              res = await me.get(`/Users/${target}`);
              expect(res.status).toBe(404);
              break;
            case 'patch':
              res = await me.patch(`/Users/${target}`, patchOp({ op: 'replace', path: 'title', value: 'x' }));
              expect(res.status).toBe(404);
              break;
            default:
              res = await me.delete(`/Groups/${target}`);
              expect(res.status).toBe(404);
          }
          const text = JSON.stringify(res.body ?? {});
          for (const secret of owned[other]) expect(text.includes(secret) ? `${s.kind} leaked ${secret}` : 'clean').toBe('clean');
        }
      }),
      { numRuns: 15 },
    );
  });
});
