import fc from 'fast-check';
import request from 'supertest';
import { startTestRoster, type TestRoster } from '../support/roster';
import { ENTERPRISE, GROUP, ROSTER, USER, expectScimError, patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

/**
 * What a client may write, written in any of the forms SCIM allows, means the same
 * thing on every path (POST, PUT, PATCH, Bulk): URN-qualified keys reach the policy,
 * canonical values of multi-valued sub-attributes are suggestions, a PUT keeps the
 * identity provider's externalId, and the enterprise manager is a user of the
 * organization.
 */
let t: TestRoster;
let orgAdmin: ScimClient; // Api User + Organization Administrator: may not choose system roles (rule 4)
let admin: ScimClient; // Administrator

beforeAll(async () => {
  t = await startTestRoster({ rateLimitPerSecond: 0 });
  orgAdmin = scimClient(t.app, t.token);
  admin = scimClient(
    t.app,
    (await t.roster.credentials.issue({ organizationId: t.org.id, systemRole: 'Administrator', organizationRole: 'Organization Administrator' })).secret,
  );
});
afterAll(() => t.close());

let n = 0;
const name = (prefix: string) => `${prefix}.${++n}@forms.example`;
const read = async (id: string) => (await admin.get(`/Users/${id}`).expect(200)).body;
const countUsers = async () => (await admin.get('/Users?count=0').expect(200)).body.totalResults as number;

/** The outcome a user of the request would see: the status, and the attribute as stored. */
interface Outcome {
  status: number;
  stored?: unknown;
}

type Form = 'nested' | 'qualified';
const bodyWith = (userName: string, attribute: string, value: unknown, form: Form) =>
  form === 'nested'
    ? { ...userBody(userName), schemas: [USER, ROSTER], [ROSTER]: { [attribute]: value } }
    : { ...userBody(userName), schemas: [USER, ROSTER], [`${ROSTER}:${attribute}`]: value };

async function outcome(res: request.Response, id: string | undefined, attribute: string): Promise<Outcome> {
  if (res.status >= 400) {
    expect(res.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:Error']);
    return { status: res.status };
  }
  const stored = await read(id ?? res.body.id);
  return { status: res.status, stored: stored[ROSTER]?.[attribute] ?? null };
}

describe('URN-qualified extension keys (rule 4 on every path)', () => {
  it('refuses a system role set by a flattened key in a POST by a token that may not choose one, and stores nothing', async () => {
    const before = await countUsers();
    const res = await orgAdmin.post('/Users', { ...userBody(name('flat')), [`${ROSTER}:systemRole`]: 'Administrator' });
    expectScimError(res, 403);
    expect(res.body.detail).toMatch(/system role/i);
    expect(await countUsers()).toBe(before);
  });

  it('refuses it in a PUT as in a PATCH, and applies it for a token that may', async () => {
    const { id } = (await orgAdmin.post('/Users', userBody(name('put'))).expect(201)).body;
    const body = { ...userBody(name('put')), [`${ROSTER}:systemRole`]: 'Administrator' };
    expectScimError(await orgAdmin.put(`/Users/${id}`, body), 403);
    expectScimError(await orgAdmin.patch(`/Users/${id}`, patchOp({ op: 'replace', value: { [`${ROSTER}:systemRole`]: 'Administrator' } })), 403);
    expect((await read(id))[ROSTER].systemRole).toBe('User');
    await admin.put(`/Users/${id}`, body).expect(200);
    expect((await read(id))[ROSTER].systemRole).toBe('Administrator');
  });

  it('refuses a Bulk operation that sets it by a flattened key', async () => {
    const res = await orgAdmin
      .post('/Bulk', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: [{ method: 'POST', path: '/Users', bulkId: 'a', data: { ...userBody(name('bulk')), [`${ROSTER}:systemRole`]: 'Administrator' } }],
      })
      .expect(200);
    expect(res.body.Operations[0].status).toBe('403');
  });

  it('folds qualified core and enterprise keys too, and refuses an attribute given twice', async () => {
    const userName = name('core');
    const res = await admin.post('/Users', { schemas: [USER, ENTERPRISE], [`${USER}:userName`]: userName, [`${ENTERPRISE}:department`]: 'Intel' }).expect(201);
    expect(res.body.userName).toBe(userName);
    expect(res.body[ENTERPRISE].department).toBe('Intel');
    const twice = await admin.post('/Users', { ...userBody(name('twice')), [ROSTER]: { locked: true }, [`${ROSTER}:locked`]: false });
    expectScimError(twice, 400, 'invalidSyntax');
  });

  it('refuses a qualified key that names no attribute of its schema, and stores nothing', async () => {
    const before = await countUsers();
    for (const key of [`${ROSTER}:nosuch`, `${USER}:name.givenName.x`, `${USER}:`, `${ENTERPRISE}:__proto__`, `${USER}:name.`]) {
      expectScimError(await admin.post('/Users', { ...userBody(name('badkey')), [key]: 'x' }), 400, 'invalidPath');
    }
    expect(await countUsers()).toBe(before);
  });

  it('keeps a "__proto__" key a key: it cannot smuggle attributes in', async () => {
    const body = JSON.parse(`{"schemas":["${USER}"],"userName":"${name('proto')}","__proto__":{"password":"Smuggled-1","title":"x"}}`);
    const res = await admin.post('/Users', body).expect(201);
    expect(res.body.title).toBeUndefined();
    const stored = await t.roster.users.get({ organizationId: t.org.id } as never, res.body.id);
    expect(stored.passwordHash).toBeNull();
  });

  const attributeValue = fc.oneof(
    fc.record({ attribute: fc.constant('systemRole'), value: fc.constantFrom('User', 'Administrator', 'Read Only User', 'Api User', 'nobody', 'user') }),
    fc.record({ attribute: fc.constant('organizationRole'), value: fc.constantFrom('Standard User', 'Organization Administrator', 'Read Only User', 'boss') }),
    fc.record({ attribute: fc.constant('customTqlTimeout'), value: fc.oneof(fc.integer({ min: -5, max: 4_000_000 }), fc.constant('x')) }),
    fc.record({ attribute: fc.constant('locked'), value: fc.oneof(fc.boolean(), fc.constant('maybe')) }),
    fc.record({ attribute: fc.constant('mfaResetRequired'), value: fc.boolean() }),
  );
  const token = fc.constantFrom<'orgAdmin' | 'admin'>('orgAdmin', 'admin');

  it('gives a qualified key the same outcome as the nested block, on POST, PUT and path-less PATCH (generated)', async () => {
    await fc.assert(
      fc.asyncProperty(attributeValue, token, async ({ attribute, value }, who) => {
        const client = who === 'admin' ? admin : orgAdmin;
        // POST
        const posted: Outcome[] = [];
        for (const form of ['nested', 'qualified'] as const) {
          const res = await client.post('/Users', bodyWith(name('gen'), attribute, value, form));
          posted.push(await outcome(res, undefined, attribute));
        }
        expect(posted[1]).toEqual(posted[0]);
        // PUT and PATCH, each on a fresh user of its own
        for (const method of ['put', 'patch'] as const) {
          const results: Outcome[] = [];
          for (const form of ['nested', 'qualified'] as const) {
            const userName = name('gen');
            const { id } = (await admin.post('/Users', userBody(userName)).expect(201)).body;
            const res =
              method === 'put'
                ? await client.put(`/Users/${id}`, bodyWith(userName, attribute, value, form))
                : await client.patch(
                    `/Users/${id}`,
                    patchOp({ op: 'replace', value: form === 'nested' ? { [ROSTER]: { [attribute]: value } } : { [`${ROSTER}:${attribute}`]: value } }),
                  );
            results.push(await outcome(res, id, attribute));
          }
          expect({ method, ...results[1] }).toEqual({ method, ...results[0] });
        }
      }),
      { numRuns: 15 },
    );
  });
});

describe('canonical values are suggestions on multi-valued sub-attributes (RFC 7643 section 7)', () => {
  it('accepts roles, x509Certificates and emails of any type, and keeps their canonical spelling when they match', async () => {
    const res = await orgAdmin
      .post(
        '/Users',
        userBody(name('types'), {
          emails: [
            { value: 'pager@forms.example', type: 'pager' },
            { value: 'w@forms.example', type: 'Work' },
          ],
          roles: [{ value: 'analyst', type: 'work' }],
          x509Certificates: [{ value: 'MIIB', type: 'signing' }],
          phoneNumbers: [{ value: '+1 555', type: 'satellite' }],
        }),
      )
      .expect(201);
    expect(res.body.emails.map((e: { type: string }) => e.type)).toEqual(['pager', 'work']);
    expect(res.body.roles).toEqual([{ value: 'analyst', type: 'work' }]);
    expect(res.body.x509Certificates[0].type).toBe('signing');
  });

  it('still advertises the suggested values in /Schemas', async () => {
    const core = (await orgAdmin.get(`/Schemas/${USER}`).expect(200)).body;
    const emails = core.attributes.find((a: { name: string }) => a.name === 'emails');
    expect(emails.subAttributes.find((s: { name: string }) => s.name === 'type').canonicalValues).toEqual(['work', 'home', 'other']);
  });

  it('keeps refusing role names DOMAIN.md does not know', async () => {
    expectScimError(await admin.post('/Users', bodyWith(name('role'), 'systemRole', 'Superuser', 'nested')), 400, 'invalidValue');
  });

  it('accepts any type string on every multi-valued sub-attribute that has suggestions (generated)', async () => {
    const multi = fc.constantFrom('emails', 'phoneNumbers', 'ims', 'photos', 'addresses', 'roles', 'x509Certificates', 'entitlements');
    const type = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 20 }).filter((s) => s.trim() !== '' && !/[\u0000-\u001f]/.test(s));
    await fc.assert(
      fc.asyncProperty(multi, type, async (attribute, typeValue) => {
        const value = attribute === 'photos' ? 'https://photos.example/v.png' : 'v@forms.example';
        const element = attribute === 'addresses' ? { streetAddress: '1 Main St', type: typeValue } : { value, type: typeValue };
        const res = await orgAdmin.post('/Users', userBody(name('anytype'), { [attribute]: [element] }));
        expect({ status: res.status, detail: res.body.detail }).toEqual({ status: 201, detail: undefined });
        const canonical = [
          'work',
          'home',
          'other',
          'mobile',
          'fax',
          'pager',
          'photo',
          'thumbnail',
          'aim',
          'gtalk',
          'icq',
          'xmpp',
          'msn',
          'skype',
          'qq',
          'yahoo',
        ];
        const expected = canonical.find((c) => c === typeValue.trim().toLowerCase()) ?? typeValue;
        expect(res.body[attribute][0].type).toBe(expected);
      }),
      { numRuns: 25 },
    );
  });
});

describe('externalId survives a PUT that leaves it out', () => {
  it('keeps a user externalId when a PUT omits it, clears it on null and on a PATCH remove', async () => {
    const userName = name('ext');
    const { id } = (await orgAdmin.post('/Users', userBody(userName, { externalId: 'okta-00u1' })).expect(201)).body;
    const put = await orgAdmin.put(`/Users/${id}`, userBody(userName, { title: 'Analyst' })).expect(200);
    expect(put.body.externalId).toBe('okta-00u1');
    expect(put.body.title).toBe('Analyst');
    await orgAdmin.put(`/Users/${id}`, userBody(userName, { externalId: 'okta-00u2' })).expect(200);
    expect((await read(id)).externalId).toBe('okta-00u2');
    await orgAdmin.patch(`/Users/${id}`, patchOp({ op: 'remove', path: 'externalId' })).expect(204);
    expect((await read(id)).externalId).toBeUndefined();
    await orgAdmin.put(`/Users/${id}`, userBody(userName, { externalId: 'okta-00u3' })).expect(200);
    await orgAdmin.put(`/Users/${id}`, userBody(userName, { externalId: null })).expect(200);
    expect((await read(id)).externalId).toBeUndefined();
  });

  it('keeps a group externalId when a PUT omits it, clears it on a PATCH remove', async () => {
    const { id } = (await orgAdmin.post('/Groups', { schemas: [GROUP], displayName: `ext-${++n}`, externalId: 'entra-g1' }).expect(201)).body;
    const put = await orgAdmin.put(`/Groups/${id}`, { schemas: [GROUP], displayName: `ext-renamed-${n}` }).expect(200);
    expect(put.body.externalId).toBe('entra-g1');
    await orgAdmin.patch(`/Groups/${id}`, patchOp({ op: 'remove', path: 'externalId' })).expect(204);
    expect((await orgAdmin.get(`/Groups/${id}`).expect(200)).body.externalId).toBeUndefined();
  });

  it('keeps it whatever else a PUT changes (generated)', async () => {
    const title = fc.option(fc.constantFrom('Analyst', 'Hunter', 'Lead'), { nil: undefined });
    const active = fc.option(fc.boolean(), { nil: undefined });
    const externalId = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).filter((s) => !/[\u0000-\u001f]/.test(s));
    await fc.assert(
      fc.asyncProperty(externalId, title, active, async (ext, newTitle, newActive) => {
        const userName = name('extgen');
        const { id } = (await orgAdmin.post('/Users', userBody(userName, { externalId: ext })).expect(201)).body;
        const extra: Record<string, unknown> = {};
        if (newTitle !== undefined) extra.title = newTitle;
        const body: Record<string, unknown> = { ...userBody(userName, extra) };
        if (newActive === undefined) delete body.active;
        else body.active = newActive;
        await orgAdmin.put(`/Users/${id}`, body).expect(200);
        expect((await read(id)).externalId).toBe(ext);
      }),
      { numRuns: 10 },
    );
  });
});

describe('the enterprise manager is a user of the organization', () => {
  it('refuses a manager that is no user of this organization, on POST, PUT and PATCH, and stores nothing', async () => {
    const other = await t.newOrganization(`forms-other-${++n}`);
    const stranger = (
      await scimClient(t.app, other.token)
        .post('/Users', userBody(name('stranger')))
        .expect(201)
    ).body.id;
    const before = await countUsers();
    for (const manager of ['abc', stranger, '00000000-0000-4000-8000-000000000000']) {
      const res = await orgAdmin.post('/Users', userBody(name('managed'), { schemas: [USER, ENTERPRISE], [ENTERPRISE]: { manager: { value: manager } } }));
      expectScimError(res, 400, 'invalidValue');
      expect(res.body.detail).toMatch(/manager/);
    }
    expect(await countUsers()).toBe(before);
    const userName = name('managed');
    const { id } = (await orgAdmin.post('/Users', userBody(userName)).expect(201)).body;
    expectScimError(await orgAdmin.patch(`/Users/${id}`, patchOp({ op: 'replace', path: `${ENTERPRISE}:manager`, value: stranger })), 400, 'invalidValue');
    expectScimError(
      await orgAdmin.put(`/Users/${id}`, userBody(userName, { schemas: [USER, ENTERPRISE], [ENTERPRISE]: { manager: 'nobody' } })),
      400,
      'invalidValue',
    );
    expect((await read(id))[ENTERPRISE]).toBeUndefined();
  });

  it('clears the manager of the users a deleted user managed, raising their version', async () => {
    const boss = (await orgAdmin.post('/Users', userBody(name('boss'))).expect(201)).body.id;
    const userName = name('report');
    const report = (
      await orgAdmin
        .post('/Users', userBody(userName, { schemas: [USER, ENTERPRISE], [ENTERPRISE]: { department: 'Intel', manager: { value: boss.toUpperCase() } } }))
        .expect(201)
    ).body;
    expect(report[ENTERPRISE].manager.value).toBe(boss.toUpperCase());
    await orgAdmin.delete(`/Users/${boss}`).expect(204);
    const after = await read(report.id);
    expect(after[ENTERPRISE]).toEqual({ department: 'Intel' });
    expect(after.meta.version).not.toBe(report.meta.version);
    // The stored resource is valid again: a PUT of what was read back succeeds.
    await orgAdmin.put(`/Users/${report.id}`, { ...after, schemas: [USER, ENTERPRISE] }).expect(200);
  });

  it('accepts any user of the organization and refuses any other string (generated)', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push((await orgAdmin.post('/Users', userBody(name('mgr'))).expect(201)).body.id);
    const candidate = fc.oneof(
      fc.constantFrom(...ids).map((id) => ({ id, known: true })),
      fc
        .string({ minLength: 1, maxLength: 40 })
        .filter((s) => s.trim() !== '' && !s.includes('\u0000'))
        .map((id) => ({ id, known: false })),
      fc.uuid().map((id) => ({ id, known: false })),
    );
    await fc.assert(
      fc.asyncProperty(candidate, async ({ id, known }) => {
        const res = await orgAdmin.post('/Users', userBody(name('managed'), { schemas: [USER, ENTERPRISE], [ENTERPRISE]: { manager: { value: id } } }));
        expect(res.status).toBe(known ? 201 : 400);
      }),
      { numRuns: 20 },
    );
  });
});
