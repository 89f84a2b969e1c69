import { COMMANDS } from '../../src/cli/commands';
import type { Flags } from '../../src/cli/command';
import type { RoleChange } from '../../src/domain/group-role';
import { servesOneSession } from '../../src/orm/database';
import { GroupRoleSqlRepository } from '../../src/orm/group-role.repository';
import { OrganizationSqlRepository } from '../../src/orm/organization.repository';
import { Sql } from '../../src/orm/sql';
import { advisoryLockWaiters, holdingLicenseLock, rowLockWaiters } from '../support/locks';
import { startTestRoster, type TestRoster } from '../support/roster';
import { GROUP, ROSTER, expectScimError, patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

/**
 * Roles from groups (issue #15; docs/roles.md "Roles from groups"): an operator maps a
 * group to roles; its members get the highest grant; every membership change recomputes
 * them under the policy of the token that made it.
 */
let t: TestRoster;
/** The default provisioning token: Api User, Organization Administrator (rank 1). */
let scim: ScimClient;
/** An Administrator token of the same organization. */
let admin: ScimClient;
let serial = 0;

beforeAll(async () => {
  t = await startTestRoster();
  scim = scimClient(t.app, t.token);
  const { secret } = await t.roster.credentials.issue({ organizationId: t.org.id, systemRole: 'Administrator', name: 'admin' });
  admin = scimClient(t.app, secret);
});
afterAll(() => t.close());

const unique = (prefix: string) => `${prefix}-${++serial}`;

async function newUser(roles: { systemRole?: string; organizationRole?: string } = {}, client = admin): Promise<string> {
  const body = userBody(
    `${unique('member')}@example.com`,
    Object.keys(roles).length > 0 ? { schemas: [userBody('').schemas[0], ROSTER], [ROSTER]: roles } : {},
  );
  return (await client.post('/Users', body).expect(201)).body.id;
}

async function newGroup(members: string[] = [], displayName = unique('group')): Promise<{ id: string; displayName: string }> {
  const res = await admin.post('/Groups', { schemas: [GROUP], displayName, members: members.map((value) => ({ value })) }).expect(201);
  return { id: res.body.id, displayName };
}

const setMapping = (group: string, roles: { organizationRole?: string; systemRole?: string }) => t.roster.groupRoles.set(t.org.id, group, roles);

async function rolesOf(id: string) {
  const block = (await admin.get(`/Users/${id}`).expect(200)).body[ROSTER];
  const source = { systemRole: block.systemRoleSource, organizationRole: block.organizationRoleSource };
  for (const key of ['systemRole', 'organizationRole'] as const) if (source[key] === undefined) delete source[key];
  return { systemRole: block.systemRole, organizationRole: block.organizationRole, roleSource: Object.keys(source).length > 0 ? source : undefined };
}

const add = (client: ScimClient, group: string, ...users: string[]) =>
  client.patch(`/Groups/${group}`, patchOp({ op: 'add', path: 'members', value: users.map((value) => ({ value })) }));
const remove = (client: ScimClient, group: string, user: string) =>
  client.patch(`/Groups/${group}`, patchOp({ op: 'remove', path: `members[value eq "${user}"]` }));

async function memberIds(group: string, client = admin): Promise<string[]> {
  return ((await client.get(`/Groups/${group}`).expect(200)).body.members ?? []).map((m: { value: string }) => m.value).sort();
}

describe('a mapped group grants its roles to its members', () => {
  it('grants the role on joining, shows the group as roleSource, and restores the direct role on leaving', async () => {
    const analysts = await newGroup([], unique('TI-Analysts'));
    await setMapping(analysts.displayName, { organizationRole: 'Sharing User' });
    const user = await newUser();
    await add(scim, analysts.id, user).expect(204);
    expect(await rolesOf(user)).toEqual({ systemRole: 'User', organizationRole: 'Sharing User', roleSource: { organizationRole: analysts.displayName } });
    // The list page (rendered by PostgreSQL) says the same.
    const listed = await admin.get(`/Users?filter=${encodeURIComponent(`id eq "${user}"`)}`).expect(200);
    expect(listed.body.Resources[0][ROSTER].organizationRoleSource).toBe(analysts.displayName);
    expect(listed.body.Resources[0][ROSTER]).not.toHaveProperty('systemRoleSource');
    // A projection that leaves out `groups` still names the granting group.
    const projected = await admin.get(`/Users/${user}?excludedAttributes=groups`).expect(200);
    expect(projected.body.groups).toBeUndefined();
    expect(projected.body[ROSTER].organizationRoleSource).toBe(analysts.displayName);
    await remove(scim, analysts.id, user).expect(204);
    expect(await rolesOf(user)).toEqual({ systemRole: 'User', organizationRole: 'Standard User', roleSource: undefined });
  });

  it('gives the highest grant among the groups, and each departure falls back to the next', async () => {
    const commenters = await newGroup();
    const admins = await newGroup();
    const ops = await newGroup();
    const leaders = await newGroup();
    await setMapping(commenters.displayName, { organizationRole: 'read only commenter' });
    await setMapping(admins.displayName, { organizationRole: 'Organization Administrator' });
    await setMapping(ops.displayName, { systemRole: 'Operations Administrator' });
    await setMapping(leaders.displayName, { systemRole: 'Community Leader' });
    const user = await newUser({ organizationRole: 'Read Only User', systemRole: 'User' });
    for (const group of [commenters, admins, leaders, ops]) await add(admin, group.id, user).expect(204);
    expect(await rolesOf(user)).toEqual({
      systemRole: 'Operations Administrator',
      organizationRole: 'Organization Administrator',
      roleSource: { systemRole: ops.displayName, organizationRole: admins.displayName },
    });
    await remove(admin, admins.id, user).expect(204);
    await remove(admin, ops.id, user).expect(204);
    expect(await rolesOf(user)).toEqual({
      systemRole: 'Community Leader',
      organizationRole: 'Read Only Commenter',
      roleSource: { systemRole: leaders.displayName, organizationRole: commenters.displayName },
    });
    await remove(admin, commenters.id, user).expect(204);
    await remove(admin, leaders.id, user).expect(204);
    expect(await rolesOf(user)).toEqual({ systemRole: 'User', organizationRole: 'Read Only User', roleSource: undefined });
  });

  it('ranks system roles of one rank in the order of the system roles (Community Leader before Super User)', async () => {
    const supers = await newGroup();
    const leaders = await newGroup();
    await setMapping(supers.displayName, { systemRole: 'Super User', organizationRole: 'Organization Administrator' });
    await setMapping(leaders.displayName, { systemRole: 'Community Leader' });
    const user = await newUser();
    await add(admin, supers.id, user).expect(204);
    await add(admin, leaders.id, user).expect(204);
    expect((await rolesOf(user)).systemRole).toBe('Community Leader');
  });

  it('recomputes every member when a mapping is set, changed and removed', async () => {
    const users = [await newUser(), await newUser({ organizationRole: 'App Developer' })];
    const group = await newGroup(users);
    const set = await setMapping(group.displayName, { organizationRole: 'Sharing User' });
    expect(set.map((c) => c.after.id).sort()).toEqual([...users].sort());
    for (const user of users) expect((await rolesOf(user)).organizationRole).toBe('Sharing User');
    await setMapping(group.displayName, { systemRole: 'Read Only User', organizationRole: 'Read Only Commenter' });
    for (const user of users) expect(await rolesOf(user)).toMatchObject({ systemRole: 'Read Only User', organizationRole: 'Read Only Commenter' });
    await t.roster.groupRoles.remove(t.org.id, group.displayName);
    expect(await rolesOf(users[0])).toEqual({ systemRole: 'User', organizationRole: 'Standard User', roleSource: undefined });
    expect(await rolesOf(users[1])).toEqual({ systemRole: 'User', organizationRole: 'App Developer', roleSource: undefined });
  });

  it('follows the group through a rename', async () => {
    const user = await newUser();
    const group = await newGroup([user]);
    await setMapping(group.displayName, { organizationRole: 'Sharing User' });
    const renamed = unique('Renamed');
    await admin.patch(`/Groups/${group.id}`, patchOp({ op: 'replace', path: 'displayName', value: renamed })).expect(204);
    expect(await rolesOf(user)).toMatchObject({ organizationRole: 'Sharing User', roleSource: { organizationRole: renamed } });
    const listed = await t.roster.groupRoles.list(t.org.id);
    expect(listed.find((m) => m.groupId === group.id)).toMatchObject({ groupDisplayName: renamed, organizationRole: 'Sharing User' });
  });

  it('gives the members back their direct roles when the group is deleted', async () => {
    const user = await newUser({ organizationRole: 'App Developer' });
    const group = await newGroup([user]);
    await setMapping(group.displayName, { organizationRole: 'Sharing User' });
    await scim.delete(`/Groups/${group.id}`).expect(204);
    expect(await rolesOf(user)).toEqual({ systemRole: 'User', organizationRole: 'App Developer', roleSource: undefined });
    expect((await t.roster.groupRoles.list(t.org.id)).some((m) => m.groupId === group.id)).toBe(false);
  });

  it('recomputes on PUT of a group, and on a Bulk request', async () => {
    const [a, b] = [await newUser(), await newUser()];
    const group = await newGroup([a]);
    await setMapping(group.displayName, { organizationRole: 'Sharing User' });
    await scim.put(`/Groups/${group.id}`, { schemas: [GROUP], displayName: group.displayName, members: [{ value: b }] }).expect(200);
    expect((await rolesOf(a)).organizationRole).toBe('Standard User');
    expect((await rolesOf(b)).organizationRole).toBe('Sharing User');
    const bulk = await scim
      .post('/Bulk', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: [{ method: 'PATCH', path: `/Groups/${group.id}`, data: patchOp({ op: 'add', path: 'members', value: [{ value: a }] }) }],
      })
      .expect(200);
    expect(bulk.body.Operations[0].status).toBe('200');
    expect((await rolesOf(a)).organizationRole).toBe('Sharing User');
  });
});

describe('the policy applies to the effect', () => {
  it('refuses adding a member to a group whose role ranks above the token (rule 3), naming the group; nothing stored', async () => {
    const group = await newGroup([], unique('Super-Users'));
    await setMapping(group.displayName, { systemRole: 'Super User', organizationRole: 'Organization Administrator' });
    const user = await newUser({}, scim);
    const res = await add(scim, group.id, user);
    expectScimError(res, 403);
    expect(res.body.detail).toContain(`group "${group.displayName}"`);
    expect(res.body.detail).toContain('rule: no granting upward');
    expect(await memberIds(group.id)).toEqual([]);
    expect(await rolesOf(user)).toEqual({ systemRole: 'User', organizationRole: 'Standard User', roleSource: undefined });
    // The Administrator token may.
    await add(admin, group.id, user).expect(204);
    expect((await rolesOf(user)).systemRole).toBe('Super User');
  });

  it('refuses a system role the token may not choose (rule 4)', async () => {
    const group = await newGroup();
    await setMapping(group.displayName, { systemRole: 'Taxii User' });
    const user = await newUser({}, scim);
    const res = await add(scim, group.id, user);
    expectScimError(res, 403);
    expect(res.body.detail).toContain(`group "${group.displayName}"`);
    expect(await memberIds(group.id)).toEqual([]);
  });

  it('refuses a membership change that would change the roles of a user ranked above the token (rule 2), either way', async () => {
    const group = await newGroup();
    await setMapping(group.displayName, { organizationRole: 'Sharing User' });
    const leader = await newUser({ systemRole: 'Community Leader' });
    const res = await add(scim, group.id, leader);
    expectScimError(res, 403);
    expect(res.body.detail).toMatch(/cannot edit a user whose system role is Community Leader/);
    expect(await memberIds(group.id)).toEqual([]);
    // Removing a user whose role the group raised above the token is acting upward too.
    const ops = await newGroup();
    await setMapping(ops.displayName, { systemRole: 'Super User', organizationRole: 'Organization Administrator' });
    const raised = await newUser();
    await add(admin, ops.id, raised).expect(204);
    expectScimError(await remove(scim, ops.id, raised), 403);
    expect(await memberIds(ops.id)).toEqual([raised]);
  });

  it('judges each kind of change among many members: one ranked above the token among ten is refused wherever it comes', async () => {
    const group = await newGroup();
    await setMapping(group.displayName, { organizationRole: 'Sharing User' });
    const members = await Promise.all(Array.from({ length: 10 }, () => newUser()));
    // Three leaders in turn: wherever the recompute returns each among the eleven (the ids are random), it is judged.
    for (const leader of await Promise.all([1, 2, 3].map(() => newUser({ systemRole: 'Community Leader' })))) {
      const res = await add(scim, group.id, ...members, leader);
      expectScimError(res, 403);
      expect(res.body.detail).toMatch(/cannot edit a user whose system role is Community Leader/);
      expect(await memberIds(group.id)).toEqual([]);
    }
    await add(scim, group.id, ...members).expect(204);
    expect(await memberIds(group.id)).toEqual([...members].sort());
  });

  it('checks role pairs (rule 5) on the result', async () => {
    const group = await newGroup();
    await setMapping(group.displayName, { systemRole: 'Read Only User' });
    const user = await newUser({}, scim);
    const res = await add(scim, group.id, user);
    expectScimError(res, 400, 'invalidValue');
    expect(res.body.detail).toContain(`group "${group.displayName}"`);
    expect(await memberIds(group.id)).toEqual([]);
  });

  it('checks the API-only attributes on the result: a group cannot make an API user with a token lifetime a standard user', async () => {
    const group = await newGroup();
    await setMapping(group.displayName, { systemRole: 'User' });
    const body = userBody(`${unique('api')}@example.com`, {
      schemas: [userBody('').schemas[0], ROSTER],
      [ROSTER]: { systemRole: 'Api User', tokenExpirationDays: 30 },
    });
    const user = (await scim.post('/Users', body).expect(201)).body.id;
    const res = await add(scim, group.id, user);
    expectScimError(res, 400, 'invalidValue');
    expect(res.body.detail).toMatch(/tokenExpirationDays applies only to API users/);
    expect(await memberIds(group.id)).toEqual([]);
  });

  it('checks the license (rule 10) when the effective role changes the account type', async () => {
    const { org, token } = await t.newOrganization('licensed-groups');
    await t.roster.organizations.setLicense('licensed-groups', { readOnlyUserLimit: 0, readOnlyUsersFree: false });
    const client = scimClient(t.app, token);
    const user = (await client.post('/Users', userBody('ro.candidate@example.com')).expect(201)).body.id;
    const group = (await client.post('/Groups', { schemas: [GROUP], displayName: 'Readers' }).expect(201)).body.id;
    await t.roster.groupRoles.set(org.id, 'Readers', { systemRole: 'Read Only User', organizationRole: 'Read Only User' });
    const res = await add(client, group, user);
    expectScimError(res, 403);
    expect(res.body.detail).toMatch(/license limit of 0 read-only users/);
    expect(await memberIds(group, client)).toEqual([]);
    // The operator is held to the license too.
    await t.roster.groupRoles.remove(org.id, 'Readers');
    await add(client, group, user).expect(204);
    await expect(t.roster.groupRoles.set(org.id, 'Readers', { systemRole: 'Read Only User', organizationRole: 'Read Only User' })).rejects.toThrow(
      /license limit of 0 read-only users/,
    );
    expect((await t.roster.groupRoles.list(org.id)).map((m) => m.groupDisplayName)).toEqual([]);
  });
});

describe('group-managed roles over SCIM', () => {
  it('refuses changing a role a group grants (400 mutability, naming the group) but accepts the same value and other changes', async () => {
    const group = await newGroup([], unique('Sharers'));
    await setMapping(group.displayName, { organizationRole: 'Sharing User' });
    const user = await newUser();
    await add(scim, group.id, user).expect(204);
    const patched = await scim.patch(`/Users/${user}`, patchOp({ op: 'replace', path: `${ROSTER}:organizationRole`, value: 'Standard User' }));
    expectScimError(patched, 400, 'mutability');
    expect(patched.body.detail).toContain(`group "${group.displayName}"`);
    // Okta's PUT repeats the profile: the effective role is no change.
    const current = (await scim.get(`/Users/${user}`).expect(200)).body;
    const put = { ...current, displayName: 'Renamed Person' };
    delete put.meta;
    await scim.put(`/Users/${user}`, put).expect(200);
    // The role that is not group-managed can still be set directly.
    await admin.patch(`/Users/${user}`, patchOp({ op: 'replace', path: `${ROSTER}:systemRole`, value: 'Api User' })).expect(204);
    expect(await rolesOf(user)).toEqual({ systemRole: 'Api User', organizationRole: 'Sharing User', roleSource: { organizationRole: group.displayName } });
    expectScimError(await scim.put(`/Users/${user}`, { ...put, [ROSTER]: { organizationRole: 'App Developer' } }), 400, 'mutability');
  });
});

describe('the operator, audit and events', () => {
  it('applies an operator mapping no token could make, audited as the operator', async () => {
    const user = await newUser({}, scim);
    const group = await newGroup([user]);
    const changes = await setMapping(group.displayName, { systemRole: 'Administrator' });
    expect(changes).toHaveLength(1);
    expect((await rolesOf(user)).systemRole).toBe('Administrator');
    const audit = await t.roster.organizations.audit('acme');
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: 'user.group_roles_changed',
        actor: 'cli',
        targetId: user,
        details: expect.objectContaining({
          group: group.displayName,
          change: 'mapping set',
          operator: true,
          systemRole: { from: 'User', to: 'Administrator' },
        }),
      }),
    );
    expect(audit).toContainEqual(expect.objectContaining({ action: 'user.system_role_changed', actor: 'cli', targetId: user }));
    expect(audit).toContainEqual(expect.objectContaining({ action: 'group_role.set', actor: 'cli', targetId: group.id }));
  });

  it('audits each effective role change with the group and the membership change, and announces it as an event', async () => {
    const group = await newGroup();
    await setMapping(group.displayName, { organizationRole: 'Sharing User' });
    const user = await newUser();
    const res = await add(scim, group.id, user).expect(204);
    const audit = await t.roster.organizations.audit('acme');
    expect(audit).toContainEqual(
      expect.objectContaining({
        action: 'user.group_roles_changed',
        targetId: user,
        actor: expect.stringMatching(/^credential /),
        details: expect.objectContaining({
          group: group.displayName,
          groupId: group.id,
          change: 'member added',
          organizationRole: { from: 'Standard User', to: 'Sharing User' },
        }),
      }),
    );
    const events = await t.roster.organizations.events('acme', undefined, 20);
    const userEvent = events.find((e) => e.resourceId === user && e.txn === res.headers['x-request-id']);
    expect(userEvent).toMatchObject({
      resourceType: 'User',
      eventUris: ['urn:ietf:params:scim:event:prov:patch:notice'],
      attributes: [`${ROSTER}:organizationRole`, `${ROSTER}:organizationRoleSource`],
    });
    expect(events.some((e) => e.resourceId === group.id)).toBe(true);
  });

  it('an unmapped group changes nobody’s roles', async () => {
    const user = await newUser();
    const group = await newGroup();
    await add(scim, group.id, user).expect(204);
    expect(await rolesOf(user)).toEqual({ systemRole: 'User', organizationRole: 'Standard User', roleSource: undefined });
  });
});

describe('what is recorded of each role change', () => {
  const PATCH_NOTICE = 'urn:ietf:params:scim:event:prov:patch:notice';
  /** The user's role audit events, oldest first, without their ids and times. */
  async function roleAudit(user: string) {
    const audit = await t.roster.organizations.audit('acme');
    return audit
      .filter((e) => e.targetId === user && /^user\.(group_roles|system_role)_changed$/.test(e.action))
      .map(({ id: _id, occurredAt: _at, ...rest }) => rest);
  }
  const userEvents = async (user: string) => (await t.roster.organizations.events('acme', undefined, 100)).filter((e) => e.resourceId === user).reverse();
  const userNameOf = async (user: string): Promise<string> => (await admin.get(`/Users/${user}`).expect(200)).body.userName;

  it('an operator mapping: both audit events in full, as the operator, and the event naming the changed attributes', async () => {
    const user = await newUser();
    const group = await newGroup([user]);
    await setMapping(group.displayName, { systemRole: 'Administrator' });
    const common = { organizationId: t.org.id, credentialId: null, actor: 'cli', targetType: 'user', targetId: user, targetName: await userNameOf(user) };
    const reason = { group: group.displayName, groupId: group.id, change: 'mapping set' };
    expect(await roleAudit(user)).toEqual([
      {
        ...common,
        action: 'user.group_roles_changed',
        details: {
          changed: ['systemRole', 'systemRoleSource'],
          ...reason,
          systemRole: { from: 'User', to: 'Administrator' },
          grantedBy: { systemRole: group.id, organizationRole: null },
          operator: true,
        },
      },
      { ...common, action: 'user.system_role_changed', details: { from: 'User', to: 'Administrator', ...reason, operator: true } },
    ]);
    const events = await userEvents(user);
    expect(events[events.length - 1]).toMatchObject({
      resourceType: 'User',
      eventUris: [PATCH_NOTICE],
      attributes: [`${ROSTER}:systemRole`, `${ROSTER}:systemRoleSource`],
    });
    expect(events[events.length - 1].txn).toBeUndefined();
  });

  it('a member removed by a token: the audit event by the token, and the event in the request’s txn', async () => {
    const group = await newGroup();
    await setMapping(group.displayName, { organizationRole: 'Sharing User' });
    const user = await newUser();
    await add(scim, group.id, user).expect(204);
    const res = await remove(scim, group.id, user).expect(204);
    const removal = (await roleAudit(user))[1];
    expect(removal).toEqual({
      organizationId: t.org.id,
      credentialId: expect.any(String),
      actor: `credential ${removal.credentialId}`,
      action: 'user.group_roles_changed',
      targetType: 'user',
      targetId: user,
      targetName: await userNameOf(user),
      details: {
        changed: ['organizationRole', 'organizationRoleSource'],
        group: group.displayName,
        groupId: group.id,
        change: 'member removed',
        organizationRole: { from: 'Sharing User', to: 'Standard User' },
        grantedBy: { systemRole: null, organizationRole: null },
      },
    });
    const events = await userEvents(user);
    expect(events.find((e) => e.txn === res.headers['x-request-id'])).toMatchObject({
      resourceType: 'User',
      eventUris: [PATCH_NOTICE],
      attributes: [`${ROSTER}:organizationRole`, `${ROSTER}:organizationRoleSource`],
    });
  });

  it('only the granting group changed: the audit event names that alone, and so does the event', async () => {
    const user = await newUser();
    const first = await newGroup([user]);
    const second = await newGroup([user]);
    await setMapping(first.displayName, { organizationRole: 'Sharing User' });
    await setMapping(second.displayName, { organizationRole: 'Sharing User' });
    const source = (await rolesOf(user)).roleSource?.organizationRole === first.displayName ? first : second;
    const other = source === first ? second : first;
    const res = await admin.delete(`/Groups/${source.id}`).expect(204);
    expect(await rolesOf(user)).toEqual({ systemRole: 'User', organizationRole: 'Sharing User', roleSource: { organizationRole: other.displayName } });
    const audit = await roleAudit(user);
    expect(audit[audit.length - 1]).toMatchObject({
      action: 'user.group_roles_changed',
      details: {
        changed: ['organizationRoleSource'],
        group: source.displayName,
        groupId: source.id,
        change: 'group deleted',
        grantedBy: { systemRole: null, organizationRole: other.id },
      },
    });
    expect(audit[audit.length - 1].details).not.toHaveProperty('organizationRole');
    expect((await userEvents(user)).find((e) => e.txn === res.headers['x-request-id'])).toMatchObject({
      attributes: [`${ROSTER}:organizationRoleSource`],
    });
  });
});

describe('roster group-roles', () => {
  const run = async (words: string[], flags: Flags) => {
    const command = COMMANDS.find((c) => c.words.join(' ') === words.join(' '));
    if (!command) throw new Error(`no command ${words.join(' ')}`);
    const out: string[] = [];
    const err: string[] = [];
    await command.run(t.roster, [], flags, { out: (s) => out.push(s), err: (s) => err.push(s) });
    return { out: out.join('\n'), err: err.join('\n') };
  };

  it('sets, lists and removes a mapping by the group displayName', async () => {
    const user = await newUser();
    const group = await newGroup([user], unique('CLI Admins'));
    const set = await run(['group-roles', 'set'], { org: 'acme', group: group.displayName.toUpperCase(), 'org-role': 'organization administrator' });
    expect(set.out).toBe('1 user(s) changed');
    expect(set.err).toContain('organization role Standard User -> Organization Administrator');
    const listed = JSON.parse((await run(['group-roles', 'list'], { org: 'acme', json: true })).out);
    expect(listed).toContainEqual({ group: group.displayName, groupId: group.id, organizationRole: 'Organization Administrator', systemRole: null });
    expect((await run(['group-roles', 'list'], { org: 'acme' })).out).toMatch(/^group\s+groupId\s+organizationRole\s+systemRole/);
    expect((await run(['group-roles', 'remove'], { org: 'acme', group: group.displayName })).out).toBe('1 user(s) changed');
    expect((await rolesOf(user)).organizationRole).toBe('Standard User');
  });

  it('refuses an unknown group, an unknown role, and a mapping without a role', async () => {
    const group = await newGroup();
    await expect(run(['group-roles', 'set'], { org: 'acme', group: 'no such group', 'org-role': 'Sharing User' })).rejects.toThrow(/no group named/);
    await expect(run(['group-roles', 'set'], { org: 'acme', group: group.displayName, 'system-role': 'Wizard' })).rejects.toThrow(/not a system role/);
    await expect(run(['group-roles', 'set'], { org: 'acme', group: group.displayName })).rejects.toThrow(/grants an organization role, a system role, or both/);
    await expect(run(['group-roles', 'remove'], { org: 'acme', group: group.displayName })).rejects.toThrow(/grants no role/);
  });

  it('keeps organizations apart: a mapping names a group of its own organization only', async () => {
    const { org } = await t.newOrganization('other-groles');
    const group = await newGroup();
    await expect(t.roster.groupRoles.set(org.id, group.displayName, { organizationRole: 'Sharing User' })).rejects.toThrow(/no group named/);
    expect(await t.roster.groupRoles.list(org.id)).toEqual([]);
  });
});

describe('locks: a recompute beside a create', () => {
  it('waits for a create holding the license when an account type changes, and both commit (no lock taken in the other order)', async () => {
    const user = await newUser();
    const group = await newGroup();
    await setMapping(group.displayName, { systemRole: 'Read Only User', organizationRole: 'Read Only User' });
    const pool = t.roster.database.pool;
    if (servesOneSession(pool)) {
      // The embedded database serves one session: nothing interleaves, and the change goes through.
      await add(admin, group.id, user).expect(204);
      expect((await rolesOf(user)).systemRole).toBe('Read Only User');
      return;
    }
    // A create of the same organization, between its license check and its event: it holds the license shared.
    const create = await pool.connect();
    try {
      await create.query('begin');
      await create.query('select * from roster_share_license($1::uuid, $2::text)', [t.org.id, 'standard']);
      // The membership change re-types the user (standard to read-only): it needs the license exclusively, and waits.
      const patched = add(admin, group.id, user).then((res) => res.status);
      const waiting = async () =>
        (await pool.query<{ n: number }>(`select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`))
          .rows[0].n;
      for (let i = 0; i < 200 && (await waiting()) === 0; i++) await new Promise((resolve) => setTimeout(resolve, 10));
      // The create's event, queued as EventOutbox.append does: the recompute took no lock it needs (before the
      // event queue, it held an outbox lock the create's event waited for: a deadlock, one of them refused, 40P01).
      await create.query(
        `insert into provisioning_event_queue (organization_id, resource_type, resource_id, event_uris, attributes) values ($1, 'User', $2, '[]', '[]')`,
        [t.org.id, user],
      );
      await create.query('commit');
      expect(await patched).toBe(204);
    } finally {
      create.release();
    }
    expect((await rolesOf(user)).systemRole).toBe('Read Only User');
  });
});

describe("locks: the organization's role lock", () => {
  it("is taken by a membership change of a mapped group, not of an unmapped one (so a recompute sees every earlier one's members committed)", async () => {
    const user = await newUser();
    const mapped = await newGroup();
    const unmapped = await newGroup();
    await setMapping(mapped.displayName, { organizationRole: 'Sharing User' });
    const pool = t.roster.database.pool;
    if (servesOneSession(pool)) {
      // The embedded database serves one session: no other transaction can hold the lock meanwhile.
      await add(admin, mapped.id, user).expect(204);
      expect((await rolesOf(user)).organizationRole).toBe('Sharing User');
      return;
    }
    // Another recompute of the organization holds its role lock, taken as the store takes it.
    const holder = await pool.connect();
    let open = false;
    try {
      await holder.query('begin');
      open = true;
      await new GroupRoleSqlRepository(Sql.onClient(holder)).lockRoles(t.org.id);
      // An unmapped group's change takes no role lock: it goes through meanwhile.
      await add(admin, unmapped.id, user).expect(204);
      // A mapped group's change waits for it.
      let settled = false;
      const patched = add(admin, mapped.id, user).then((res) => {
        settled = true;
        return res.status;
      });
      expect(await advisoryLockWaiters(pool)).toBeGreaterThan(0);
      expect(settled).toBe(false);
      await holder.query('commit');
      open = false;
      expect(await patched).toBe(204);
    } finally {
      // Never back to the pool holding the lock (a failed expectation above would leave the PATCH waiting).
      if (open) await holder.query('rollback');
      holder.release();
    }
    expect((await rolesOf(user)).organizationRole).toBe('Sharing User');
  });
});

describe('a recompute meeting a write of the same user', () => {
  // Another writer's transaction changes the user's direct role and name (as a PATCH of the user would).
  const WRITE = `update users set organization_role = 'App Developer', name_given_name = 'Concurrent', version = version + 1 where id = $1`;
  const recomputes = {
    'a member added (a few users: planned once)': async (group: { id: string; displayName: string }, user: string) => {
      await setMapping(group.displayName, { organizationRole: 'Sharing User' });
      return async () => void (await add(admin, group.id, user).expect(204));
    },
    "the mapping set (a group's members: planned for them)": async (group: { id: string; displayName: string }, user: string) => {
      await add(admin, group.id, user).expect(204);
      return async () => void (await setMapping(group.displayName, { organizationRole: 'Sharing User' }));
    },
  };

  it.each(Object.keys(recomputes) as (keyof typeof recomputes)[])(
    "%s: waits for the user's row, then computes from that write and keeps it (its direct role comes back on leaving)",
    async (kind) => {
      const user = await newUser({ organizationRole: 'Standard User' });
      const group = await newGroup();
      const recompute = await recomputes[kind](group, user);
      const pool = t.roster.database.pool;
      if (servesOneSession(pool)) {
        // The embedded database serves one session: the write commits before the recompute, which must see it.
        await pool.query(WRITE, [user]);
        await recompute();
      } else {
        const holder = await pool.connect();
        let open = false;
        try {
          await holder.query('begin');
          open = true;
          await holder.query(WRITE, [user]);
          let settled = false;
          const done = recompute().then(() => (settled = true));
          expect(await rowLockWaiters(pool)).toBeGreaterThan(0);
          expect(settled).toBe(false);
          await holder.query('commit');
          open = false;
          await done;
        } finally {
          if (open) await holder.query('rollback');
          holder.release();
        }
      }
      expect(await rolesOf(user)).toMatchObject({ organizationRole: 'Sharing User', roleSource: { organizationRole: group.displayName } });
      expect((await admin.get(`/Users/${user}`).expect(200)).body.name.givenName).toBe('Concurrent');
      await remove(admin, group.id, user).expect(204);
      expect(await rolesOf(user)).toMatchObject({ organizationRole: 'App Developer', roleSource: undefined });
    },
  );
});

describe("locks: a mapping's license check and a create's", () => {
  const READ_ONLY = { systemRole: 'Read Only User', organizationRole: 'Read Only User' };
  it('a mapping set that re-types its members commits alongside a create holding the license lock (no deadlock on the organization row)', async () => {
    const user = await newUser();
    const group = await newGroup([user]);
    const pool = t.roster.database.pool;
    if (servesOneSession(pool)) {
      // One session: no other transaction can hold the license lock meanwhile.
      await setMapping(group.displayName, READ_ONLY);
      expect((await rolesOf(user)).systemRole).toBe('Read Only User');
      return;
    }
    // A create near the license limit, as the store locks: the license's advisory lock, then the organization's row.
    let set: Promise<{ changes: RoleChange[] } | { error: unknown }> | undefined;
    await holdingLicenseLock(pool, t.org.id, async (creator) => {
      // The mapping re-types its member (User to Read Only User), so its recompute checks the license after
      // writing the mapping row, which references the organization: it waits for the creator's advisory lock.
      set = setMapping(group.displayName, READ_ONLY).then(
        (changes) => ({ changes }),
        (error: unknown) => ({ error }),
      );
      expect(await advisoryLockWaiters(pool)).toBeGreaterThan(0);
      // The creator now takes the organization's row, as lockLicense does; it must not wait on the mapping's row reference.
      expect(await new OrganizationSqlRepository(Sql.onClient(creator)).lockLicense(t.org.id)).not.toBeNull();
    });
    const outcome = await set;
    expect(outcome).not.toHaveProperty('error');
    expect(outcome && 'changes' in outcome && outcome.changes.map((c) => c.after.id)).toEqual([user]);
    expect((await rolesOf(user)).systemRole).toBe('Read Only User');
  });
});
