import { startTestRoster, type TestRoster } from '../support/roster';
import { GROUP, expectScimError, patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

let t: TestRoster;
let scim: ScimClient;
const users: string[] = [];

beforeAll(async () => {
  t = await startTestRoster();
  scim = scimClient(t.app, t.token);
  for (const name of ['g.one@example.com', 'g.two@example.com', 'g.three@example.com']) {
    users.push((await scim.post('/Users', userBody(name)).expect(201)).body.id);
  }
});
afterAll(() => t.close());

const groupBody = (displayName: string, members: string[] = [], extra: Record<string, unknown> = {}) => ({
  schemas: [GROUP],
  displayName,
  members: members.map((value) => ({ value })),
  ...extra,
});

const memberIds = (body: { members?: { value: string }[] }) => (body.members ?? []).map((m) => m.value).sort();

describe('groups', () => {
  it('creates a group with members and reads it back', async () => {
    const res = await scim.post('/Groups', groupBody('Analysts', users.slice(0, 2), { externalId: 'okta-g1' })).expect(201);
    expect(res.headers.location).toBe(res.body.meta.location);
    expect(res.body.displayName).toBe('Analysts');
    expect(memberIds(res.body)).toEqual(users.slice(0, 2).sort());
    const read = await scim.get(`/Groups/${res.body.id}`).expect(200);
    expect(read.body.members[0]).toMatchObject({ type: 'User' });
    expect(read.body.members.map((m: { display: string }) => m.display).sort()).toEqual(['g.one@example.com', 'g.two@example.com']);
  });

  it('shows a user the groups it belongs to', async () => {
    const { id } = (await scim.post('/Groups', groupBody('Hunters', [users[2]])).expect(201)).body;
    const user = await scim.get(`/Users/${users[2]}`).expect(200);
    expect(user.body.groups).toEqual([expect.objectContaining({ value: id, display: 'Hunters' })]);
  });

  it('leaves members out when excludedAttributes=members', async () => {
    const { id } = (await scim.post('/Groups', groupBody('Quiet', users)).expect(201)).body;
    const res = await scim.get(`/Groups/${id}?excludedAttributes=members`).expect(200);
    expect(res.body.members).toBeUndefined();
    expect(res.body.displayName).toBe('Quiet');
    const list = await scim.get('/Groups?excludedAttributes=members&filter=' + encodeURIComponent('displayName eq "quiet"')).expect(200);
    expect(list.body.totalResults).toBe(1);
    expect(list.body.Resources[0].members).toBeUndefined();
  });

  it('finds a group by displayName case-insensitively', async () => {
    await scim.post('/Groups', groupBody('Incident Response')).expect(201);
    const res = await scim.get('/Groups?filter=' + encodeURIComponent('displayName eq "incident response"')).expect(200);
    expect(res.body.Resources.map((g: { displayName: string }) => g.displayName)).toEqual(['Incident Response']);
  });

  it('adds and removes single members with PATCH', async () => {
    const { id } = (await scim.post('/Groups', groupBody('Patchers', [users[0]])).expect(201)).body;
    await scim.patch(`/Groups/${id}`, patchOp({ op: 'add', path: 'members', value: [{ value: users[1] }] })).expect(204);
    expect(memberIds((await scim.get(`/Groups/${id}`)).body)).toEqual([users[0], users[1]].sort());
    await scim.patch(`/Groups/${id}`, patchOp({ op: 'remove', path: `members[value eq "${users[0]}"]` })).expect(204);
    expect(memberIds((await scim.get(`/Groups/${id}`)).body)).toEqual([users[1]]);
  });

  it('renames a group with PATCH and bumps its version', async () => {
    const created = (await scim.post('/Groups', groupBody('Old Name')).expect(201)).body;
    const res = await scim.patch(`/Groups/${created.id}`, patchOp({ op: 'replace', path: 'displayName', value: 'New Name' })).expect(204);
    expect(res.headers.etag).not.toBe(created.meta.version);
    const read = await scim.get(`/Groups/${created.id}`).expect(200);
    expect(read.body.displayName).toBe('New Name');
    expect(read.body.meta.version).toBe(res.headers.etag);
  });

  it('refuses an unknown member with 400 and stores nothing', async () => {
    const { id } = (await scim.post('/Groups', groupBody('Strict', [users[0]])).expect(201)).body;
    const res = await scim.patch(
      `/Groups/${id}`,
      patchOp(
        { op: 'replace', path: 'displayName', value: 'Strict Renamed' },
        { op: 'add', path: 'members', value: [{ value: '00000000-0000-4000-8000-000000000000' }] },
      ),
    );
    expectScimError(res, 400, 'invalidValue');
    const after = await scim.get(`/Groups/${id}`).expect(200);
    expect(after.body.displayName).toBe('Strict');
    expect(memberIds(after.body)).toEqual([users[0]]);
    expectScimError(await scim.post('/Groups', groupBody('Never', ['not-a-user'])), 400, 'invalidValue');
    expect((await scim.get('/Groups?filter=' + encodeURIComponent('displayName eq "Never"'))).body.totalResults).toBe(0);
  });

  it('refuses a second group of the same name with 409', async () => {
    await scim.post('/Groups', groupBody('Unique Name')).expect(201);
    expectScimError(await scim.post('/Groups', groupBody('unique name')), 409, 'uniqueness');
  });

  it("accepts Microsoft's extra group schema URI", async () => {
    const res = await scim.post('/Groups', {
      ...groupBody('Entra Group'),
      schemas: [GROUP, 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group'],
    });
    expect(res.status).toBe(201);
  });

  it('replaces a group with PUT, members included', async () => {
    const { id } = (await scim.post('/Groups', groupBody('Replace Me', [users[0], users[1]])).expect(201)).body;
    const res = await scim.put(`/Groups/${id}`, groupBody('Replaced', [users[2]])).expect(200);
    expect(res.body.displayName).toBe('Replaced');
    expect(memberIds(res.body)).toEqual([users[2]]);
  });

  it('leaves no dangling membership when a user is deleted while being added to groups', async () => {
    for (let round = 0; round < 5; round++) {
      const member = (await scim.post('/Users', userBody(`racing.${round}@example.com`)).expect(201)).body.id;
      const group = (await scim.post('/Groups', groupBody(`Race ${round}`)).expect(201)).body.id;
      const [added, deleted] = await Promise.all([
        scim.patch(`/Groups/${group}`, patchOp({ op: 'add', path: 'members', value: [{ value: member }] })),
        scim.delete(`/Users/${member}`),
      ]);
      expect(deleted.status).toBe(204);
      expect([204, 400]).toContain(added.status);
      expect(memberIds((await scim.get(`/Groups/${group}`)).body)).toEqual([]);
    }
  });

  it('deletes a group, and a deleted user leaves every group', async () => {
    const { id } = (await scim.post('/Groups', groupBody('Short Lived', [users[0]])).expect(201)).body;
    await scim.delete(`/Groups/${id}`).expect(204);
    expectScimError(await scim.get(`/Groups/${id}`), 404);

    const member = (await scim.post('/Users', userBody('leaving@example.com')).expect(201)).body.id;
    const group = (await scim.post('/Groups', groupBody('Left Behind', [member, users[0]])).expect(201)).body.id;
    await scim.delete(`/Users/${member}`).expect(204);
    expect(memberIds((await scim.get(`/Groups/${group}`)).body)).toEqual([users[0]]);
  });
});
