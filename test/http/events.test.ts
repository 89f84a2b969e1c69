import { events as eventsCommand } from '../../src/cli/reports';
import { EVENT_URIS } from '../../src/domain/events';
import { startTestRoster, type TestRoster } from '../support/roster';
import { ENTERPRISE, GROUP, ROSTER, USER, patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

interface Row {
  id: string;
  time: string;
  resourceType: string;
  resourceId: string;
  events: string[];
  attributes: string[];
  txn: string | null;
}

let t: TestRoster;
let scim: ScimClient;
beforeAll(async () => {
  t = await startTestRoster();
  scim = scimClient(t.app, t.token);
});
afterAll(() => t.close());

/** `roster events --org <slug> --json`, run in this process. */
async function listed(org = 'acme', extra: Record<string, string> = {}): Promise<Row[]> {
  let out = '';
  await eventsCommand(t.roster, [], { org, json: true, ...extra }, { out: (text) => (out += text), err: () => undefined });
  return JSON.parse(out) as Row[];
}

/** The events written while `work` ran, oldest first. */
async function written(work: () => Promise<unknown>): Promise<Row[]> {
  const before = (await listed('acme', { limit: '1' }))[0]?.id ?? '0';
  await work();
  return (await listed()).filter((row) => BigInt(row.id) > BigInt(before)).reverse();
}

const shape = (row: Row) => ({ resourceType: row.resourceType, resourceId: row.resourceId, events: row.events, attributes: row.attributes });

async function createUser(userName: string, extra: Record<string, unknown> = {}): Promise<string> {
  return (await scim.post('/Users', userBody(userName, extra)).expect(201)).body.id as string;
}

describe('provisioning events (transactional outbox)', () => {
  it('writes create:notice for a new user, naming the attributes it has other than the defaults, with the request id', async () => {
    let requestId = '';
    let id = '';
    const rows = await written(async () => {
      const res = await scim.post('/Users', userBody('ev.create@example.com')).expect(201);
      requestId = res.headers['x-request-id'];
      id = res.body.id;
    });
    expect(rows.map(shape)).toEqual([{ resourceType: 'User', resourceId: id, events: [EVENT_URIS.createNotice], attributes: ['emails', 'name', 'userName'] }]);
    expect(rows[0].txn).toBe(requestId);
    expect(Number.isNaN(Date.parse(rows[0].time))).toBe(false);
  });

  it('writes patch:notice and deactivate for a PATCH of active to false, activate when it comes back', async () => {
    const id = await createUser('ev.active@example.com');
    const off = await written(() => scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(204));
    expect(off.map(shape)).toEqual([{ resourceType: 'User', resourceId: id, events: [EVENT_URIS.patchNotice, EVENT_URIS.deactivate], attributes: ['active'] }]);
    const on = await written(() => scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: true })).expect(204));
    expect(on.map(shape)).toEqual([{ resourceType: 'User', resourceId: id, events: [EVENT_URIS.patchNotice, EVENT_URIS.activate], attributes: ['active'] }]);
  });

  it('writes delete for a deleted manager, then patch:notice for each user it managed, in that order', async () => {
    const manager = await createUser('ev.manager@example.com');
    const reports = [
      await createUser('ev.report1@example.com', { schemas: [USER, ENTERPRISE], [ENTERPRISE]: { manager: { value: manager } } }),
      await createUser('ev.report2@example.com', { schemas: [USER, ENTERPRISE], [ENTERPRISE]: { manager: { value: manager } } }),
    ];
    const rows = await written(() => scim.delete(`/Users/${manager}`).expect(204));
    expect(shape(rows[0])).toEqual({ resourceType: 'User', resourceId: manager, events: [EVENT_URIS.delete], attributes: [] });
    expect(
      rows
        .slice(1)
        .map(shape)
        .sort((a, b) => a.resourceId.localeCompare(b.resourceId)),
    ).toEqual(
      [...reports].sort().map((id) => ({ resourceType: 'User', resourceId: id, events: [EVENT_URIS.patchNotice], attributes: [`${ENTERPRISE}:manager`] })),
    );
  });

  it('writes put:notice for a PUT, naming what it changed', async () => {
    const id = await createUser('ev.put@example.com');
    const rows = await written(() => scim.put(`/Users/${id}`, userBody('ev.put@example.com', { displayName: 'Put Here' })).expect(200));
    expect(rows.map(shape)).toEqual([{ resourceType: 'User', resourceId: id, events: [EVENT_URIS.putNotice], attributes: ['displayName'] }]);
  });

  it('names a role change by its extension attribute', async () => {
    const id = await createUser('ev.role@example.com');
    const rows = await written(() =>
      scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: `${ROSTER}:organizationRole`, value: 'Sharing User' })).expect(204),
    );
    expect(rows.map(shape)).toEqual([{ resourceType: 'User', resourceId: id, events: [EVENT_URIS.patchNotice], attributes: [`${ROSTER}:organizationRole`] }]);
  });

  it('writes nothing for a PATCH that changes nothing', async () => {
    const id = await createUser('ev.noop@example.com');
    const rows = await written(() => scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: true })).expect(204));
    expect(rows).toEqual([]);
  });

  it('writes delete for a deleted user', async () => {
    const id = await createUser('ev.delete@example.com');
    const rows = await written(() => scim.delete(`/Users/${id}`).expect(204));
    expect(rows.map(shape)).toEqual([{ resourceType: 'User', resourceId: id, events: [EVENT_URIS.delete], attributes: [] }]);
  });

  it('writes, for a deleted member, a patch:notice of members for each group it left, with the same txn, and the groups no longer list it', async () => {
    const member = await createUser('ev.leaver@example.com');
    const stays = await createUser('ev.stayer@example.com');
    const groupIds: string[] = [];
    for (const name of ['Leavers A', 'Leavers B']) {
      const body = { schemas: [GROUP], displayName: name, members: [{ value: member }, { value: stays }] };
      groupIds.push((await scim.post('/Groups', body).expect(201)).body.id as string);
    }
    const other = (await scim.post('/Groups', { schemas: [GROUP], displayName: 'Not a member', members: [{ value: stays }] }).expect(201)).body.id as string;
    const rows = await written(() => scim.delete(`/Users/${member}`).expect(204));
    expect(rows.map(shape)).toEqual([
      { resourceType: 'User', resourceId: member, events: [EVENT_URIS.delete], attributes: [] },
      ...[...groupIds].sort().map((id) => ({ resourceType: 'Group', resourceId: id, events: [EVENT_URIS.patchNotice], attributes: ['members'] })),
    ]);
    expect(new Set(rows.map((row) => row.txn)).size).toBe(1);
    expect(rows.some((row) => row.resourceId === other)).toBe(false);
    for (const id of groupIds) {
      const members = ((await scim.get(`/Groups/${id}`).expect(200)).body.members as { value: string }[]).map((m) => m.value);
      expect(members).toEqual([stays]);
    }
  });

  it('writes a group create, a member added and removed (patch:notice with members), and its delete', async () => {
    const member = await createUser('ev.member@example.com');
    let groupId = '';
    const created = await written(async () => {
      groupId = (await scim.post('/Groups', { schemas: [GROUP], displayName: 'Event Group' }).expect(201)).body.id;
    });
    expect(created.map(shape)).toEqual([{ resourceType: 'Group', resourceId: groupId, events: [EVENT_URIS.createNotice], attributes: ['displayName'] }]);
    const added = await written(() => scim.patch(`/Groups/${groupId}`, patchOp({ op: 'add', path: 'members', value: [{ value: member }] })).expect(204));
    const removed = await written(() => scim.patch(`/Groups/${groupId}`, patchOp({ op: 'remove', path: `members[value eq "${member}"]` })).expect(204));
    for (const rows of [added, removed]) {
      expect(rows.map(shape)).toEqual([{ resourceType: 'Group', resourceId: groupId, events: [EVENT_URIS.patchNotice], attributes: ['members'] }]);
    }
    const deleted = await written(() => scim.delete(`/Groups/${groupId}`).expect(204));
    expect(deleted.map(shape)).toEqual([{ resourceType: 'Group', resourceId: groupId, events: [EVENT_URIS.delete], attributes: [] }]);
  });

  it('writes the events of the successful operations of a Bulk request only', async () => {
    let bulkRes: { body: { Operations: { status: string; location?: string }[] }; headers: Record<string, string> } | undefined;
    const rows = await written(async () => {
      bulkRes = await scim
        .post('/Bulk', {
          schemas: [BULK],
          Operations: [
            { method: 'POST', path: '/Users', bulkId: 'ok', data: userBody('ev.bulk@example.com') },
            { method: 'POST', path: '/Users', bulkId: 'taken', data: userBody('ev.create@example.com') },
          ],
        })
        .expect(200);
    });
    expect(bulkRes!.body.Operations.map((o) => o.status)).toEqual(['201', '409']);
    const id = bulkRes!.body.Operations[0].location!.split('/').pop();
    expect(rows.map(shape)).toEqual([{ resourceType: 'User', resourceId: id, events: [EVENT_URIS.createNotice], attributes: ['emails', 'name', 'userName'] }]);
    expect(rows[0].txn).toBe(bulkRes!.headers['x-request-id']);
  });

  it('writes nothing for a refused (403) or rolled-back (409) request', async () => {
    const reader = scimClient(t.app, (await t.roster.credentials.issue({ organizationId: t.org.id, organizationRole: 'Read Only User' })).secret);
    const id = await createUser('ev.refused@example.com');
    const refused = await written(async () => {
      await reader.post('/Users', userBody('ev.reader@example.com')).expect(403);
      await reader.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'active', value: false })).expect(403);
    });
    expect(refused).toEqual([]);
    const rolledBack = await written(async () => {
      await scim.post('/Users', userBody('ev.refused@example.com')).expect(409);
      await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'userName', value: 'ev.create@example.com' })).expect(409);
    });
    expect(rolledBack).toEqual([]);
  });

  it("lists one organization's events only, newest first, within --limit and --since", async () => {
    const other = await t.newOrganization('other');
    expect(await listed('other')).toEqual([]);
    await scim.post('/Users', userBody('ev.mine@example.com')).expect(201);
    await scimClient(t.app, other.token).post('/Users', userBody('ev.theirs@example.com')).expect(201);
    const theirs = await listed('other');
    expect(theirs).toHaveLength(1);
    const mine = await listed();
    expect(mine.map((r) => r.resourceId)).not.toContain(theirs[0].resourceId);
    const ids = mine.map((r) => BigInt(r.id));
    expect([...ids].sort((a, b) => (a > b ? -1 : a < b ? 1 : 0))).toEqual(ids);
    expect(await listed('acme', { limit: '2' })).toEqual(mine.slice(0, 2));
    expect(await listed('acme', { since: '2999-01-01T00:00:00Z' })).toEqual([]);
  });
});
