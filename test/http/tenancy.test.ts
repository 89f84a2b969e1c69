import { startTestRoster, type TestRoster } from '../support/roster';
import { GROUP, expectScimError, patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

let t: TestRoster;
let acme: ScimClient;
let globex: ScimClient;
let acmeUser: string;
let acmeGroup: string;

beforeAll(async () => {
  t = await startTestRoster();
  acme = scimClient(t.app, t.token);
  globex = scimClient(t.app, (await t.newOrganization('globex')).token);
  acmeUser = (await acme.post('/Users', userBody('shared.name@acme.example')).expect(201)).body.id;
  acmeGroup = (await acme.post('/Groups', { schemas: [GROUP], displayName: 'Acme Only', members: [{ value: acmeUser }] }).expect(201)).body.id;
});
afterAll(() => t.close());

describe('tenant isolation', () => {
  it("answers 404 for another organization's user and group, on every method", async () => {
    expectScimError(await globex.get(`/Users/${acmeUser}`), 404);
    expectScimError(await globex.put(`/Users/${acmeUser}`, userBody('shared.name@acme.example')), 404);
    expectScimError(await globex.patch(`/Users/${acmeUser}`, patchOp({ op: 'replace', path: 'active', value: false })), 404);
    expectScimError(await globex.delete(`/Users/${acmeUser}`), 404);
    expectScimError(await globex.get(`/Groups/${acmeGroup}`), 404);
    expectScimError(await globex.delete(`/Groups/${acmeGroup}`), 404);
    expect((await acme.get(`/Users/${acmeUser}`)).body.active).toBe(true);
  });

  it('never lists or counts the other organization', async () => {
    const users = await globex.get('/Users').expect(200);
    expect(users.body.totalResults).toBe(0);
    const filtered = await globex.get('/Users?filter=' + encodeURIComponent('userName eq "shared.name@acme.example"')).expect(200);
    expect(filtered.body.totalResults).toBe(0);
    expect((await globex.get('/Groups')).body.totalResults).toBe(0);
  });

  it('refuses a userName taken in another organization with a 409 that names neither', async () => {
    const res = await globex.post('/Users', userBody('Shared.Name@acme.example'));
    expectScimError(res, 409, 'uniqueness');
    expect(res.body.detail).not.toMatch(/acme\b(?!\.example)/i);
    expect(res.body.detail).not.toContain(acmeUser);
  });

  it("will not put another organization's user into a group", async () => {
    const res = await globex.post('/Groups', { schemas: [GROUP], displayName: 'Raid', members: [{ value: acmeUser }] });
    expectScimError(res, 400, 'invalidValue');
  });
});
