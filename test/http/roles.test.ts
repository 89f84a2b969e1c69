import { servesOneSession } from '../../src/orm/database';
import { Sql } from '../../src/orm/sql';
import { UserSqlRepository } from '../../src/orm/user.repository';
import { advisoryLockWaiters, holdingLicenseLock } from '../support/locks';
import { startTestRoster, type TestRoster } from '../support/roster';
import { ROSTER, expectScimError, patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

let t: TestRoster;
let orgAdmin: ScimClient; // Api User + Organization Administrator (the default provisioning token)
let admin: ScimClient; // Administrator
let reader: ScimClient; // Api User + Standard User

beforeAll(async () => {
  t = await startTestRoster();
  orgAdmin = scimClient(t.app, t.token);
  const issue = async (systemRole: string, organizationRole: string) =>
    scimClient(t.app, (await t.roster.credentials.issue({ organizationId: t.org.id, systemRole, organizationRole })).secret);
  admin = await issue('Administrator', 'Organization Administrator');
  reader = await issue('Api User', 'Standard User');
});
afterAll(() => t.close());

let n = 0;
const name = (prefix: string) => `${prefix}.${++n}@roles.example`;
const withRoster = (userName: string, block: Record<string, unknown>, extra: Record<string, unknown> = {}) => ({
  ...userBody(userName, extra),
  schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', ROSTER],
  [ROSTER]: block,
});
const read = async (id: string) => (await admin.get(`/Users/${id}`).expect(200)).body;
const auditOf = async (targetId: string) => (await t.roster.organizations.audit('acme')).filter((e) => e.targetId === targetId);

describe('the Roster extension', () => {
  it('is returned on every read, with the defaults of a new account', async () => {
    const res = await orgAdmin.post('/Users', userBody(name('plain'))).expect(201);
    expect(res.body[ROSTER]).toEqual({
      systemRole: 'User',
      organizationRole: 'Standard User',
      accountType: 'standard',
      locked: false,
      passwordResetRequired: true,
      mfaEnabled: false,
      mfaResetRequired: false,
      termsOfServiceAcceptanceRequired: false,
    });
  });

  it('creates an API user with its API settings', async () => {
    const res = await orgAdmin
      .post(
        '/Users',
        withRoster(name('api'), { systemRole: 'api user', organizationRole: 'Standard User', tokenExpirationDays: 30, includeInObservations: true }),
      )
      .expect(201);
    expect(res.body[ROSTER]).toMatchObject({ systemRole: 'Api User', accountType: 'api', tokenExpirationDays: 30, includeInObservations: true });
  });
});

describe('who may do what (DOMAIN.md)', () => {
  it('lets a read-only credential read but not change, with a 403 naming the rule', async () => {
    const { id } = (await orgAdmin.post('/Users', userBody(name('target'))).expect(201)).body;
    await reader.get(`/Users/${id}`).expect(200);
    const res = await reader.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'x' }));
    expectScimError(res, 403);
    expect(res.body.detail).toMatch(/who may manage users/);
    expectScimError(await reader.delete(`/Users/${id}`), 403);
  });

  it('refuses an Organization Administrator granting a system role above its own, and stores none of the request', async () => {
    const { id } = (await orgAdmin.post('/Users', userBody(name('grant'))).expect(201)).body;
    const res = await orgAdmin.patch(
      `/Users/${id}`,
      patchOp({ op: 'replace', path: 'displayName', value: 'Renamed' }, { op: 'replace', path: `${ROSTER}:systemRole`, value: 'Administrator' }),
    );
    expectScimError(res, 403);
    expect(res.body.detail).toMatch(/no granting upward/);
    const user = await read(id);
    expect(user.displayName).toBeUndefined();
    expect(user[ROSTER].systemRole).toBe('User');
  });

  it('lets an Organization Administrator choose only implied system roles', async () => {
    const { id } = (await orgAdmin.post('/Users', userBody(name('implied'))).expect(201)).body;
    await orgAdmin.patch(`/Users/${id}`, patchOp({ op: 'replace', path: `${ROSTER}:systemRole`, value: 'Api User' })).expect(204);
    expect((await read(id))[ROSTER].accountType).toBe('api');
    const res = await orgAdmin.patch(`/Users/${id}`, patchOp({ op: 'replace', path: `${ROSTER}:systemRole`, value: 'Taxii User' }));
    expectScimError(res, 403);
    expect(res.body.detail).toMatch(/who sets system roles/);
  });

  it('refuses acting upward: an Organization Administrator cannot edit or delete an Operations Administrator', async () => {
    const { id } = (await admin.post('/Users', withRoster(name('ops'), { systemRole: 'Operations Administrator' })).expect(201)).body;
    const res = await orgAdmin.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'demoted' }));
    expectScimError(res, 403);
    expect(res.body.detail).toMatch(
      /^an Organization Administrator with system role Api User cannot edit a user whose system role is Operations Administrator \(rule: no acting upward/,
    );
    expectScimError(await orgAdmin.delete(`/Users/${id}`), 403);
    expect((await read(id))[ROSTER].systemRole).toBe('Operations Administrator');
  });

  it('checks role pairs: Super User needs Organization Administrator, Read Only User a read-only organization role', async () => {
    expectScimError(await admin.post('/Users', withRoster(name('su'), { systemRole: 'Super User', organizationRole: 'Standard User' })), 400, 'invalidValue');
    await admin.post('/Users', withRoster(name('su'), { systemRole: 'Super User', organizationRole: 'Organization Administrator' })).expect(201);
    expectScimError(
      await orgAdmin.post('/Users', withRoster(name('ro'), { systemRole: 'Read Only User', organizationRole: 'Sharing User' })),
      400,
      'invalidValue',
    );
    await orgAdmin.post('/Users', withRoster(name('ro'), { systemRole: 'Read Only User', organizationRole: 'Read Only Commenter' })).expect(201);
  });

  it('lets only Administrators set or clear customTqlTimeout, within 1 to 3,600,000 ms', async () => {
    const { id } = (await orgAdmin.post('/Users', userBody(name('tql'))).expect(201)).body;
    const path = `${ROSTER}:customTqlTimeout`;
    expectScimError(await orgAdmin.patch(`/Users/${id}`, patchOp({ op: 'add', path, value: 60000 })), 403);
    expectScimError(await admin.patch(`/Users/${id}`, patchOp({ op: 'add', path, value: 3_600_001 })), 400, 'invalidValue');
    await admin.patch(`/Users/${id}`, patchOp({ op: 'add', path, value: 60000 })).expect(204);
    expect((await read(id))[ROSTER].customTqlTimeout).toBe(60000);
    expectScimError(await orgAdmin.patch(`/Users/${id}`, patchOp({ op: 'remove', path })), 403);
    await admin.patch(`/Users/${id}`, patchOp({ op: 'remove', path })).expect(204);
    expect((await read(id))[ROSTER].customTqlTimeout).toBeUndefined();
  });

  it('keeps mfaEnabled read-only, and refuses turning MFA off while it is required', async () => {
    const { id } = (await orgAdmin.post('/Users', userBody(name('mfa'))).expect(201)).body;
    expectScimError(await orgAdmin.patch(`/Users/${id}`, patchOp({ op: 'replace', path: `${ROSTER}:mfaEnabled`, value: true })), 400, 'mutability');
    await t.roster.database.orm.em.getConnection().execute('update users set mfa_enabled = true where id = ?', [id]);
    await t.roster.settings.set('twoFactorAuthenticationRequired', 'true');
    try {
      const res = await orgAdmin.patch(`/Users/${id}`, patchOp({ op: 'replace', path: `${ROSTER}:mfaEnabled`, value: false }));
      expectScimError(res, 403);
      expect(res.body.detail).toMatch(/twoFactorAuthenticationRequired/);
      await orgAdmin.patch(`/Users/${id}`, patchOp({ op: 'replace', path: `${ROSTER}:mfaResetRequired`, value: true })).expect(204);
      expect((await read(id))[ROSTER]).toMatchObject({ mfaEnabled: true, mfaResetRequired: true });
    } finally {
      await t.roster.settings.set('twoFactorAuthenticationRequired', 'false');
    }
  });

  it('never clears passwordResetRequired or sets locked through provisioning, but clears locked', async () => {
    const { id } = (await orgAdmin.post('/Users', userBody(name('flags'))).expect(201)).body;
    expectScimError(await admin.patch(`/Users/${id}`, patchOp({ op: 'replace', path: `${ROSTER}:passwordResetRequired`, value: false })), 400, 'invalidValue');
    expectScimError(await admin.patch(`/Users/${id}`, patchOp({ op: 'replace', path: `${ROSTER}:locked`, value: true })), 400, 'invalidValue');
    await t.roster.database.orm.em.getConnection().execute('update users set locked = true where id = ?', [id]);
    await orgAdmin.patch(`/Users/${id}`, patchOp({ op: 'replace', path: `${ROSTER}:locked`, value: false })).expect(204);
    expect((await read(id))[ROSTER].locked).toBe(false);
  });

  it('sets the terms flag on new users while the instance asks for it; only Administrators change it', async () => {
    await t.roster.settings.set('termsOfServiceRequireNewUserToAccept', 'true');
    try {
      const { id } = (await orgAdmin.post('/Users', userBody(name('terms'))).expect(201)).body;
      expect((await read(id))[ROSTER].termsOfServiceAcceptanceRequired).toBe(true);
      const path = `${ROSTER}:termsOfServiceAcceptanceRequired`;
      expectScimError(await orgAdmin.patch(`/Users/${id}`, patchOp({ op: 'replace', path, value: false })), 403);
      await admin.patch(`/Users/${id}`, patchOp({ op: 'replace', path, value: false })).expect(204);
    } finally {
      await t.roster.settings.set('termsOfServiceRequireNewUserToAccept', 'false');
    }
    const { id } = (await orgAdmin.post('/Users', userBody(name('terms'))).expect(201)).body;
    const res = await admin.patch(`/Users/${id}`, patchOp({ op: 'replace', path: `${ROSTER}:termsOfServiceAcceptanceRequired`, value: true }));
    expectScimError(res, 403);
    expect(res.body.detail).toMatch(/termsOfServiceRequireNewUserToAccept/);
  });

  it('rejects API-only attributes on other users and bad values', async () => {
    expectScimError(await orgAdmin.post('/Users', withRoster(name('std'), { tokenExpirationDays: 5 })), 400, 'invalidValue');
    expectScimError(await orgAdmin.post('/Users', withRoster(name('std'), { summaryEmailTime: '25:00' })), 400, 'invalidValue');
    expectScimError(await orgAdmin.post('/Users', userBody(name('tz'), { timezone: 'Mars/Olympus' })), 400, 'invalidValue');
    await orgAdmin.post('/Users', userBody(name('tz'), { timezone: 'Europe/Oslo' })).expect(201);
  });

  it('refuses through Bulk what it refuses alone', async () => {
    const { id } = (await orgAdmin.post('/Users', userBody(name('bulk'))).expect(201)).body;
    const res = await orgAdmin
      .post('/Bulk', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: [{ method: 'PATCH', path: `/Users/${id}`, data: patchOp({ op: 'replace', path: `${ROSTER}:systemRole`, value: 'Administrator' }) }],
      })
      .expect(200);
    expect(res.body.Operations[0].status).toBe('403');
    expect((await read(id))[ROSTER].systemRole).toBe('User');
  });
});

describe('passwords', () => {
  it('checks a password against the policy', async () => {
    await t.roster.settings.set('passwordPolicy.minLength', '12');
    try {
      const res = await orgAdmin.post('/Users', userBody(name('pw'), { password: 'short1A' }));
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toMatch(/at least 12 characters/);
      await orgAdmin.post('/Users', userBody(name('pw'), { password: 'long-enough-password' })).expect(201);
    } finally {
      await t.roster.settings.set('passwordPolicy.minLength', '8');
    }
  });

  it("accepts Okta's placeholder password with the default policy", async () => {
    await orgAdmin.post('/Users', userBody(name('okta'), { password: '1mz050nq' })).expect(201);
  });
});

describe('licenses', () => {
  it('refuses a create or re-type past a limit, naming the limit', async () => {
    const other = await t.newOrganization('licensed');
    const scim = scimClient(t.app, other.token);
    await t.roster.organizations.setLicense('licensed', { standardUserLimit: 1, apiUsersAllowed: false, readOnlyUserLimit: 0, readOnlyUsersFree: true });
    const { id } = (await scim.post('/Users', userBody(name('first'))).expect(201)).body;
    const res = await scim.post('/Users', userBody(name('second')));
    expectScimError(res, 403);
    expect(res.body.detail).toBe('organization licensed has reached its license limit of 1 standard users');
    const api = await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: `${ROSTER}:systemRole`, value: 'Api User' }));
    expectScimError(api, 403);
    expect(api.body.detail).toMatch(/does not allow API users/);
    await scim.post('/Users', withRoster(name('free'), { systemRole: 'Read Only User', organizationRole: 'Read Only User' })).expect(201);
  });

  it('counts only the account type a change adds: other types never take its seats', async () => {
    const other = await t.newOrganization('seats');
    const scim = scimClient(t.app, other.token);
    await t.roster.organizations.setLicense('seats', { standardUserLimit: 2, readOnlyUserLimit: 1, readOnlyUsersFree: false });
    await scim.post('/Users', withRoster(name('reader'), { systemRole: 'Read Only User', organizationRole: 'Read Only User' })).expect(201);
    await scim.post('/Users', userBody(name('one'))).expect(201);
    await scim.post('/Users', userBody(name('two'))).expect(201);
    const third = await scim.post('/Users', userBody(name('three')));
    expectScimError(third, 403);
    expect(third.body.detail).toBe('organization seats has reached its license limit of 2 standard users');
    const reader = await scim.post('/Users', withRoster(name('reader2'), { systemRole: 'Read Only User', organizationRole: 'Read Only User' }));
    expectScimError(reader, 403);
    expect(reader.body.detail).toMatch(/license limit of 1 /);
  });

  it('lets a write that names a user as manager key-share its row while a re-type of that user waits for the license (no deadlock)', async () => {
    const { id } = (await admin.post('/Users', userBody(name('retyped'))).expect(201)).body;
    const readOnly = patchOp(
      { op: 'replace', path: `${ROSTER}:systemRole`, value: 'Read Only User' },
      { op: 'replace', path: `${ROSTER}:organizationRole`, value: 'Read Only User' },
    );
    const pool = t.roster.database.pool;
    if (servesOneSession(pool)) {
      // One session: no other transaction can hold the license lock meanwhile.
      await admin.patch(`/Users/${id}`, readOnly).expect(204);
      return;
    }
    // A create within the margin of its limit, as the store locks: the license's advisory lock, exclusively.
    let patched: Promise<number> | undefined;
    await holdingLicenseLock(pool, t.org.id, async (creator) => {
      // The re-type locks the user's row, then waits for the license.
      patched = admin.patch(`/Users/${id}`, readOnly).then((res) => res.status);
      expect(await advisoryLockWaiters(pool)).toBeGreaterThan(0);
      // The create names that user as its manager: it key-shares the row (as the manager check does), and must not wait.
      const found = await new UserSqlRepository(Sql.onClient(creator)).existingIds(t.org.id, [id], { keyShare: true });
      expect(found.has(id)).toBe(true);
    });
    expect(await patched).toBe(204);
    expect((await read(id))[ROSTER].systemRole).toBe('Read Only User');
  });

  it('never gives more seats than the license has to creates racing for them, far from the limit and at it', async () => {
    // Checks far from the limit run side by side; within one database session per
    // transaction of the limit they wait their turn. Race creates through both.
    const [{ sessions }] = await t.roster.database.orm.em
      .getConnection()
      .execute<{ sessions: number }[]>(`select current_setting('max_connections')::int as sessions`);
    const limit = sessions + 12;
    const other = await t.newOrganization('raced');
    await t.roster.organizations.setLicense('raced', { standardUserLimit: limit });
    const scim = scimClient(t.app, other.token);
    const responses = await Promise.all(Array.from({ length: limit + 10 }, (_, i) => scim.post('/Users', userBody(`raced.${i}@roles.example`))));
    const statuses = responses.map((r) => r.status);
    expect(statuses.filter((s) => s === 201)).toHaveLength(limit);
    expect(statuses.filter((s) => s === 403)).toHaveLength(10);
    for (const refused of responses.filter((r) => r.status === 403)) {
      expect(refused.body.detail).toBe(`organization raced has reached its license limit of ${limit} standard users`);
    }
    expect((await scim.get('/Users?count=0').expect(200)).body.totalResults).toBe(limit);
    expect((await t.roster.organizations.show('raced')).counts.standard).toBe(limit);
  });
});

describe('audit', () => {
  it('records create, update with changed attributes, deactivation, role change, refusal and delete', async () => {
    const { id } = (await admin.post('/Users', userBody(name('audited'))).expect(201)).body;
    await admin.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'T' }, { op: 'replace', path: 'active', value: false })).expect(204);
    await admin.patch(`/Users/${id}`, patchOp({ op: 'replace', path: `${ROSTER}:systemRole`, value: 'Operations Administrator' })).expect(204);
    expectScimError(await orgAdmin.delete(`/Users/${id}`), 403);
    await admin.delete(`/Users/${id}`).expect(204);
    const events = await auditOf(id);
    expect(events.map((e) => e.action)).toEqual([
      'user.created',
      'user.updated',
      'user.deactivated',
      'user.updated',
      'user.system_role_changed',
      'refused',
      'user.deleted',
    ]);
    expect(events[1].details).toEqual({ changed: ['active', 'title'] });
    expect(events[4].details).toEqual({ from: 'User', to: 'Operations Administrator' });
    expect(events[5].details).toMatchObject({ attempted: 'user.delete', rule: 'user.act_upward' });
    expect(events.every((e) => e.organizationId === t.org.id && e.targetName?.startsWith('audited.'))).toBe(events[5].targetName === undefined ? false : true);
    expect(events[0].credentialId).toMatch(/^[0-9a-f-]{36}$/);
  });
});
