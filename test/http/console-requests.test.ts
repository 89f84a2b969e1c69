import fc from 'fast-check';
import { createAdmin, signIn, type ConsoleSession } from '../support/console';
import { startTestRoster, type TestRoster } from '../support/roster';
import { scimClient, userBody } from '../support/scim';

/**
 * The console's Requests API: the request log of the administrator's organization,
 * newest first, with the CLI's filters, and one entry with its redacted bodies, its
 * changes and the refusing rule in words.
 */

const OKTA = 'Okta SCIM Client 1.0.0';
const PASSWORD = 'Sup3r-Secret-Passw0rd!';
const ENTRA = 'Microsoft.Azure.AD.Provisioning.Service/1.0';

let t: TestRoster;
let admin: ConsoleSession;
let refusedId: string;
let createdId: string;

interface Row {
  id: string;
  status: number;
  client: string;
  method: string;
  path: string;
  credentialName: string | null;
  refusedBy: string | null;
}

beforeAll(async () => {
  t = await startTestRoster();
  await createAdmin(t.roster, 'admin@acme.example', { org: 'acme' });
  admin = await signIn(t.app, 'admin@acme.example');
  const { secret } = await t.roster.credentials.issue({
    organizationId: t.org.id,
    systemRole: 'Api User',
    organizationRole: 'Standard User',
    name: 'okta-readonly',
  });
  const refused = await scimClient(t.app, secret)
    .post('/Users', userBody('refused@acme.example', { password: PASSWORD }))
    .set('User-Agent', OKTA)
    .expect(403);
  const created = await scimClient(t.app, t.token).post('/Users', userBody('created@acme.example')).set('User-Agent', ENTRA).expect(201);
  await t.roster.requestLog.writer?.flush();
  const all = (await t.roster.requestLog.reader.list(t.org.id, { limit: 100 })).filter((e) => e.operation === undefined);
  refusedId = all.find((e) => e.requestId === refused.headers['x-request-id'])!.id;
  createdId = all.find((e) => e.requestId === created.headers['x-request-id'])!.id;
});
afterAll(() => t.close());

const list = async (search = '') => (await admin.get(`/orgs/acme/requests${search}`).expect(200)).body.requests as Row[];

describe('console Requests API', () => {
  it('lists the organization’s requests newest first, each refusal with its rule in words', async () => {
    const rows = await list();
    expect(rows.map((r) => r.id).slice(0, 2)).toEqual([createdId, refusedId]);
    expect(rows[1]).toMatchObject({ method: 'POST', path: '/scim/v2/Users', status: 403, client: 'okta', credentialName: 'okta-readonly' });
    expect(rows[1].refusedBy).toMatch(/^user\.manage_forbidden \(rule 1\. who may manage users: .*Organization Administrator/);
    expect(rows[0]).toMatchObject({ status: 201, client: 'entra', refusedBy: null });
  });

  it('filters by status (one or a class) and by client', async () => {
    expect((await list('?status=403')).map((r) => r.id)).toEqual([refusedId]);
    expect((await list('?status=4xx&client=okta')).map((r) => r.id)).toEqual([refusedId]);
    expect((await list('?status=5xx')).map((r) => r.id)).toEqual([]);
    expect((await list('?client=entra')).map((r) => r.id)).toEqual([createdId]);
    expect((await list('?status=&client=')).length).toBeGreaterThanOrEqual(2);
    expect(await list('?limit=1')).toHaveLength(1);
    expect(await list(`?since=${new Date(Date.now() + 60_000).toISOString()}`)).toEqual([]);
  });

  it.each([
    ['status=600', 'status takes a status such as 403, or a class: 4xx or 5xx'],
    ['status=4xz', 'status takes a status such as 403, or a class: 4xx or 5xx'],
    ['client=netscape', 'client takes okta, entra, other'],
    ['since=yesterday', 'since takes an ISO 8601 date or time, e.g. 2026-01-31 or 2026-01-31T08:00:00Z'],
    ['limit=0', 'limit takes a whole number from 1 to 1000'],
    ['limit=1001', 'limit takes a whole number from 1 to 1000'],
    ['status=4xx&status=5xx', 'status must be given once'],
  ])('refuses a bad filter (%s) with 400 and what it takes', async (search, message) => {
    const res = await admin.get(`/orgs/acme/requests?${search}`).expect(400);
    expect(res.body.error).toEqual({ status: 400, code: 'console.parameter_invalid', message });
  });

  it('opens a refused request: the rule in words, the redacted request body, no change', async () => {
    const { request } = (await admin.get(`/orgs/acme/requests/${refusedId}`).expect(200)).body;
    expect(request).toMatchObject({ id: refusedId, status: 403, detail: expect.stringContaining('Api User'), changes: [] });
    expect(request.refusedBy).toContain('(rule 1. who may manage users: ');
    expect(JSON.parse(request.requestBody).userName).toBe('refused@acme.example');
    expect(JSON.parse(request.requestBody).password).toBe('[redacted]');
    expect(JSON.stringify(request)).not.toContain(PASSWORD);
    expect(JSON.parse(request.responseBody).status).toBe('403');
  });

  it('opens a successful write with its changes before → after', async () => {
    const { request } = (await admin.get(`/orgs/acme/requests/${createdId}`).expect(200)).body;
    expect(request.changes).toEqual([
      expect.objectContaining({
        resourceType: 'User',
        action: 'created',
        changes: expect.arrayContaining([{ attribute: 'userName', after: 'created@acme.example' }]),
      }),
    ]);
  });

  it('answers an unknown or malformed id, and another organization’s entry, with the same 404', async () => {
    const other = await t.newOrganization('globex');
    await scimClient(t.app, other.token).get('/Users').expect(200);
    await t.roster.requestLog.writer?.flush();
    const theirs = (await t.roster.requestLog.reader.list(other.org.id, { limit: 1 }))[0].id;
    const bodies = [];
    for (const id of [theirs, '999999999', 'not-an-id']) bodies.push((await admin.get(`/orgs/acme/requests/${id}`).expect(404)).body);
    expect(bodies[0]).toEqual({ error: { status: 404, code: 'request_log.not_found', message: 'Request not found' } });
    expect(new Set(bodies.map((b) => JSON.stringify(b))).size).toBe(1);
    expect((await list()).map((r) => r.id)).not.toContain(theirs);
    // Its own successful read (stored with the other reads of its batch) opens; ids in other spellings never err.
    await scimClient(t.app, t.token).get('/Users?count=1').expect(200);
    await t.roster.requestLog.writer?.flush();
    const ours = (await t.roster.requestLog.reader.list(t.org.id, { limit: 50 })).find((e) => e.method === 'GET' && e.status === 200);
    expect((await admin.get(`/orgs/acme/requests/${ours!.id}`).expect(200)).body.request).toMatchObject({ id: ours!.id, method: 'GET', status: 200 });
    expect((await admin.get(`/orgs/acme/requests/000${ours!.id}`).expect(200)).body.request).toMatchObject({ id: ours!.id });
    for (const id of ['0', '9'.repeat(18), '9'.repeat(19), '-1', '1e3']) await admin.get(`/orgs/acme/requests/${id}`).expect(404);
  });

  it('never answers 500 to hostile filters', async () => {
    const value = fc.oneof(
      fc.string({ maxLength: 30 }),
      fc.constantFrom('4xx', '403', '9xx', 'okta', '2026-01-31', '2026-02-30', '1e3', '-1', '%', '\u0000', '\ud800', 'x'.repeat(100)),
    );
    const params = fc.dictionary(fc.constantFrom('status', 'client', 'since', 'limit'), value, { maxKeys: 4 });
    await fc.assert(
      fc.asyncProperty(params, async (query) => {
        const res = await admin.agent.get('/admin/api/orgs/acme/requests').query(query);
        if (res.status >= 500) throw new Error(`${JSON.stringify(query)} -> ${res.status} ${JSON.stringify(res.body)}`);
        if (res.status !== 200)
          expect(res.body.error).toEqual({ status: 400, code: expect.stringMatching(/^console\.parameter_/), message: expect.any(String) });
      }),
      { numRuns: 150 },
    );
  });
});
