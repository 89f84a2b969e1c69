import request from 'supertest';
import { createAdmin, PASSWORD, signIn, type ConsoleSession } from '../support/console';
import { startTestRoster, type TestRoster } from '../support/roster';
import { GROUP, ROSTER, scimClient, userBody, type ScimClient } from '../support/scim';

let t: TestRoster;
let scim: ScimClient;
let admin: ConsoleSession;
const ids: Record<string, string> = {};

beforeAll(async () => {
  t = await startTestRoster();
  // A token that may create an Administrator (rules 3 and 4).
  scim = scimClient(t.app, (await t.roster.credentials.issue({ organizationId: t.org.id, systemRole: 'Administrator' })).secret);
  await createAdmin(t.roster, 'root@example.com');
  await createAdmin(t.roster, 'orgadmin@acme.example', { org: 'acme' });
  await createAdmin(t.roster, 'reader@acme.example', { org: 'acme', systemRole: 'Read Only User', organizationRole: 'Read Only User' });
  for (const [name, extra] of [
    ['ada@acme.example', { displayName: 'Ada Lovelace' }],
    ['grace@acme.example', { displayName: 'Grace Hopper' }],
    ['boss@acme.example', { displayName: 'The Boss', [ROSTER]: { systemRole: 'Administrator', organizationRole: 'Organization Administrator' } }],
  ] as const) {
    const body = userBody(name, extra);
    if (ROSTER in extra) body.schemas = [...body.schemas, ROSTER];
    const res = await scim.post('/Users', body);
    if (res.status !== 201) throw new Error(JSON.stringify(res.body));
    ids[name] = res.body.id;
  }
  // The platform locks an account after failed sign-ins; nothing else may set it.
  await t.roster.database.pool.query('update users set locked = true where id = $1', [ids['grace@acme.example']]);
  ids.group = (await scim.post('/Groups', { schemas: [GROUP], displayName: 'Analysts', members: [{ value: ids['ada@acme.example'] }] }).expect(201)).body.id;
  admin = await signIn(t.app, 'orgadmin@acme.example');
});
afterAll(() => t.close());

describe('console sign-in and session', () => {
  it('refuses a wrong password and an unknown email alike, and a request without a session', async () => {
    const wrong = await request(t.app).post('/admin/api/session').send({ email: 'root@example.com', password: 'nope' });
    const unknown = await request(t.app).post('/admin/api/session').send({ email: 'nobody@example.com', password: PASSWORD });
    expect([wrong.status, unknown.status]).toEqual([401, 401]);
    expect(wrong.body.error.message).toBe(unknown.body.error.message);
    expect(wrong.headers['set-cookie']).toBeUndefined();
    expect((await request(t.app).get('/admin/api/session')).status).toBe(401);
    expect((await request(t.app).get('/admin/api/orgs/acme/users')).status).toBe(401);
  });

  it('sets an HttpOnly, SameSite=Strict cookie for /admin, Secure only over https', async () => {
    expect(admin.cookie).toMatch(/^roster_console=[A-Za-z0-9_-]{43}; Path=\/admin; HttpOnly; SameSite=Strict$/);
    const overHttps = await startTestRoster({ trustProxy: true });
    try {
      await createAdmin(overHttps.roster, 'tls@example.com');
      const res = await request(overHttps.app)
        .post('/admin/api/session')
        .set('X-Forwarded-Proto', 'https')
        .send({ email: 'tls@example.com', password: PASSWORD });
      expect(res.status).toBe(200);
      expect(String(res.headers['set-cookie'])).toMatch(/; HttpOnly; SameSite=Strict; Secure$/);
    } finally {
      await overHttps.close();
    }
  });

  it('tells the page who is signed in, which organizations it sees, and its CSRF token', async () => {
    const res = await admin.get('/session').expect(200);
    expect(res.body).toEqual({
      admin: { email: 'orgadmin@acme.example', systemRole: 'User', organizationRole: 'Organization Administrator', instance: false },
      csrfToken: admin.csrf,
      organizations: [{ slug: 'acme', name: 'acme' }],
    });
    await t.newOrganization('other');
    const root = await signIn(t.app, 'root@example.com');
    expect((await root.get('/session')).body.organizations.map((o: { slug: string }) => o.slug).sort()).toEqual(['acme', 'other']);
  });

  it('refuses a change without the CSRF token, with a wrong one, from another origin, or not in JSON', async () => {
    const post = () => admin.agent.post('/admin/api/orgs/acme/tokens');
    expect((await post().send({ name: 'x' })).body.error.code).toBe('console.csrf_refused');
    expect((await post().set('X-CSRF-Token', 'forged').send({ name: 'x' })).status).toBe(403);
    expect((await post().set('X-CSRF-Token', admin.csrf).set('Origin', 'https://evil.example').send({ name: 'x' })).status).toBe(403);
    expect((await post().set('X-CSRF-Token', admin.csrf).type('form').send('name=x')).status).toBe(415);
    const tokens = (await admin.get('/orgs/acme/connection').expect(200)).body.tokens;
    expect(tokens.filter((k: { name: string }) => k.name === 'x')).toEqual([]);
    // Behind a TLS proxy the page's origin is https while Roster hears http: the host decides.
    const proxied = await post().set('X-CSRF-Token', admin.csrf).set('Host', 'console.example').set('Origin', 'https://console.example').send({ name: 'y' });
    expect(proxied.status).toBe(200);
  });

  it('signs out: the session no longer works', async () => {
    const session = await signIn(t.app, 'root@example.com');
    expect((await session.delete('/session')).status).toBe(204);
    expect((await session.get('/session')).status).toBe(401);
  });

  it('ends a session left idle past the timeout (30 minutes by default), and keeps one in use', async () => {
    const service = t.roster.consoleAdmins;
    const realNow = service.now;
    let now = Date.now();
    service.now = () => new Date(now);
    try {
      const session = await signIn(t.app, 'root@example.com');
      now += 29 * 60_000;
      expect((await session.get('/session')).status).toBe(200);
      now += 29 * 60_000; // 58 minutes after sign-in, 29 after the last use
      expect((await session.get('/session')).status).toBe(200);
      now += 31 * 60_000;
      const expired = await session.get('/session');
      expect(expired.status).toBe(401);
      expect(String(expired.headers['set-cookie'])).toContain('Max-Age=0');
    } finally {
      service.now = realNow;
    }
  });

  it('limits failed sign-ins per account, even with the right password afterwards', async () => {
    await createAdmin(t.roster, 'target@example.com');
    const attempt = (password: string) =>
      request(t.app).post('/admin/api/session').set('X-Forwarded-For', '1.1.1.1').send({ email: 'target@example.com', password });
    for (let i = 0; i < 5; i++) expect((await attempt('wrong')).status).toBe(401);
    const limited = await attempt(PASSWORD);
    expect(limited.status).toBe(429);
    expect(limited.body.error.code).toBe('console.sign_in_limited');
    expect(Number(limited.headers['retry-after'])).toBeGreaterThan(0);
  });

  it('a disabled administrator cannot sign in, and its sessions end', async () => {
    await createAdmin(t.roster, 'leaver@acme.example', { org: 'acme' });
    const session = await signIn(t.app, 'leaver@acme.example');
    await t.roster.consoleAdmins.disable('Leaver@acme.example');
    expect((await session.get('/session')).status).toBe(401);
    expect((await request(t.app).post('/admin/api/session').send({ email: 'leaver@acme.example', password: PASSWORD })).status).toBe(401);
  });
});

describe('console Connection page', () => {
  it('creates a token shown once, which works over SCIM, lists it with its last use, and revokes it', async () => {
    const created = await admin.post('/orgs/acme/tokens', { name: 'okta' }).expect(200);
    const secret = created.body.secret as string;
    expect(secret).toMatch(/^roster_/);
    await request(t.app).get('/scim/v2/Users').set('Authorization', `Bearer ${secret}`).expect(200);
    const connection = await admin.get('/orgs/acme/connection').expect(200);
    expect(connection.body.scimBaseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/scim\/v2$/);
    expect(JSON.stringify(connection.body)).not.toContain(secret.slice(7));
    const listed = connection.body.tokens.find((k: { id: string }) => k.id === created.body.token.id);
    expect(listed).toEqual(expect.objectContaining({ name: 'okta', systemRole: 'Api User', lastUsedAt: expect.any(String), revokedAt: null }));
    const revoked = await admin.post(`/orgs/acme/tokens/${listed.id}/revoke`).expect(200);
    expect(revoked.body.token.revokedAt).toEqual(expect.any(String));
    await request(t.app).get('/scim/v2/Users').set('Authorization', `Bearer ${secret}`).expect(401);
  });

  it('refuses a read-only administrator a token, naming the rule', async () => {
    const reader = await signIn(t.app, 'reader@acme.example');
    const res = await reader.post('/orgs/acme/tokens', { name: 'sneaky' });
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/may only read provisioning tokens \(rule: who may manage users/);
  });
});

describe('console Users page', () => {
  it('lists users with roles, account type, state and groups, filtered, sorted and paged', async () => {
    const all = await admin.get('/orgs/acme/users?sortBy=userName&count=2').expect(200);
    expect(all.body.total).toBe(3);
    expect(all.body.users.map((u: { userName: string }) => u.userName)).toEqual(['ada@acme.example', 'boss@acme.example']);
    expect(all.body.users[0]).toEqual(
      expect.objectContaining({
        systemRole: 'User',
        organizationRole: 'Standard User',
        accountType: 'standard',
        active: true,
        locked: false,
        mfaEnabled: false,
        passwordResetRequired: true,
        groups: [{ id: ids.group, displayName: 'Analysts' }],
      }),
    );
    const second = await admin.get('/orgs/acme/users?sortBy=userName&count=2&startIndex=3').expect(200);
    expect(second.body.users.map((u: { userName: string }) => u.userName)).toEqual(['grace@acme.example']);
    const descending = await admin.get('/orgs/acme/users?sortBy=displayName&sortOrder=descending').expect(200);
    expect(descending.body.users[0].displayName).toBe('The Boss');
    expect((await admin.get('/orgs/acme/users?q=hopper')).body.users.map((u: { userName: string }) => u.userName)).toEqual(['grace@acme.example']);
    expect((await admin.get('/orgs/acme/users?state=locked')).body.total).toBe(1);
    const scimFilter = await admin.get(`/orgs/acme/users?filter=${encodeURIComponent('userName sw "b"')}`).expect(200);
    expect(scimFilter.body.users.map((u: { userName: string }) => u.userName)).toEqual(['boss@acme.example']);
  });

  it('explains a filter that does not parse', async () => {
    const res = await admin.get(`/orgs/acme/users?filter=${encodeURIComponent('userName eq')}`);
    expect(res.status).toBe(400);
    expect(res.body.error.message).toMatch(/position/);
  });

  it('shows a user with groups, audit trail and the actions allowed, each forbidden one with its rule', async () => {
    const ada = await admin.get(`/orgs/acme/users/${ids['ada@acme.example']}`).expect(200);
    expect(ada.body.user.groups).toEqual([{ id: ids.group, displayName: 'Analysts' }]);
    expect(ada.body.audit[0]).toEqual(expect.objectContaining({ action: 'user.created', targetName: 'ada@acme.example' }));
    expect(ada.body.actions).toEqual({ disable: null, requireMfaReset: null, requirePasswordReset: null, changeRoles: null });
    const boss = await admin.get(`/orgs/acme/users/${ids['boss@acme.example']}`).expect(200);
    expect(boss.body.actions.disable.message).toBe(
      'an Organization Administrator with system role User cannot edit a user whose system role is Administrator (rule: no acting upward)',
    );
  });

  it('disables a user through the domain (SCIM then reads active false), audited as the administrator', async () => {
    const res = await admin.post(`/orgs/acme/users/${ids['ada@acme.example']}/actions/disable`).expect(200);
    expect(res.body.user.active).toBe(false);
    expect((await scim.get(`/Users/${ids['ada@acme.example']}`)).body.active).toBe(false);
    const trail = (await admin.get(`/orgs/acme/users/${ids['ada@acme.example']}`)).body.audit;
    expect(trail[0]).toEqual(expect.objectContaining({ actor: 'admin orgadmin@acme.example', action: 'user.deactivated' }));
    await admin.post(`/orgs/acme/users/${ids['ada@acme.example']}/actions/enable`).expect(200);
  });

  it('clears a lock, requires MFA and password resets, changes roles', async () => {
    const grace = ids['grace@acme.example'];
    expect((await admin.post(`/orgs/acme/users/${grace}/actions/clearLock`).expect(200)).body.user.locked).toBe(false);
    expect((await admin.post(`/orgs/acme/users/${grace}/actions/requireMfaReset`).expect(200)).body.user.mfaResetRequired).toBe(true);
    const roles = await admin.post(`/orgs/acme/users/${grace}/actions/changeRoles`, { organizationRole: 'Sharing User' }).expect(200);
    expect(roles.body.user.organizationRole).toBe('Sharing User');
  });

  it('refuses a forbidden action with the rule in words and changes nothing', async () => {
    const res = await admin.post(`/orgs/acme/users/${ids['boss@acme.example']}/actions/disable`);
    expect(res.status).toBe(403);
    expect(res.body.error.message).toMatch(/rule: no acting upward/);
    const upward = await admin.post(`/orgs/acme/users/${ids['grace@acme.example']}/actions/changeRoles`, { systemRole: 'Administrator' });
    expect(upward.status).toBe(403);
    expect(upward.body.error.message).toMatch(/rule/);
    expect((await scim.get(`/Users/${ids['boss@acme.example']}`)).body.active).toBe(true);
  });
});

describe('console Groups, Audit, Organization and Receivers pages', () => {
  it('shows a group with a page of its members', async () => {
    const groups = await admin.get('/orgs/acme/groups?q=analy').expect(200);
    expect(groups.body.groups).toEqual([expect.objectContaining({ id: ids.group, displayName: 'Analysts' })]);
    const group = await admin.get(`/orgs/acme/groups/${ids.group}?count=10`).expect(200);
    expect(group.body.members).toEqual({ total: 1, startIndex: 1, count: 10, items: [{ id: ids['ada@acme.example'], display: 'Ada Lovelace' }] });
  });

  it('pages the audit trail newest first', async () => {
    const first = await admin.get('/orgs/acme/audit?count=2').expect(200);
    expect(first.body.events).toHaveLength(2);
    const next = await admin.get(`/orgs/acme/audit?count=2&before=${first.body.next}`).expect(200);
    expect(Number(next.body.events[0].id)).toBeLessThan(Number(first.body.events[1].id));
  });

  it('shows limits and usage per account type', async () => {
    await t.roster.organizations.setLicense('acme', { standardUserLimit: 10 });
    const res = await admin.get('/orgs/acme/organization').expect(200);
    expect(res.body.license.standardUserLimit).toBe(10);
    expect(res.body.counts).toEqual({ standard: 3, api: 0, taxii: 0, readOnly: 0 });
  });

  it('shows receivers and each recent event with its delivery state', async () => {
    const org = await t.roster.organizations.bySlug('acme');
    const receiver = await t.roster.receivers.add({ organizationId: org.id, url: 'https://receiver.example/events', audience: 'x', events: null, full: false });
    await admin.post(`/orgs/acme/users/${ids['ada@acme.example']}/actions/requirePasswordReset`).expect(200);
    await admin.post(`/orgs/acme/users/${ids['ada@acme.example']}/actions/requireMfaReset`).expect(200);
    const res = await admin.get('/orgs/acme/receivers').expect(200);
    expect(res.body.receivers).toEqual([expect.objectContaining({ id: receiver.id, url: 'https://receiver.example/events', failing: false, pending: 1 })]);
    expect(res.body.events[0].deliveries).toEqual([{ receiverId: receiver.id, url: 'https://receiver.example/events', state: 'pending' }]);
  });
});
