/**
 * Okta's documented SCIM 2.0 provisioning run, replayed in order against Roster
 * (Okta's "SCIM 2.0 Protocol Reference" and "SCIM integration concepts"; the requests
 * and Roster's answers are summarised in docs/conformance.md). The `it`s run in
 * sequence and share state: each step uses what the step before it created, and
 * asserts what Okta checks at that point.
 */
import { startTestRoster, type TestRoster } from '../support/roster';
import { ERROR, GROUP, ROSTER, USER, expectScimError, patchOp, scimClient, type ScimClient } from '../support/scim';

const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const SERVICE_PROVIDER_CONFIG = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';

/** Okta reaches Roster through a TLS proxy, so ROSTER_PUBLIC_URL is set (README, "Connecting Okta"). */
const PUBLIC_URL = 'https://roster.example.com';
const BASE = `${PUBLIC_URL}/scim/v2`;

let t: TestRoster;
let scim: ScimClient;
/** Users the application already had before Okta was connected (found by the import). */
const existing: string[] = [];

beforeAll(async () => {
  t = await startTestRoster({ publicBaseUrl: PUBLIC_URL });
  scim = scimClient(t.app, t.token);
  for (const [given, family] of [
    ['Ada', 'Lovelace'],
    ['Grace', 'Hopper'],
    ['Alan', 'Turing'],
    ['Edsger', 'Dijkstra'],
  ]) {
    const userName = `${given}.${family}@app.example`.toLowerCase();
    const res = await scim
      .post('/Users', {
        schemas: [USER],
        userName,
        name: { givenName: given, familyName: family },
        emails: [{ value: userName, type: 'work', primary: true }],
        active: true,
      })
      .expect(201);
    existing.push(res.body.id);
  }
});
afterAll(() => t.close());

const q = (filter: string) => encodeURIComponent(filter);
const expectScimJson = (res: { headers: Record<string, string> }) => expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);

/** What Okta checks on every ListResponse: the schema, and integers (not strings) for the counters. */
function expectListResponse(body: Record<string, unknown>) {
  expect(body.schemas).toEqual([LIST]);
  expect(Number.isInteger(body.totalResults)).toBe(true);
  expect(Number.isInteger(body.startIndex)).toBe(true);
  expect(Number.isInteger(body.itemsPerPage)).toBe(true);
  expect(Array.isArray(body.Resources)).toBe(true);
  expect(body.itemsPerPage).toBe((body.Resources as unknown[]).length);
}

const OKTA_USER = 'test.user@okta.local';
/** POST /Users exactly as the protocol reference shows it (password included). */
const oktaCreateBody = {
  schemas: [USER],
  userName: OKTA_USER,
  name: { givenName: 'Test', familyName: 'User' },
  emails: [{ primary: true, value: OKTA_USER, type: 'work' }],
  displayName: 'Test User',
  locale: 'en-US',
  externalId: '00ujl29u0le5T6Aj10h7',
  groups: [],
  password: '1mz050nq',
  active: true,
};

describe('Okta provisioning run (Okta SCIM 2.0 protocol reference, in order)', () => {
  let userId = '';
  let userLocation = '';
  let groupId = '';
  const okta = { deactivate: patchOp({ op: 'replace', value: { active: false } }), activate: patchOp({ op: 'replace', value: { active: true } }) };

  // --- Test Connector Configuration -------------------------------------------------

  it('answers the connector test GET /Users?count=1&startIndex=1 with a ListResponse of one user', async () => {
    const res = await scim.get('/Users?count=1&startIndex=1').expect(200);
    expectScimJson(res);
    expectListResponse(res.body);
    expect(res.body).toMatchObject({ totalResults: existing.length, startIndex: 1, itemsPerPage: 1 });
    const [first] = res.body.Resources;
    // Okta's SPEC test reads these from Resources[0].
    expect(first.id).toBe(existing[0]);
    expect(first.userName).toBe('ada.lovelace@app.example');
    expect(first.name).toMatchObject({ givenName: 'Ada', familyName: 'Lovelace' });
    expect(first.active).toBe(true);
    expect(first.emails[0].value).toBe('ada.lovelace@app.example');
  });

  it('serves /ServiceProviderConfig with PATCH, filter and bearer authentication advertised', async () => {
    const res = await scim.get('/ServiceProviderConfig').expect(200);
    expectScimJson(res);
    expect(res.body.schemas).toContain(SERVICE_PROVIDER_CONFIG);
    expect(res.body.patch.supported).toBe(true);
    expect(res.body.filter.supported).toBe(true);
    expect(Number.isInteger(res.body.filter.maxResults)).toBe(true);
    expect(res.body.authenticationSchemes.map((s: { type: string }) => s.type)).toContain('oauthbearertoken');
    expect(res.body.meta.location).toBe(`${BASE}/ServiceProviderConfig`);
  });

  it('refuses the connector test without the token with a 401 SCIM error', async () => {
    const res = await scimClient(t.app, 'not-the-token').get(`/Users?filter=${q(`userName eq "${OKTA_USER}"`)}`);
    expectScimError(res, 401);
  });

  // --- Push New Users ---------------------------------------------------------------

  it('finds no match for the new user: GET filter=userName eq with startIndex=1&count=100 gives totalResults 0', async () => {
    // The exact query string of the protocol reference.
    const res = await scim.get('/Users?filter=userName%20eq%20%22test.user%40okta.local%22&startIndex=1&count=100').expect(200);
    expectListResponse(res.body);
    expect(res.body).toMatchObject({ totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
  });

  it('creates the user from the Okta profile, password included: 201 with Location = meta.location', async () => {
    const res = await scim.post('/Users', oktaCreateBody).expect(201);
    expectScimJson(res);
    expect(res.body.schemas).toContain(USER);
    expect(res.body.id).toEqual(expect.any(String));
    expect(res.body).toMatchObject({
      userName: OKTA_USER,
      name: { givenName: 'Test', familyName: 'User' },
      emails: [{ primary: true, value: OKTA_USER, type: 'work' }],
      displayName: 'Test User',
      locale: 'en-US',
      externalId: '00ujl29u0le5T6Aj10h7',
      active: true,
    });
    expect(res.body.meta.resourceType).toBe('User');
    expect(res.headers.location).toBe(res.body.meta.location);
    expect(res.body.meta.location).toBe(`${BASE}/Users/${res.body.id}`);
    expect(res.headers.etag).toBe(res.body.meta.version);
    // The password is write-only (test/http/users.test.ts checks it is stored as an argon2id hash).
    expect(res.body.password).toBeUndefined();
    expect(JSON.stringify(res.body)).not.toContain('1mz050nq');
    userId = res.body.id;
    userLocation = res.body.meta.location;
  });

  it('reads the created user back with GET /Users/{id}', async () => {
    const res = await scim.get(`/Users/${userId}`).expect(200);
    expectScimJson(res);
    expect(res.body).toMatchObject({ id: userId, userName: OKTA_USER, active: true, name: { givenName: 'Test', familyName: 'User' } });
    expect(res.body.emails[0].value).toBe(OKTA_USER);
    expect(res.body.meta.location).toBe(userLocation);
    expect(res.headers.etag).toBe(res.body.meta.version);
  });

  it('answers 404 with a SCIM error for a user id it does not know', async () => {
    const res = await scim.get('/Users/00919288221112222');
    expectScimError(res, 404);
    expect(res.body.schemas).toEqual([ERROR]);
  });

  it('matches the user on the next lookup, whatever the letter case of userName', async () => {
    const res = await scim.get(`/Users?filter=${q(`userName eq "${OKTA_USER}"`)}&startIndex=1&count=100`).expect(200);
    expectListResponse(res.body);
    expect(res.body.totalResults).toBe(1);
    expect(res.body.Resources[0].id).toBe(userId);
    const upper = await scim.get(`/Users?filter=${q(`userName eq "${OKTA_USER.toUpperCase()}"`)}&startIndex=1&count=100`).expect(200);
    expect(upper.body.Resources.map((u: { id: string }) => u.id)).toEqual([userId]);
  });

  it('refuses to create the same user twice with 409 uniqueness, in any letter case', async () => {
    expectScimError(await scim.post('/Users', oktaCreateBody), 409, 'uniqueness');
    expectScimError(await scim.post('/Users', { ...oktaCreateBody, userName: OKTA_USER.toUpperCase() }), 409, 'uniqueness');
    const res = await scim.get(`/Users?filter=${q(`userName eq "${OKTA_USER}"`)}`).expect(200);
    expect(res.body.totalResults).toBe(1);
  });

  // --- Push Profile Updates: GET, then PUT of the whole user -----------------------

  it('applies a profile push: PUT /Users/{id} with the whole user Okta read, changed', async () => {
    const read = await scim.get(`/Users/${userId}`).expect(200);
    const before = read.body.meta.version;
    const body = { ...read.body, name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' }, groups: [] };
    const res = await scim.put(`/Users/${userId}`, body).expect(200);
    expectScimJson(res);
    expect(res.body).toMatchObject({
      id: userId,
      userName: OKTA_USER,
      name: { givenName: 'Another', middleName: 'Excited', familyName: 'User' },
      externalId: '00ujl29u0le5T6Aj10h7',
      displayName: 'Test User',
      locale: 'en-US',
      active: true,
      emails: [{ primary: true, value: OKTA_USER, type: 'work' }],
    });
    expect(res.body.meta.version).not.toBe(before);
    expect(res.headers.etag).toBe(res.body.meta.version);
    expect((await scim.get(`/Users/${userId}`).expect(200)).body.name.middleName).toBe('Excited');
  });

  // --- Deactivate / reactivate (PATCH, for OIN integrations) ------------------------

  it('deactivates with PATCH replace value {active:false}: 204 and the user reads active false', async () => {
    const res = await scim.patch(`/Users/${userId}`, okta.deactivate);
    expect(res.status).toBe(204); // the reference accepts 204 with no body
    expect(res.text).toBe('');
    expect(res.headers.etag).toMatch(/^W\/"\d+"$/);
    const user = (await scim.get(`/Users/${userId}`).expect(200)).body;
    expect(user.active).toBe(false);
    expect(user.name.givenName).toBe('Another'); // nothing else touched
    expect(user.meta.version).toBe(res.headers.etag);
  });

  it('returns the updated user on the deactivation PATCH when attributes are asked for', async () => {
    const res = await scim.patch(`/Users/${userId}?attributes=active,userName`, okta.deactivate).expect(200);
    expect(res.body).toMatchObject({ id: userId, userName: OKTA_USER, active: false });
  });

  it('reactivates with PATCH replace value {active:true}', async () => {
    await scim.patch(`/Users/${userId}`, okta.activate).expect(204);
    expect((await scim.get(`/Users/${userId}`).expect(200)).body.active).toBe(true);
  });

  it('syncs a password with PATCH replace value {password}, without ever returning it', async () => {
    await scim.patch(`/Users/${userId}`, patchOp({ op: 'replace', value: { password: 'Synced-Pa55word' } })).expect(204);
    const user = (await scim.get(`/Users/${userId}`).expect(200)).body;
    expect(user.password).toBeUndefined();
    expect(JSON.stringify(user)).not.toContain('Synced-Pa55word');
    expect(user[ROSTER].passwordResetRequired).toBe(true);
  });

  it('takes the same deactivation as a PUT of the whole user with active false (App Integration Wizard apps)', async () => {
    const read = (await scim.get(`/Users/${userId}`).expect(200)).body;
    const off = await scim.put(`/Users/${userId}`, { ...read, active: false }).expect(200);
    expect(off.body).toMatchObject({ id: userId, active: false, name: { givenName: 'Another' } });
    const on = await scim.put(`/Users/${userId}`, { ...off.body, active: true }).expect(200);
    expect(on.body.active).toBe(true);
  });

  // --- Push Groups --------------------------------------------------------------------

  it('finds no group of the pushed name: GET /Groups?filter=displayName eq gives totalResults 0', async () => {
    const res = await scim.get('/Groups?filter=displayName%20eq%20%22Test%20SCIMv2%22&startIndex=1&count=100').expect(200);
    expectListResponse(res.body);
    expect(res.body).toMatchObject({ totalResults: 0, itemsPerPage: 0, Resources: [] });
  });

  it('creates the pushed group with POST /Groups and members []: 201 with Location = meta.location', async () => {
    const res = await scim.post('/Groups', { schemas: [GROUP], displayName: 'Test SCIMv2', members: [] }).expect(201);
    expectScimJson(res);
    expect(res.body.schemas).toEqual([GROUP]);
    expect(res.body.displayName).toBe('Test SCIMv2');
    expect(res.body.members ?? []).toEqual([]);
    expect(res.body.meta.resourceType).toBe('Group');
    expect(res.headers.location).toBe(res.body.meta.location);
    expect(res.body.meta.location).toBe(`${BASE}/Groups/${res.body.id}`);
    groupId = res.body.id;
    const found = await scim.get('/Groups?filter=displayName%20eq%20%22Test%20SCIMv2%22&startIndex=1&count=100').expect(200);
    expect(found.body.Resources.map((g: { id: string }) => g.id)).toEqual([groupId]);
  });

  it("renames the group with Okta's PATCH replace value {id, displayName}", async () => {
    await scim.patch(`/Groups/${groupId}`, patchOp({ op: 'replace', value: { id: groupId, displayName: 'Test SCIMv20' } })).expect(204);
    const group = (await scim.get(`/Groups/${groupId}`).expect(200)).body;
    expect(group).toMatchObject({ id: groupId, displayName: 'Test SCIMv20' });
  });

  it('adds a member with PATCH add path members [{value, display}]', async () => {
    await scim.patch(`/Groups/${groupId}`, patchOp({ op: 'add', path: 'members', value: [{ value: userId, display: OKTA_USER }] })).expect(204);
    const group = (await scim.get(`/Groups/${groupId}`).expect(200)).body;
    expect(group.members).toEqual([expect.objectContaining({ value: userId, type: 'User', display: 'Test User' })]);
    expect(group.members[0].$ref).toBe(userLocation);
    // The user shows the membership too.
    const user = (await scim.get(`/Users/${userId}`).expect(200)).body;
    expect(user.groups).toEqual([expect.objectContaining({ value: groupId, display: 'Test SCIMv20' })]);
  });

  it('applies a membership push as Okta sends it: the rename, a remove by filter and an add in one PATCH', async () => {
    await scim
      .patch(
        `/Groups/${groupId}`,
        patchOp(
          { op: 'replace', value: { id: groupId, displayName: 'Test SCIMv20' } },
          { op: 'remove', path: `members[value eq "${userId}"]` },
          { op: 'add', path: 'members', value: [{ value: existing[0], display: 'ada.lovelace@app.example' }, { value: existing[1] }] },
        ),
      )
      .expect(204);
    const members = (await scim.get(`/Groups/${groupId}`).expect(200)).body.members.map((m: { value: string }) => m.value).sort();
    expect(members).toEqual([existing[0], existing[1]].sort());
  });

  it('removes a member with PATCH remove path members[value eq "id"] and the group shows the rest', async () => {
    await scim.patch(`/Groups/${groupId}`, patchOp({ op: 'add', path: 'members', value: [{ value: userId, display: OKTA_USER }] })).expect(204);
    await scim.patch(`/Groups/${groupId}`, patchOp({ op: 'remove', path: `members[value eq "${existing[0]}"]` })).expect(204);
    const group = (await scim.get(`/Groups/${groupId}`).expect(200)).body;
    expect(group.displayName).toBe('Test SCIMv20');
    expect(group.members.map((m: { value: string }) => m.value).sort()).toEqual([existing[1], userId].sort());
    expect(group.members.find((m: { value: string }) => m.value === existing[1]).display).toBe('grace.hopper@app.example');
  });

  // --- Import Users / Import Groups --------------------------------------------------

  it('imports users page by page with startIndex and count, in the same order whatever the page size', async () => {
    const all = (await scim.get('/Users?startIndex=1&count=100').expect(200)).body;
    expectListResponse(all);
    expect(all.totalResults).toBe(existing.length + 1);
    const order = all.Resources.map((u: { id: string }) => u.id);
    expect(new Set(order)).toEqual(new Set([...existing, userId]));

    const paged: string[] = [];
    for (let startIndex = 1; startIndex <= all.totalResults; startIndex += 2) {
      const page = (await scim.get(`/Users?startIndex=${startIndex}&count=2`).expect(200)).body;
      expectListResponse(page);
      expect(page.totalResults).toBe(all.totalResults);
      expect(page.startIndex).toBe(startIndex);
      expect(page.itemsPerPage).toBe(Math.min(2, all.totalResults - startIndex + 1));
      paged.push(...page.Resources.map((u: { id: string }) => u.id));
    }
    expect(paged).toEqual(order);
    const beyond = (await scim.get(`/Users?startIndex=${all.totalResults + 1}&count=2`).expect(200)).body;
    expect(beyond).toMatchObject({ totalResults: all.totalResults, itemsPerPage: 0, Resources: [] });
  });

  it('imports groups with GET /Groups?excludedAttributes=members, and with members when asked', async () => {
    const res = await scim.get('/Groups?startIndex=1&count=100&excludedAttributes=members').expect(200);
    expectListResponse(res.body);
    expect(res.body.totalResults).toBe(1);
    expect(res.body.Resources[0]).toMatchObject({ id: groupId, displayName: 'Test SCIMv20' });
    expect(res.body.Resources[0].members).toBeUndefined();
    const full = await scim.get('/Groups?startIndex=1&count=100').expect(200);
    expect(full.body.Resources[0].members.map((m: { value: string }) => m.value).sort()).toEqual([existing[1], userId].sort());
  });

  it('takes a membership push as a PUT of the whole group (App Integration Wizard apps)', async () => {
    const res = await scim
      .put(`/Groups/${groupId}`, { schemas: [GROUP], displayName: 'Test SCIMv20', members: [{ value: userId, display: OKTA_USER }, { value: existing[1] }] })
      .expect(200);
    expect(res.body).toMatchObject({ id: groupId, displayName: 'Test SCIMv20' });
    expect(res.body.members.map((m: { value: string }) => m.value).sort()).toEqual([existing[1], userId].sort());
    expect(res.headers.etag).toBe(res.body.meta.version);
  });

  // --- Unlink pushed group: "Delete the group in the target app" ---------------------

  it('deletes the pushed group: 204 with no body, then 404, and its members stay', async () => {
    const res = await scim.delete(`/Groups/${groupId}`).expect(204);
    expect(res.text).toBe('');
    expectScimError(await scim.get(`/Groups/${groupId}`), 404);
    expect((await scim.get('/Groups?filter=displayName%20eq%20%22Test%20SCIMv20%22').expect(200)).body.totalResults).toBe(0);
    const user = (await scim.get(`/Users/${userId}`).expect(200)).body;
    expect(user.groups).toBeUndefined();
    await scim.get(`/Users/${existing[1]}`).expect(200);
  });

  // --- Deprovisioning: Okta never DELETEs a user, it deactivates ---------------------

  it('deprovisions by deactivation: the user is kept, inactive, and still matched', async () => {
    await scim.patch(`/Users/${userId}`, okta.deactivate).expect(204);
    const user = (await scim.get(`/Users/${userId}`).expect(200)).body;
    expect(user).toMatchObject({ id: userId, userName: OKTA_USER, active: false });
    const match = (await scim.get(`/Users?filter=${q(`userName eq "${OKTA_USER}"`)}&startIndex=1&count=100`).expect(200)).body;
    expect(match.Resources).toEqual([expect.objectContaining({ id: userId, active: false })]);
    const inactive = (await scim.get(`/Users?filter=${q('active eq false')}`).expect(200)).body;
    expect(inactive.Resources.map((u: { id: string }) => u.id)).toEqual([userId]);
  });

  it('reprovisions the same account on reassignment: match finds it, PATCH active true restores it', async () => {
    const match = (await scim.get(`/Users?filter=${q(`userName eq "${OKTA_USER}"`)}&startIndex=1&count=100`).expect(200)).body;
    expect(match.totalResults).toBe(1);
    await scim.patch(`/Users/${match.Resources[0].id}`, okta.activate).expect(204);
    const user = (await scim.get(`/Users/${userId}`).expect(200)).body;
    expect(user).toMatchObject({ active: true, externalId: '00ujl29u0le5T6Aj10h7', name: { givenName: 'Another' } });
    expect((await scim.get('/Users?count=0').expect(200)).body.totalResults).toBe(existing.length + 1);
  });
});
