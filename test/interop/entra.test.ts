/**
 * Microsoft Entra ID's provisioning requests, replayed in the order of Microsoft's
 * "Tutorial: Develop and plan provisioning for a SCIM endpoint in Microsoft Entra ID"
 * (its request/response examples: Create User, Get User, Get User by query, ... Delete
 * Group), with ids and names adapted. The bodies keep Entra's habits: `op` capitalised,
 * booleans as the strings "True"/"False", `emails[type eq "work"].value` paths, the
 * enterprise manager as a bare id, members removed by a `value` list, `"$ref": null`,
 * and the extra group schema URI. The `it`s run in sequence and share state.
 */
import { randomUUID } from 'node:crypto';
import { startTestRoster, type TestRoster } from '../support/roster';
import { ENTERPRISE, GROUP, PATCH_OP, USER, expectScimError, scimClient, type ScimClient } from '../support/scim';

const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const MICROSOFT_GROUP = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';
const MANAGER = `${ENTERPRISE}:manager`;
/** Entra reaches Roster through a TLS proxy, so ROSTER_PUBLIC_URL is set (README, "Connecting Microsoft Entra ID"). */
const PUBLIC_URL = 'https://roster.example.com';
const BASE = `${PUBLIC_URL}/scim/v2`;

let t: TestRoster;
let scim: ScimClient;
beforeAll(async () => {
  t = await startTestRoster({ publicBaseUrl: PUBLIC_URL });
  scim = scimClient(t.app, t.token);
});
afterAll(() => t.close());

const q = (filter: string) => encodeURIComponent(filter);
/** Entra's PatchOp bodies put Operations first and schemas last; order is irrelevant. */
const entraPatch = (...Operations: Record<string, unknown>[]) => ({ Operations, schemas: [PATCH_OP] });

/** Every Entra response must be application/scim+json (Microsoft's general guidelines). */
function expectScimJson(res: { headers: Record<string, string> }) {
  expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
}

function expectEmptyList(body: Record<string, unknown>) {
  expect(body).toEqual({ schemas: [LIST], totalResults: 0, startIndex: 1, itemsPerPage: 0, Resources: [] });
}

/** "Create User" of the Microsoft doc, with the enterprise extension Entra's default mappings fill. */
function createUserBody(userName: string, externalId: string, extra: Record<string, unknown> = {}) {
  return {
    schemas: [USER, ENTERPRISE],
    externalId,
    userName,
    active: true,
    emails: [{ primary: true, type: 'work', value: `${userName.split('@')[0]}@contoso.example` }],
    meta: { resourceType: 'User' },
    name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
    roles: [],
    [ENTERPRISE]: { department: 'Human Resources US', employeeNumber: '100009' },
    ...extra,
  };
}

describe('Microsoft Entra ID provisioning run (Microsoft SCIM endpoint tutorial, in order)', () => {
  const suffix = randomUUID();
  const userName = `Test_User_${suffix}@contoso.example`;
  const externalId = randomUUID();
  let userId = '';
  let managerId = '';
  let otherManagerId = '';
  let groupId = '';
  const groupName = `displayName ${suffix}`;
  const renamed = `${suffix}updatedDisplayName`;

  const read = async (id: string) => (await scim.get(`/Users/${id}`).expect(200)).body;
  const memberIds = async () => ((await scim.get(`/Groups/${groupId}`).expect(200)).body.members ?? []).map((m: { value: string }) => m.value).sort();

  it('passes Test Connection: GET /Users?filter=userName eq "<random guid>" answers 200 with totalResults 0', async () => {
    const res = await scim.get(`/Users?filter=${q(`userName eq "${randomUUID()}"`)}`).expect(200);
    expectScimJson(res);
    expectEmptyList(res.body);
  });

  it('creates a user with the enterprise extension, a work email and active true: 201 with Location', async () => {
    const res = await scim.post('/Users', createUserBody(userName, externalId)).expect(201);
    expectScimJson(res);
    expect(res.body.schemas).toEqual(expect.arrayContaining([USER, ENTERPRISE]));
    expect(res.body).toMatchObject({
      externalId,
      userName,
      active: true,
      emails: [{ primary: true, type: 'work', value: `Test_User_${suffix}@contoso.example` }],
      name: { formatted: 'givenName familyName', familyName: 'familyName', givenName: 'givenName' },
      [ENTERPRISE]: { department: 'Human Resources US', employeeNumber: '100009' },
    });
    expect(res.body.meta).toMatchObject({ resourceType: 'User', location: `${BASE}/Users/${res.body.id}` });
    expect(Date.parse(res.body.meta.created)).not.toBeNaN();
    expect(Date.parse(res.body.meta.lastModified)).not.toBeNaN();
    expect(res.headers.location).toBe(res.body.meta.location);
    userId = res.body.id;
  });

  it('creates the managers Entra provisions alongside, active given as the string "True"', async () => {
    const first = await scim.post('/Users', createUserBody(`Manager_${suffix}@contoso.example`, randomUUID(), { active: 'True' })).expect(201);
    expect(first.body.active).toBe(true);
    const second = await scim.post('/Users', createUserBody(`Manager2_${suffix}@contoso.example`, randomUUID())).expect(201);
    managerId = first.body.id;
    otherManagerId = second.body.id;
  });

  it('gets the user by id (Get User)', async () => {
    const res = await scim.get(`/Users/${userId}`).expect(200);
    expectScimJson(res);
    expect(res.body).toMatchObject({ id: userId, userName, externalId, active: true });
  });

  it('gets the user by query on userName (Get User by query)', async () => {
    const res = await scim.get(`/Users?filter=${q(`userName eq "${userName}"`)}`).expect(200);
    expectScimJson(res);
    expect(res.body).toMatchObject({ schemas: [LIST], totalResults: 1, startIndex: 1, itemsPerPage: 1 });
    expect(res.body.Resources[0]).toMatchObject({ id: userId, userName, externalId });
  });

  it('gets the user by query on externalId, the matching attribute of the default mappings', async () => {
    const res = await scim.get(`/Users?filter=${q(`externalId eq "${externalId}"`)}`).expect(200);
    expect(res.body.totalResults).toBe(1);
    expect(res.body.Resources[0].id).toBe(userId);
  });

  it('gets zero results for a user that is not there (Get User by query - zero results)', async () => {
    const res = await scim.get(`/Users?filter=${q('userName eq "non-existent user"')}`).expect(200);
    expectEmptyList(res.body);
  });

  it('updates multi-valued properties: Replace emails[type eq "work"].value and name.familyName', async () => {
    const res = await scim.patch(
      `/Users/${userId}`,
      entraPatch(
        { op: 'Replace', path: 'emails[type eq "work"].value', value: 'updatedEmail@contoso.example' },
        { op: 'Replace', path: 'name.familyName', value: 'updatedFamilyName' },
        { op: 'Replace', path: `${ENTERPRISE}:department`, value: 'Sales' },
      ),
    );
    expect(res.status).toBe(204);
    expect(res.headers.etag).toMatch(/^W\/"\d+"$/);
    const user = await read(userId);
    expect(user.emails).toEqual([{ primary: true, type: 'work', value: 'updatedEmail@contoso.example' }]);
    expect(user.name).toEqual({ formatted: 'givenName familyName', familyName: 'updatedFamilyName', givenName: 'givenName' });
    expect(user[ENTERPRISE]).toEqual({ department: 'Sales', employeeNumber: '100009' });
  });

  it('updates a single-valued property: Replace userName', async () => {
    const newName = `${suffix}@testuser.contoso.example`;
    await scim.patch(`/Users/${userId}`, entraPatch({ op: 'Replace', path: 'userName', value: newName })).expect(204);
    expect((await read(userId)).userName).toBe(newName);
    expect((await scim.get(`/Users?filter=${q(`userName eq "${userName}"`)}`).expect(200)).body.totalResults).toBe(0);
    const found = await scim.get(`/Users?filter=${q(`userName eq "${newName}"`)}`).expect(200);
    expect(found.body.Resources.map((u: { id: string }) => u.id)).toEqual([userId]);
  });

  it('Entra disables a user with the string "False"', async () => {
    await scim.patch(`/Users/${userId}`, entraPatch({ op: 'Replace', path: 'active', value: 'False' })).expect(204);
    const user = await read(userId);
    expect(user.active).toBe(false);
    const inactive = await scim.get(`/Users?filter=${q('active eq false')}`).expect(200);
    expect(inactive.body.Resources.map((u: { id: string }) => u.id)).toEqual([userId]);
  });

  it('re-enables with "True", and disables with the boolean false of Microsoft\'s "Disable User" example', async () => {
    await scim.patch(`/Users/${userId}`, entraPatch({ op: 'Replace', path: 'active', value: 'True' })).expect(204);
    expect((await read(userId)).active).toBe(true);
    await scim.patch(`/Users/${userId}`, entraPatch({ op: 'Replace', path: 'active', value: false })).expect(204);
    expect((await read(userId)).active).toBe(false);
    await scim.patch(`/Users/${userId}`, entraPatch({ op: 'Replace', path: 'active', value: 'True' })).expect(204);
  });

  it('sets the manager from a bare id string (Add on the enterprise manager path)', async () => {
    await scim.patch(`/Users/${userId}`, entraPatch({ op: 'Add', path: MANAGER, value: managerId })).expect(204);
    const user = await read(userId);
    expect(user[ENTERPRISE].manager).toMatchObject({ value: managerId });
    expect(user[ENTERPRISE].department).toBe('Sales');
  });

  it('replaces the manager given as {"value": id}, and again as a bare id', async () => {
    await scim.patch(`/Users/${userId}`, entraPatch({ op: 'Replace', path: MANAGER, value: { value: otherManagerId } })).expect(204);
    expect((await read(userId))[ENTERPRISE].manager).toMatchObject({ value: otherManagerId });
    await scim.patch(`/Users/${userId}`, entraPatch({ op: 'Replace', path: MANAGER, value: managerId })).expect(204);
    expect((await read(userId))[ENTERPRISE].manager).toMatchObject({ value: managerId });
  });

  it('removes the manager with Remove on the manager path, keeping the rest of the extension', async () => {
    await scim.patch(`/Users/${userId}`, entraPatch({ op: 'Remove', path: MANAGER })).expect(204);
    const user = await read(userId);
    expect(user[ENTERPRISE].manager).toBeUndefined();
    expect(user[ENTERPRISE]).toEqual({ department: 'Sales', employeeNumber: '100009' });
  });

  it('removes the manager also when Entra names it in the value of the Remove', async () => {
    await scim.patch(`/Users/${userId}`, entraPatch({ op: 'Add', path: MANAGER, value: managerId })).expect(204);
    await scim.patch(`/Users/${userId}`, entraPatch({ op: 'Remove', path: MANAGER, value: [{ value: managerId }] })).expect(204);
    expect((await read(userId))[ENTERPRISE].manager).toBeUndefined();
  });

  it("creates a group with Microsoft's extra schema URI (Create Group): 201 with Location", async () => {
    const groupExternalId = randomUUID();
    const res = await scim
      .post('/Groups', { schemas: [GROUP, MICROSOFT_GROUP], externalId: groupExternalId, displayName: groupName, meta: { resourceType: 'Group' } })
      .expect(201);
    expectScimJson(res);
    expect(res.body.schemas).toContain(GROUP);
    expect(res.body).toMatchObject({ externalId: groupExternalId, displayName: groupName });
    expect(res.body.members ?? []).toEqual([]);
    expect(res.body.meta).toMatchObject({ resourceType: 'Group', location: `${BASE}/Groups/${res.body.id}` });
    expect(res.headers.location).toBe(res.body.meta.location);
    groupId = res.body.id;
  });

  it('gets the group by id with excludedAttributes=members (Get Group)', async () => {
    const res = await scim.get(`/Groups/${groupId}?excludedAttributes=members`).expect(200);
    expectScimJson(res);
    expect(res.body).toMatchObject({ id: groupId, displayName: groupName });
    expect(res.body.members).toBeUndefined();
  });

  it('gets the group by displayName with excludedAttributes=members (Get Group by displayName)', async () => {
    const res = await scim.get(`/Groups?excludedAttributes=members&filter=${q(`displayName eq "${groupName}"`)}`).expect(200);
    expect(res.body).toMatchObject({ schemas: [LIST], totalResults: 1, startIndex: 1, itemsPerPage: 1 });
    expect(res.body.Resources[0]).toMatchObject({ id: groupId, displayName: groupName });
    expect(res.body.Resources[0].members).toBeUndefined();
  });

  it('updates a non-member attribute: Replace displayName (Update Group [Non-member attributes]) answers 204', async () => {
    const res = await scim.patch(`/Groups/${groupId}`, entraPatch({ op: 'Replace', path: 'displayName', value: renamed }));
    expect(res.status).toBe(204);
    expect((await scim.get(`/Groups/${groupId}`).expect(200)).body.displayName).toBe(renamed);
    expect((await scim.get(`/Groups?filter=${q(`displayName eq "${groupName}"`)}`).expect(200)).body.totalResults).toBe(0);
  });

  it('adds two members with Add members and a value array (Update Group [Add Members])', async () => {
    await scim
      .patch(
        `/Groups/${groupId}`,
        entraPatch({
          op: 'Add',
          path: 'members',
          value: [
            { $ref: null, value: userId },
            { $ref: null, value: managerId },
          ],
        }),
      )
      .expect(204);
    expect(await memberIds()).toEqual([userId, managerId].sort());
  });

  it('removes one member with Remove members and a value array of one: only that one is gone', async () => {
    await scim.patch(`/Groups/${groupId}`, entraPatch({ op: 'Remove', path: 'members', value: [{ $ref: null, value: managerId }] })).expect(204);
    expect(await memberIds()).toEqual([userId]);
    const user = await read(userId);
    expect(user.groups).toEqual([expect.objectContaining({ value: groupId, display: renamed })]);
    expect((await read(managerId)).groups).toBeUndefined();
  });

  it('deletes the user (Delete User): 204, then 404 and no longer found by query', async () => {
    const res = await scim.delete(`/Users/${userId}`).expect(204);
    expect(res.text).toBe('');
    expectScimError(await scim.get(`/Users/${userId}`), 404);
    expect((await scim.get(`/Users?filter=${q(`externalId eq "${externalId}"`)}`).expect(200)).body.totalResults).toBe(0);
  });

  it("drops the deleted user from the group's members", async () => {
    const group = (await scim.get(`/Groups/${groupId}`).expect(200)).body;
    expect(group.members ?? []).toEqual([]);
    const byMember = await scim.get(`/Groups?filter=${q(`members.value eq "${userId}"`)}`).expect(200);
    expect(byMember.body.totalResults).toBe(0);
  });

  it('deletes the group (Delete Group): 204, then 404', async () => {
    const res = await scim.delete(`/Groups/${groupId}`).expect(204);
    expect(res.text).toBe('');
    expectScimError(await scim.get(`/Groups/${groupId}`), 404);
    expect((await scim.get(`/Groups?filter=${q(`displayName eq "${renamed}"`)}`).expect(200)).body.totalResults).toBe(0);
    await scim.get(`/Users/${managerId}`).expect(200);
  });
});
