import fc from 'fast-check';
import { createLocalJWKSet, jwtVerify, type JSONWebKeySet } from 'jose';
import request from 'supertest';
import { EVENT_URIS } from '../../src/domain/events';
import { startTestRoster, type TestRoster } from '../support/roster';
import { patchOp, scimClient, userBody } from '../support/scim';

const POLL = '/scim/v2/Events/poll';

let t: TestRoster;
let globexToken: string;
let userId: string;

beforeAll(async () => {
  t = await startTestRoster();
  globexToken = (await t.newOrganization('globex')).token;
  const scim = scimClient(t.app, t.token);
  userId = (await scim.post('/Users', userBody('ada.lovelace@acme.example')).expect(201)).body.id;
  await scim.patch(`/Users/${userId}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(204);
});
afterAll(() => t.close());

const poll = (body: unknown, token = t.token) =>
  request(t.app).post(POLL).set('Authorization', `Bearer ${token}`).set('Content-Type', 'application/json').send(JSON.stringify(body));

interface PollBody {
  sets: Record<string, string>;
  moreAvailable: boolean;
}

async function polled(body: unknown, token = t.token): Promise<PollBody> {
  const res = await poll(body, token).expect(200);
  expect(res.headers['content-type']).toMatch(/^application\/json/);
  return res.body as PollBody;
}

describe('poll delivery (RFC 8936) at POST /scim/v2/Events/poll', () => {
  let jtis: string[];

  it('returns the SETs oldest first, signed with a key of the JWKS, with the expected claims', async () => {
    const body = await polled({});
    jtis = Object.keys(body.sets);
    expect(jtis).toEqual([expect.stringMatching(new RegExp(`^${t.org.id}\\.\\d+$`)), expect.stringMatching(/\.\d+$/)]);
    expect(body.moreAvailable).toBe(false);
    const jwks = createLocalJWKSet((await request(t.app).get('/.well-known/jwks.json').expect(200)).body as JSONWebKeySet);
    const claims = [];
    for (const jti of jtis) {
      const { payload, protectedHeader } = await jwtVerify(body.sets[jti], jwks, { typ: 'secevent+jwt' });
      expect(protectedHeader.alg).toBe('ES256');
      expect(payload.jti).toBe(jti);
      claims.push(payload);
    }
    const issuer = claims[0].iss as string;
    expect(issuer).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/scim\/v2$/);
    for (const c of claims) {
      expect(c.iss).toBe(issuer);
      expect(c.aud).toBe(`${issuer}/Events/poll`);
      expect(c.sub_id).toEqual({ format: 'scim', uri: `/Users/${userId}`, id: userId });
    }
    expect(Object.keys(claims[0].events as object)).toEqual([EVENT_URIS.createNotice]);
    expect(Object.keys(claims[1].events as object)).toEqual([EVENT_URIS.patchNotice, EVENT_URIS.deactivate]);
  });

  it('returns unacknowledged SETs again, with the same jtis', async () => {
    expect(Object.keys((await polled({})).sets)).toEqual(jtis);
  });

  it('honours maxEvents, with moreAvailable', async () => {
    const body = await polled({ maxEvents: 1 });
    expect(Object.keys(body.sets)).toEqual([jtis[0]]);
    expect(body.moreAvailable).toBe(true);
  });

  it('ignores a token of another organization: none of these events, and its acks change nothing', async () => {
    const foreign = await polled({ ack: jtis, setErrs: { [jtis[1]]: { err: 'jwtAud', description: 'x' } } }, globexToken);
    expect(foreign).toEqual({ sets: {}, moreAvailable: false });
    expect(Object.keys((await polled({})).sets)).toEqual(jtis);
  });

  it('acknowledges one (ack with maxEvents 0), then only the other comes back', async () => {
    expect(await polled({ ack: [jtis[0]], maxEvents: 0 })).toEqual({ sets: {}, moreAvailable: true });
    const body = await polled({});
    expect(Object.keys(body.sets)).toEqual([jtis[1]]);
    expect(body.moreAvailable).toBe(false);
  });

  it('counts setErrs as acknowledged: nothing is left', async () => {
    expect(await polled({ setErrs: { [jtis[1]]: { err: 'invalid_key', description: 'unknown kid' } } })).toEqual({ sets: {}, moreAvailable: false });
    expect(await polled({ ack: jtis })).toEqual({ sets: {}, moreAvailable: false });
  });

  it('waits for a new event when returnImmediately is false', async () => {
    const started = Date.now();
    const [body] = await Promise.all([
      polled({ returnImmediately: false }),
      new Promise((resolve) => setTimeout(resolve, 300)).then(() =>
        scimClient(t.app, t.token).post('/Users', userBody('grace.hopper@acme.example')).expect(201),
      ),
    ]);
    expect(Object.keys(body.sets)).toHaveLength(1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await polled({ ack: Object.keys(body.sets), maxEvents: 0 });
  });

  it('refuses a request without a valid token with 401', async () => {
    await request(t.app).post(POLL).set('Content-Type', 'application/json').send('{}').expect(401);
    await poll({}, 'not-a-token-at-all').expect(401);
  });

  it.each([
    ['ack not an array', { ack: 'x' }],
    ['an ack that is not a string', { ack: [1] }],
    ['maxEvents -1', { maxEvents: -1 }],
    ['maxEvents 1e9', { maxEvents: 1e9 }],
    ['maxEvents "x"', { maxEvents: 'x' }],
    ['maxEvents 1.5', { maxEvents: 1.5 }],
    ['returnImmediately "yes"', { returnImmediately: 'yes' }],
    ['setErrs an array', { setErrs: [] }],
    ['a setErrs entry without err', { setErrs: { a: { description: 'x' } } }],
    ['a body that is an array', []],
    ['a body that is a string', 'poll'],
    ['a body that is null', null],
  ])('answers 400 invalid_request for %s', async (_name, body) => {
    const res = await poll(body).expect(400);
    expect(res.body).toEqual({ err: 'invalid_request', description: expect.any(String) });
  });

  it('answers 400 for a body that is not JSON, 415 for another content type, 405 for GET', async () => {
    const broken = await request(t.app).post(POLL).set('Authorization', `Bearer ${t.token}`).set('Content-Type', 'application/json').send('{"ack": [');
    expect(broken.status).toBe(400);
    expect(broken.body.err).toBe('invalid_request');
    const text = await request(t.app).post(POLL).set('Authorization', `Bearer ${t.token}`).set('Content-Type', 'text/plain').send('{}');
    expect(text.status).toBe(415);
    const get = await request(t.app).get(POLL).set('Authorization', `Bearer ${t.token}`);
    expect(get.status).toBe(405);
    expect(get.headers.allow).toBe('POST');
  });

  it('never answers 500 to hostile bodies', async () => {
    const value = fc.oneof(fc.jsonValue(), fc.constantFrom(-1, 1e9, 1001, 0, 1000, 'x', null, [], {}, [`${t.org.id}.1`], { [`${t.org.id}.9`]: { err: 'e' } }));
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record({ ack: value, setErrs: value, maxEvents: value, returnImmediately: fc.constantFrom(true, undefined, 'x', 0) }, { requiredKeys: [] }),
    );
    await fc.assert(
      fc.asyncProperty(body, async (b) => {
        const res = await poll(b);
        expect([200, 400]).toContain(res.status);
        if (res.status === 400) expect(res.body.err).toBe('invalid_request');
      }),
      { numRuns: 60 },
    );
  });
});
