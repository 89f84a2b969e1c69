import request from 'supertest';
import { requestShow, requests } from '../../src/cli/requests';
import { startTestRoster, type TestRoster } from '../support/roster';
import { patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';
const OKTA = 'Okta SCIM Client 1.0.0';
const ENTRA = 'Microsoft.Azure.AD.Provisioning.Service/1.0';

interface Listed {
  id: string;
  time: string;
  requestId: string;
  operation?: number;
  method: string;
  path: string;
  filter: string | null;
  status: number;
  scimType: string | null;
  detail: string | null;
  rule: { code: string; rule?: string; says?: string } | null;
  client: string;
  credentialName: string | null;
  durationMs: number;
  resourceIds: string[];
}

interface Shown extends Listed {
  organizationId: string | null;
  changes: { resourceType: string; resourceId: string; action: string; changes: { attribute: string; before?: unknown; after?: unknown }[] }[];
  requestBody: unknown;
  responseBody: unknown;
}

let t: TestRoster;
let scim: ScimClient;
beforeAll(async () => {
  t = await startTestRoster();
  scim = scimClient(t.app, t.token);
});
afterAll(() => t.close());

/** Runs a CLI handler in this process; its stdout, or its error. */
async function run(handler: typeof requests, args: string[], flags: Record<string, string | boolean>): Promise<string> {
  let out = '';
  await handler(t.roster, args, flags, { out: (text) => (out += text), err: () => undefined });
  return out;
}

/** `roster requests --org <slug> --json [...]`, after the writer has stored what it holds. */
async function listed(flags: Record<string, string | boolean> = {}, org = 'acme'): Promise<Listed[]> {
  await t.roster.requestLog.writer?.flush();
  return JSON.parse(await run(requests, [], { org, json: true, ...flags })) as Listed[];
}

async function shown(id: string, org?: string): Promise<Shown> {
  await t.roster.requestLog.writer?.flush();
  return JSON.parse(await run(requestShow, [id], { json: true, ...(org ? { org } : {}) })) as Shown;
}

/** The entry of the request with this X-Request-Id (the request's own, not a Bulk operation's). */
async function entryOf(response: request.Response, org = 'acme'): Promise<Shown> {
  const requestId = response.headers['x-request-id'] as string;
  const entry = (await listed({ limit: '1000' }, org)).find((e) => e.requestId === requestId && e.operation === undefined);
  if (!entry) throw new Error(`no request log entry for request ${requestId}`);
  return shown(entry.id, org);
}

describe('the request log explains each refusal, read back through `roster requests`', () => {
  it('403: names the rule, in words, and the roles of the credential', async () => {
    const { secret } = await t.roster.credentials.issue({
      organizationId: t.org.id,
      systemRole: 'Api User',
      organizationRole: 'Standard User',
      name: 'okta-readonly',
    });
    const res = await scimClient(t.app, secret).post('/Users', userBody('refused.403@example.com')).set('User-Agent', OKTA).expect(403);
    const entry = await entryOf(res);
    expect(entry).toMatchObject({ method: 'POST', path: '/scim/v2/Users', status: 403, client: 'okta', credentialName: 'okta-readonly' });
    expect(entry.rule).toEqual({ code: 'user.manage_forbidden', rule: '1. who may manage users', says: expect.stringContaining('Organization Administrator') });
    expect(entry.detail).toContain('system role Api User and organization role Standard User');
    expect(entry.changes).toEqual([]);
    // The listing filters: this one is a 403 from Okta, and not a 5xx nor Entra's.
    expect((await listed({ status: '403', client: 'okta' })).map((e) => e.id)).toContain(entry.id);
    expect((await listed({ status: '4xx' })).map((e) => e.id)).toContain(entry.id);
    expect((await listed({ status: '5xx' })).map((e) => e.id)).not.toContain(entry.id);
    expect((await listed({ client: 'entra' })).map((e) => e.id)).not.toContain(entry.id);
  });

  it('409: names the clashing attribute and nothing of the other organization that holds the name', async () => {
    const other = await t.newOrganization('globex');
    const theirs = await scimClient(t.app, other.token).post('/Users', userBody('shared.name@example.com')).expect(201);
    const res = await scim.post('/Users', userBody('Shared.Name@example.com')).set('User-Agent', ENTRA).expect(409);
    const entry = await entryOf(res);
    expect(entry).toMatchObject({ status: 409, scimType: 'uniqueness', client: 'entra', rule: { code: 'user.user_name_taken', rule: '13. tenancy' } });
    expect(entry.detail).toContain('userName');
    const everything = JSON.stringify(entry);
    for (const secret of [theirs.body.id as string, other.org.id, 'globex']) expect(everything).not.toContain(secret);
    expect(entry.resourceIds).toEqual([]);
  });

  it('400: names the attribute and what was wrong with it', async () => {
    const id = (await scim.post('/Users', userBody('refused.400@example.com')).expect(201)).body.id as string;
    const res = await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'timezone', value: 'Mars/Olympus_Mons' })).expect(400);
    const entry = await entryOf(res);
    expect(entry).toMatchObject({ status: 400, scimType: 'invalidValue', rule: { code: 'user.timezone_invalid', rule: 'ranges and formats' } });
    expect(entry.detail).toMatch(/^timezone must be an IANA time zone.*got "Mars\/Olympus_Mons"/);
    expect(entry.resourceIds).toEqual([id]);
    expect(entry.requestBody).toEqual(patchOp({ op: 'replace', path: 'timezone', value: 'Mars/Olympus_Mons' }));
  });

  it('prints a refusal for people too: the rule in words beside the detail', async () => {
    const { secret } = await t.roster.credentials.issue({ organizationId: t.org.id, systemRole: 'Api User', organizationRole: 'Read Only User' });
    const res = await scimClient(t.app, secret)
      .delete(`/Users/${(await scim.post('/Users', userBody('text.view@example.com')).expect(201)).body.id}`)
      .expect(403);
    const entry = await entryOf(res);
    await t.roster.requestLog.writer?.flush();
    const text = await run(requestShow, [entry.id], {});
    expect(text).toContain('status: 403');
    expect(text).toContain('refused by: user.manage_forbidden (rule 1. who may manage users: an actor may create, edit and delete users');
    const table = await run(requests, [], { org: 'acme', status: '403' });
    expect(table.split('\n')[0]).toMatch(/^id\s+time\s+client\s+method\s+path\s+status\s+rule\s+detail$/);
    expect(table).toContain('user.manage_forbidden');
  });
});

describe('what a successful write changed', () => {
  it('a PATCH: each changed attribute as before -> after, and the resource it touched', async () => {
    const id = (await scim.post('/Users', userBody('changes.patch@example.com', { title: 'Analyst' })).expect(201)).body.id as string;
    const res = await scim
      .patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'Lead Analyst' }, { op: 'replace', path: 'active', value: false }))
      .expect(204);
    const entry = await entryOf(res);
    expect(entry.rule).toBeNull();
    expect(entry.resourceIds).toEqual([id]);
    expect(entry.changes).toEqual([
      {
        resourceType: 'User',
        resourceId: id,
        action: 'updated',
        changes: expect.arrayContaining([
          { attribute: 'title', before: 'Analyst', after: 'Lead Analyst' },
          { attribute: 'active', before: true, after: false },
        ]),
      },
    ]);
  });

  it('a POST: the new resource and the attributes it was created with', async () => {
    const res = await scim.post('/Users', userBody('changes.post@example.com')).expect(201);
    const entry = await entryOf(res);
    expect(entry.resourceIds).toEqual([res.body.id]);
    expect(entry.changes[0]).toMatchObject({ resourceType: 'User', action: 'created' });
    expect(entry.changes[0].changes).toContainEqual({ attribute: 'userName', after: 'changes.post@example.com' });
    expect((entry.responseBody as { id: string }).id).toBe(res.body.id);
  });

  it('a group: displayName before -> after and the members added', async () => {
    const user = (await scim.post('/Users', userBody('changes.member@example.com')).expect(201)).body.id as string;
    const group = (await scim.post('/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'Before' }).expect(201)).body.id;
    const res = await scim
      .patch(`/Groups/${group}`, patchOp({ op: 'replace', path: 'displayName', value: 'After' }, { op: 'add', path: 'members', value: [{ value: user }] }))
      .expect(204);
    const entry = await entryOf(res);
    expect(entry.changes[0].changes).toEqual([
      { attribute: 'displayName', before: 'Before', after: 'After' },
      { attribute: 'members', after: '1 added, 0 removed' },
    ]);
  });

  it('a Bulk request: one entry for the request and one per operation, each with its own outcome', async () => {
    const res = await scim
      .post('/Bulk', {
        schemas: [BULK],
        Operations: [
          { method: 'POST', path: '/Users', bulkId: 'a', data: userBody('bulk.one@example.com') },
          { method: 'PATCH', path: '/Users/bulkId:a', data: patchOp({ op: 'replace', path: 'title', value: 'Engineer' }) },
          { method: 'PATCH', path: '/Users/bulkId:a', data: patchOp({ op: 'replace', path: 'timezone', value: 'Nowhere/Special' }) },
        ],
      })
      .expect(200);
    const requestId = res.headers['x-request-id'] as string;
    const entries = (await listed({ limit: '1000' })).filter((e) => e.requestId === requestId);
    expect(entries.map((e) => [e.operation ?? 0, e.method, e.status]).sort()).toEqual([
      [0, 'POST', 200],
      [1, 'POST', 201],
      [2, 'PATCH', 200],
      [3, 'PATCH', 400],
    ]);
    const created = res.body.Operations[0].location.split('/').pop();
    const second = await shown(entries.find((e) => e.operation === 2)?.id as string);
    expect(second.resourceIds).toEqual([created]);
    expect(second.changes[0].changes).toEqual([{ attribute: 'title', before: null, after: 'Engineer' }]);
    const third = entries.find((e) => e.operation === 3) as Listed;
    expect(third).toMatchObject({ scimType: 'invalidValue', rule: { code: 'user.timezone_invalid' } });
    expect(entries.find((e) => e.operation === undefined)?.resourceIds).toEqual([created]);
  });
});

describe('a successful read', () => {
  it('keeps the filter, the ids it returned and totalResults, not the directory data itself', async () => {
    const id = (await scim.post('/Users', userBody('read.kept@example.com')).expect(201)).body.id as string;
    const found = await scim
      .get(`/Users?filter=${encodeURIComponent('userName eq "read.kept@example.com"')}`)
      .set('User-Agent', OKTA)
      .expect(200);
    const entry = await entryOf(found);
    expect(entry).toMatchObject({ method: 'GET', status: 200, client: 'okta', filter: 'userName eq "read.kept@example.com"', resourceIds: [id] });
    expect(entry.responseBody).toMatch(/^\[a successful read: not kept; totalResults 1, 1 resource\(s\) on the page, \d+ bytes\]$/);
    const missing = await entryOf(await scim.get(`/Users?filter=${encodeURIComponent('userName eq "nobody@example.com"')}`).expect(200));
    expect(missing.responseBody).toMatch(/totalResults 0/);
    expect(missing.resourceIds).toEqual([]);
    const one = await entryOf(await scim.get(`/Users/${id}`).expect(200));
    expect(one.resourceIds).toEqual([id]);
    expect(one.responseBody).toMatch(/^\[a successful read: not kept; 1 resource\(s\), \d+ bytes\]$/);
    // An id is found whatever its case; the log keeps the resource's own.
    const upper = await entryOf(await scim.get(`/Users/${id.toUpperCase()}`).expect(200));
    expect(upper.resourceIds).toEqual([id]);
    // A search by POST is a read too: its query is kept, its results are not.
    const searched = await scim
      .post('/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName eq "read.kept@example.com"' })
      .expect(200);
    const search = await entryOf(searched);
    expect(search).toMatchObject({ method: 'POST', path: '/scim/v2/Users/.search', resourceIds: [id] });
    expect(search.responseBody).toMatch(/^\[a successful read: not kept; totalResults 1, 1 resource\(s\) on the page, \d+ bytes\]$/);
    expect(JSON.stringify((await shown(search.id)).requestBody)).toContain('read.kept@example.com');
    // A refused search names no resource (`.search` is not an id).
    const refused = await entryOf(
      await scim.post('/Users/.search', { schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'], filter: 'userName eq' }).expect(400),
    );
    expect(refused).toMatchObject({ status: 400, scimType: 'invalidFilter', resourceIds: [] });
  });

  it('keeps a page too large to hold until its batch as the same line, with its ids', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 30; i++) ids.push((await scim.post('/Users', userBody(`read.page.${i}@example.com`)).expect(201)).body.id as string);
    const page = await scim.get(`/Users?filter=${encodeURIComponent('userName sw "read.page."')}&count=30`).expect(200);
    expect(page.text.length).toBeGreaterThan(16 * 1024);
    const entry = await entryOf(page);
    expect(entry.responseBody).toMatch(/^\[a successful read: not kept; totalResults 30, 30 resource\(s\) on the page, \d+ bytes\]$/);
    expect([...entry.resourceIds].sort()).toEqual([...ids].sort());
  });
});

describe('tenancy', () => {
  it("one organization never sees another's entries, by list or by id", async () => {
    const other = await t.newOrganization('initech');
    const theirs = await scimClient(t.app, other.token).get('/Users?filter=userName%20eq%20%22x%40initech.example%22').expect(200);
    const ours = await scim.get('/Users?count=1').expect(200);
    const theirEntry = await entryOf(theirs, 'initech');
    expect(theirEntry.filter).toBe('userName eq "x@initech.example"');
    const ourEntry = await entryOf(ours);
    expect((await listed({ limit: '1000' }, 'initech')).map((e) => e.requestId)).not.toContain(ours.headers['x-request-id']);
    expect((await listed({ limit: '1000' })).map((e) => e.requestId)).not.toContain(theirs.headers['x-request-id']);
    await expect(shown(ourEntry.id, 'initech')).rejects.toThrow(/no request log entry/);
    expect(await t.roster.requestLog.reader.get(other.org.id, ourEntry.id)).toBeNull();
    expect(await t.roster.requestLog.reader.get(t.org.id, theirEntry.id)).toBeNull();
  });

  it('a request that does not authenticate belongs to no organization and keeps no body', async () => {
    const res = await request(t.app)
      .post('/scim/v2/Users?filter=secret')
      .set('Authorization', 'Bearer roster_not-a-real-token-but-shaped-like-one')
      .set('Content-Type', 'application/scim+json')
      .send(userBody('anonymous@example.com', { password: 'Anonymous-Pa55!' }))
      .expect(401);
    await t.roster.requestLog.writer?.flush();
    const entries = JSON.parse(await run(requests, [], { unauthenticated: true, json: true })) as Listed[];
    const entry = entries.find((e) => e.requestId === res.headers['x-request-id']) as Listed;
    expect(entry).toMatchObject({ status: 401, path: '/scim/v2/Users', filter: null, rule: { code: 'auth.token_rejected' }, credentialName: null });
    const full = await shown(entry.id);
    expect(full).toMatchObject({ organizationId: null, requestBody: null, responseBody: null });
    expect((await listed({ limit: '1000' })).map((e) => e.requestId)).not.toContain(res.headers['x-request-id']);
  });
});

describe('the CLI filters', () => {
  it.each([
    [{ status: '99' }, /--status takes/],
    [{ status: '6xx' }, /--status takes/],
    [{ client: 'onelogin' }, /--client takes okta, entra, other/],
    [{ limit: '0' }, /--limit takes/],
    [{ since: 'yesterday' }, /--since takes/],
  ])('refuses %j with a usage message', async (flags, message) => {
    await expect(run(requests, [], { org: 'acme', ...flags })).rejects.toThrow(message);
  });

  it('needs --org or --unauthenticated, not both', async () => {
    await expect(run(requests, [], {})).rejects.toThrow(/--org <slug>, or --unauthenticated/);
    await expect(run(requests, [], { org: 'acme', unauthenticated: true })).rejects.toThrow(/--org <slug>, or --unauthenticated/);
  });

  it('--since leaves out what came before, --limit keeps the newest', async () => {
    await scim.get('/Users?count=1').expect(200);
    const all = await listed({ limit: '1000' });
    expect(all.length).toBeGreaterThan(3);
    expect((await listed({ limit: '2' })).map((e) => e.id)).toEqual(all.slice(0, 2).map((e) => e.id));
    const later = new Date(Date.parse(all[0].time) + 1).toISOString();
    expect(await listed({ since: later })).toEqual([]);
    expect((await listed({ since: all[0].time })).map((e) => e.id)).toEqual([all[0].id]);
  });
});
