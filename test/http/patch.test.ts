import { PATCH_ATTEMPTS } from '../../src/scim/resources/resource-router';
import { startTestRoster, type TestRoster } from '../support/roster';
import { ENTERPRISE, GROUP, USER, expectScimError, patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

let t: TestRoster;
let scim: ScimClient;
beforeAll(async () => {
  t = await startTestRoster();
  scim = scimClient(t.app, t.token);
});
afterAll(() => t.close());

let counter = 0;
async function newUser(extra: Record<string, unknown> = {}): Promise<string> {
  counter += 1;
  return (await scim.post('/Users', userBody(`patch.${counter}@example.com`, extra)).expect(201)).body.id;
}
const read = async (id: string) => (await scim.get(`/Users/${id}`).expect(200)).body;

describe('PATCH forms identity providers send', () => {
  it('accepts op names in any case', async () => {
    const id = await newUser();
    await scim.patch(`/Users/${id}`, patchOp({ op: 'REPLACE', path: 'title', value: 'A' }, { op: 'Add', path: 'nickName', value: 'N' })).expect(204);
    await scim.patch(`/Users/${id}`, patchOp({ op: 'Remove', path: 'title' })).expect(204);
    const user = await read(id);
    expect(user.title).toBeUndefined();
    expect(user.nickName).toBe('N');
  });

  it('accepts "True" and "False" strings for booleans, in PATCH and in POST', async () => {
    const id = await newUser();
    await scim.patch(`/Users/${id}`, patchOp({ op: 'Replace', path: 'active', value: 'False' })).expect(204);
    expect((await read(id)).active).toBe(false);
    await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', value: { active: 'True' } })).expect(204);
    expect((await read(id)).active).toBe(true);
    const created = await scim.post('/Users', userBody('string.bool@example.com', { active: 'False' })).expect(201);
    expect(created.body.active).toBe(false);
  });

  it('matches attribute paths in another case', async () => {
    const id = await newUser();
    await scim
      .patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'Active', value: false }, { op: 'replace', path: 'Name.GivenName', value: 'Cased' }))
      .expect(204);
    const user = await read(id);
    expect(user.active).toBe(false);
    expect(user.name.givenName).toBe('Cased');
  });

  it('creates the email an add on emails[type eq "work"].value names when there is none', async () => {
    const id = (await scim.post('/Users', { schemas: [USER], userName: 'no.mail@example.com' }).expect(201)).body.id;
    await scim.patch(`/Users/${id}`, patchOp({ op: 'add', path: 'emails[type eq "work"].value', value: 'work@example.com' })).expect(204);
    expect((await read(id)).emails).toEqual([{ type: 'work', value: 'work@example.com' }]);
    await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'emails[type eq "work"].value', value: 'moved@example.com' })).expect(204);
    expect((await read(id)).emails).toEqual([{ type: 'work', value: 'moved@example.com' }]);
  });

  it('takes the enterprise manager as a bare id string, by URN path and path-less', async () => {
    const id = await newUser();
    const manager = await newUser();
    await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: `${ENTERPRISE}:manager`, value: manager })).expect(204);
    expect((await read(id))[ENTERPRISE].manager.value).toBe(manager);
    await scim.patch(`/Users/${id}`, patchOp({ op: 'add', value: { [`${ENTERPRISE}:department`]: 'Intel', 'name.familyName': 'Dotted' } })).expect(204);
    const user = await read(id);
    expect(user[ENTERPRISE].department).toBe('Intel');
    expect(user.name.familyName).toBe('Dotted');
  });

  it('removes the manager by a value filter and clears it with an empty string (Entra)', async () => {
    const id = await newUser();
    const manager = await newUser();
    await scim.patch(`/Users/${id}`, patchOp({ op: 'Add', path: `${ENTERPRISE}:manager`, value: manager })).expect(204);
    await scim.patch(`/Users/${id}`, patchOp({ op: 'Remove', path: `${ENTERPRISE}:manager[value eq "${manager}"]` })).expect(204);
    expect((await read(id))[ENTERPRISE]?.manager).toBeUndefined();
    await scim.patch(`/Users/${id}`, patchOp({ op: 'Replace', path: `${ENTERPRISE}:manager`, value: { value: manager } })).expect(204);
    await scim.patch(`/Users/${id}`, patchOp({ op: 'Replace', path: `${ENTERPRISE}:manager`, value: '' })).expect(204);
    expect((await read(id))[ENTERPRISE]?.manager).toBeUndefined();
  });

  it('applies a path-less replace with an extension block', async () => {
    const id = await newUser();
    await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', value: { [ENTERPRISE]: { employeeNumber: '42' }, displayName: 'Block' } })).expect(204);
    const user = await read(id);
    expect(user[ENTERPRISE].employeeNumber).toBe('42');
    expect(user.displayName).toBe('Block');
  });

  it('removes values selected by a filter, and keeps one primary', async () => {
    const id = await newUser({
      emails: [
        { value: 'a@example.com', type: 'work', primary: true },
        { value: 'b@example.com', type: 'home' },
      ],
    });
    await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'emails[type eq "home"].primary', value: true })).expect(204);
    const user = await read(id);
    expect(user.emails.filter((e: { primary?: boolean }) => e.primary === true).map((e: { value: string }) => e.value)).toEqual(['b@example.com']);
    await scim.patch(`/Users/${id}`, patchOp({ op: 'remove', path: 'emails[value co "a@"]' })).expect(204);
    expect((await read(id)).emails.map((e: { value: string }) => e.value)).toEqual(['b@example.com']);
  });

  it('refuses bad operations with the right scimType and stores nothing', async () => {
    const id = await newUser({ title: 'Kept' });
    expectScimError(await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'nosuch', value: 1 })), 400, 'invalidPath');
    expectScimError(await scim.patch(`/Users/${id}`, patchOp({ op: 'remove' })), 400, 'noTarget');
    expectScimError(await scim.patch(`/Users/${id}`, patchOp({ op: 'merge', path: 'title', value: 'x' })), 400, 'invalidSyntax');
    expectScimError(await scim.patch(`/Users/${id}`, { Operations: [{ op: 'replace', path: 'title', value: 'x' }] }), 400, 'invalidSyntax');
    expectScimError(
      await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'Changed' }, { op: 'replace', path: 'emails[type eq', value: 'x' })),
      400,
      'invalidPath',
    );
    expect((await read(id)).title).toBe('Kept');
  });

  it('loses no update when PATCHes of one user run concurrently', async () => {
    const id = await newUser();
    const fields = ['title', 'nickName', 'displayName', 'locale', 'preferredLanguage', 'userType'];
    const results = await Promise.all(fields.map((path) => scim.patch(`/Users/${id}`, patchOp({ op: 'add', path, value: `${path}-set` }))));
    expect(results.map((r) => r.status)).toEqual(fields.map(() => 204));
    const user = await read(id);
    for (const path of fields) expect(user[path]).toBe(`${path}-set`);
    expect(user.meta.version).toBe(`W/"${fields.length + 1}"`);
  });

  it('loses no element and refuses none when more PATCHes than retry attempts add to one multi-valued attribute at once', async () => {
    const id = await newUser();
    // Twice PATCH_ATTEMPTS racers: each stale one waits its turn and is worked out again on the fresh user.
    const added = Array.from({ length: 2 * PATCH_ATTEMPTS }, (_, i) => `concurrent.${i}@example.com`);
    const results = await Promise.all(
      added.map((value) => scim.patch(`/Users/${id}`, patchOp({ op: 'add', path: 'emails', value: [{ value, type: 'other' }] }))),
    );
    expect(results.map((r) => r.status)).toEqual(added.map(() => 204));
    const user = await read(id);
    expect(user.emails.map((e: { value: string }) => e.value).sort()).toEqual([user.userName, ...added].sort());
    expect(user.meta.version).toBe(`W/"${added.length + 1}"`);
  });
});

describe('group membership PATCH', () => {
  let members: string[];
  let groupId: string;
  const memberIds = async () => ((await scim.get(`/Groups/${groupId}`).expect(200)).body.members ?? []).map((m: { value: string }) => m.value).sort();

  beforeEach(async () => {
    members = [await newUser(), await newUser(), await newUser()];
    counter += 1;
    groupId = (
      await scim.post('/Groups', { schemas: [GROUP], displayName: `Group ${counter}`, members: members.slice(0, 2).map((value) => ({ value })) }).expect(201)
    ).body.id;
  });

  it("removes only the listed members on Entra's remove with a value", async () => {
    await scim.patch(`/Groups/${groupId}`, patchOp({ op: 'Remove', path: 'members', value: [{ value: members[0] }] })).expect(204);
    expect(await memberIds()).toEqual([members[1]]);
  });

  it('empties the group on replace members []', async () => {
    await scim.patch(`/Groups/${groupId}`, patchOp({ op: 'replace', path: 'members', value: [] })).expect(204);
    expect(await memberIds()).toEqual([]);
  });

  it('treats re-adding a member as a no-op that leaves the version alone', async () => {
    const before = (await scim.get(`/Groups/${groupId}`)).headers.etag;
    const res = await scim.patch(`/Groups/${groupId}`, patchOp({ op: 'add', path: 'members', value: [{ value: members[0] }] })).expect(204);
    expect(res.headers.etag).toBe(before);
    expect(await memberIds()).toEqual(members.slice(0, 2).sort());
  });

  it('renames and changes members in one request (Okta group push)', async () => {
    await scim
      .patch(
        `/Groups/${groupId}`,
        patchOp(
          { op: 'replace', value: { id: groupId, displayName: `Renamed ${counter}` } },
          { op: 'add', path: 'members', value: [{ value: members[2], display: 'ignored' }] },
          { op: 'remove', path: `members[value eq "${members[1]}"]` },
        ),
      )
      .expect(204);
    const group = (await scim.get(`/Groups/${groupId}`)).body;
    expect(group.displayName).toBe(`Renamed ${counter}`);
    expect(group.members.map((m: { value: string }) => m.value).sort()).toEqual([members[0], members[2]].sort());
  });

  it('refuses an unknown member in any operation and stores none of the PATCH', async () => {
    const res = await scim.patch(
      `/Groups/${groupId}`,
      patchOp(
        { op: 'remove', path: 'members', value: [{ value: members[0] }] },
        { op: 'add', path: 'members', value: [{ value: '11111111-1111-4111-8111-111111111111' }] },
      ),
    );
    expectScimError(res, 400, 'invalidValue');
    expect(await memberIds()).toEqual(members.slice(0, 2).sort());
  });

  it('loses no member when adds run concurrently', async () => {
    const extra = [await newUser(), await newUser(), await newUser(), await newUser()];
    const results = await Promise.all(extra.map((value) => scim.patch(`/Groups/${groupId}`, patchOp({ op: 'add', path: 'members', value: [{ value }] }))));
    expect(results.map((r) => r.status)).toEqual(extra.map(() => 204));
    expect(await memberIds()).toEqual([...members.slice(0, 2), ...extra].sort());
  });

  it('keeps every change when renames race member changes of one group', async () => {
    const extra = [await newUser(), await newUser(), await newUser()];
    const results = await Promise.all([
      ...extra.map((value) => scim.patch(`/Groups/${groupId}`, patchOp({ op: 'add', path: 'members', value: [{ value }] }))),
      scim.patch(`/Groups/${groupId}`, patchOp({ op: 'replace', path: 'displayName', value: `Raced ${counter}` })),
      scim.patch(
        `/Groups/${groupId}`,
        patchOp({ op: 'replace', path: 'externalId', value: `ext-${counter}` }, { op: 'remove', path: `members[value eq "${members[0]}"]` }),
      ),
    ]);
    expect(results.map((r) => r.status)).toEqual([204, 204, 204, 204, 204]);
    const group = (await scim.get(`/Groups/${groupId}`).expect(200)).body;
    expect(group.displayName).toBe(`Raced ${counter}`);
    expect(group.externalId).toBe(`ext-${counter}`);
    expect(await memberIds()).toEqual([members[1], ...extra].sort());
    expect(group.meta.version).toBe('W/"6"');
  });
});
