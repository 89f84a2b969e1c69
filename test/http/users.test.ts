import argon2 from 'argon2';
import request from 'supertest';
import { startTestRoster, type TestRoster } from '../support/roster';
import { ENTERPRISE, ROSTER, USER, expectScimError, patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

let t: TestRoster;
let scim: ScimClient;

beforeAll(async () => {
  t = await startTestRoster();
  scim = scimClient(t.app, t.token);
});
afterAll(() => t.close());

describe('creating a user', () => {
  it('answers 201 with the resource, a Location equal to meta.location and an ETag', async () => {
    const res = await scim.post('/Users', userBody('barbara.jensen@example.com', { externalId: 'okta-00u1' }));
    expect(res.status).toBe(201);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(res.body.id).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body.userName).toBe('barbara.jensen@example.com');
    expect(res.body.externalId).toBe('okta-00u1');
    expect(res.body.schemas).toContain(USER);
    expect(res.body.meta.resourceType).toBe('User');
    expect(res.headers.location).toBe(res.body.meta.location);
    expect(res.body.meta.location).toMatch(new RegExp(`/scim/v2/Users/${res.body.id}$`));
    expect(res.headers.etag).toBe(res.body.meta.version);
    expect(res.body[ROSTER]).toMatchObject({ systemRole: 'User', accountType: 'standard', passwordResetRequired: true });
  });

  it('gives ids in the order of creation (UUID version 7, their time that of meta.created)', async () => {
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const res = await scim.post('/Users', userBody(`ordered-${i}@example.com`)).expect(201);
      expect(res.body.id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      const idTime = parseInt(res.body.id.replace(/-/g, '').slice(0, 12), 16);
      expect(Math.abs(idTime - Date.parse(res.body.meta.created))).toBeLessThan(5_000);
      ids.push(res.body.id);
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    expect([...ids].sort()).toEqual(ids);
  });

  it('stores a password only as an argon2id hash and never returns it', async () => {
    const res = await scim.post('/Users', userBody('pw.holder@example.com', { password: 'Correct-Horse-9' }));
    expect(res.status).toBe(201);
    expect(JSON.stringify(res.body)).not.toContain('Correct-Horse-9');
    expect(res.body.password).toBeUndefined();
    const stored = await t.roster.users.get(actorOf(t), res.body.id);
    expect(stored.passwordHash).toMatch(/^\$argon2id\$/);
    expect(await argon2.verify(stored.passwordHash as string, 'Correct-Horse-9')).toBe(true);
  });

  it('keeps the enterprise extension', async () => {
    const manager = (await scim.post('/Users', userBody('ent.manager@example.com')).expect(201)).body.id;
    const res = await scim.post('/Users', {
      ...userBody('ent.user@example.com'),
      schemas: [USER, ENTERPRISE],
      [ENTERPRISE]: { employeeNumber: '701984', department: 'Tour Operations', manager: { value: manager } },
    });
    expect(res.status).toBe(201);
    expect(res.body.schemas).toContain(ENTERPRISE);
    expect(res.body[ENTERPRISE]).toMatchObject({ employeeNumber: '701984', department: 'Tour Operations', manager: { value: manager } });
  });

  it('refuses a userName already taken, in any case, with 409 uniqueness', async () => {
    await scim.post('/Users', userBody('dup.name@example.com')).expect(201);
    expectScimError(await scim.post('/Users', userBody('DUP.Name@Example.com')), 409, 'uniqueness');
  });

  it('gives exactly one 201 and 409s to 20 parallel creates of one userName', async () => {
    const results = await Promise.all(Array.from({ length: 20 }, (_, i) => scim.post('/Users', userBody(i % 2 ? 'Race@Example.com' : 'race@example.com'))));
    const statuses = results.map((r) => r.status).sort();
    expect(statuses.filter((s) => s === 201)).toHaveLength(1);
    expect(statuses.filter((s) => s === 409)).toHaveLength(19);
    for (const r of results.filter((r) => r.status === 409)) expect(r.body.scimType).toBe('uniqueness');
  });

  it('refuses a body without userName with 400 and stores nothing', async () => {
    const res = await scim.post('/Users', { schemas: [USER], externalId: 'no-name', name: { givenName: 'X' } });
    expectScimError(res, 400, 'invalidValue');
    const list = await scim.get('/Users?filter=externalId eq "no-name"');
    expect(list.body.totalResults).toBe(0);
  });

  it('refuses malformed JSON with 400 invalidSyntax', async () => {
    const res = await scim.post('/Users', '{"schemas": [').set('Content-Type', 'application/scim+json');
    expectScimError(res, 400, 'invalidSyntax');
  });

  it('refuses a body of the wrong schema with 400', async () => {
    expectScimError(await scim.post('/Users', { schemas: ['urn:x'], userName: 'x@example.com' }), 400, 'invalidSyntax');
  });

  it('refuses two primary emails with 400 invalidValue', async () => {
    const emails = [
      { value: 'one@example.com', primary: true },
      { value: 'two@example.com', primary: true },
    ];
    expectScimError(await scim.post('/Users', userBody('two.primaries@example.com', { emails })), 400, 'invalidValue');
  });

  it('refuses a value of the wrong type with 400 invalidValue', async () => {
    expectScimError(await scim.post('/Users', userBody('typed@example.com', { active: 'sometimes' })), 400, 'invalidValue');
  });
});

describe('reading users', () => {
  let id: string;
  beforeAll(async () => {
    id = (await scim.post('/Users', userBody('reader.one@example.com', { externalId: 'ext-reader' })).expect(201)).body.id;
  });

  it('returns a user by id', async () => {
    const res = await scim.get(`/Users/${id}`).expect(200);
    expect(res.body.userName).toBe('reader.one@example.com');
    expect(res.headers.etag).toBe('W/"1"');
  });

  it('answers 304 to If-None-Match with the current version', async () => {
    await scim.get(`/Users/${id}`).set('If-None-Match', 'W/"1"').expect(304);
  });

  it('answers 404 with a SCIM error for an unknown id and for a malformed one', async () => {
    expectScimError(await scim.get('/Users/00000000-0000-4000-8000-000000000000'), 404);
    expectScimError(await scim.get("/Users/1' or '1'='1"), 404);
  });

  it('finds a user by userName case-insensitively, by externalId exactly', async () => {
    const byName = await scim.get('/Users?filter=' + encodeURIComponent('userName eq "READER.ONE@example.com"')).expect(200);
    expect(byName.body.schemas).toEqual(['urn:ietf:params:scim:api:messages:2.0:ListResponse']);
    expect(byName.body.totalResults).toBe(1);
    expect(byName.body.Resources[0].id).toBe(id);
    const byExternal = await scim.get('/Users?filter=' + encodeURIComponent('externalId eq "ext-reader"')).expect(200);
    expect(byExternal.body.Resources.map((u: { id: string }) => u.id)).toEqual([id]);
    const wrongCase = await scim.get('/Users?filter=' + encodeURIComponent('externalId eq "EXT-READER"')).expect(200);
    expect(wrongCase.body.totalResults).toBe(0);
  });

  it('answers an unknown userName with an empty list, not an error', async () => {
    const res = await scim.get('/Users?filter=' + encodeURIComponent('userName eq "nobody@example.com"')).expect(200);
    expect(res.body).toMatchObject({ totalResults: 0, Resources: [] });
  });

  it('refuses a bad filter with 400 invalidFilter', async () => {
    expectScimError(await scim.get('/Users?filter=' + encodeURIComponent('userName eq')), 400, 'invalidFilter');
    expectScimError(await scim.get('/Users?filter=' + encodeURIComponent('userName xx "a"')), 400, 'invalidFilter');
    expectScimError(await scim.get('/Users?filter=' + encodeURIComponent('nosuch eq "a"')), 400, 'invalidFilter');
  });
});

describe('paging', () => {
  const names = Array.from({ length: 7 }, (_, i) => `page.${i + 1}@paging.example`);
  beforeAll(async () => {
    for (const name of names) await scim.post('/Users', userBody(name)).expect(201);
  });

  it('returns exactly items 3 to 6 for startIndex=3&count=4', async () => {
    const filter = encodeURIComponent('userName ew "@paging.example"');
    const res = await scim.get(`/Users?filter=${filter}&startIndex=3&count=4`).expect(200);
    expect(res.body.totalResults).toBe(7);
    expect(res.body.startIndex).toBe(3);
    expect(res.body.itemsPerPage).toBe(4);
    expect(res.body.Resources.map((u: { userName: string }) => u.userName)).toEqual(names.slice(2, 6));
  });

  it('answers count=0 with only totalResults', async () => {
    const filter = encodeURIComponent('userName ew "@paging.example"');
    const res = await scim.get(`/Users?filter=${filter}&count=0`).expect(200);
    expect(res.body.totalResults).toBe(7);
    expect(res.body.Resources).toEqual([]);
  });

  it('refuses a non-numeric count with 400', async () => {
    expectScimError(await scim.get('/Users?count=ten'), 400, 'invalidValue');
  });
});

describe('changing a user', () => {
  it('replaces a user with PUT, clearing what the body leaves out', async () => {
    const created = await scim.post('/Users', userBody('put.me@example.com', { title: 'Analyst', displayName: 'Put Me' })).expect(201);
    const res = await scim.put(`/Users/${created.body.id}`, userBody('put.me@example.com', { displayName: 'Put Me Again' })).expect(200);
    expect(res.body.displayName).toBe('Put Me Again');
    expect(res.body.title).toBeUndefined();
    expect(res.body.meta.version).toBe('W/"2"');
    expect(res.body.meta.created).toBe(created.body.meta.created);
  });

  it('patches active to false and back, op names in any case', async () => {
    const { id } = (await scim.post('/Users', userBody('patch.active@example.com')).expect(201)).body;
    await scim.patch(`/Users/${id}`, patchOp({ op: 'Replace', path: 'active', value: false })).expect(204);
    expect((await scim.get(`/Users/${id}`)).body.active).toBe(false);
    await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', value: { active: true } })).expect(204);
    expect((await scim.get(`/Users/${id}`)).body.active).toBe(true);
  });

  it('patches a value-filtered path and adds values, answering 200 with the resource when attributes are asked for', async () => {
    const { id } = (await scim.post('/Users', userBody('patch.mail@example.com')).expect(201)).body;
    const res = await scim
      .patch(
        `/Users/${id}?attributes=emails,title`,
        patchOp({ op: 'replace', path: 'emails[type eq "work"].value', value: 'patched.mail@example.com' }, { op: 'add', path: 'title', value: 'Hunter' }),
      )
      .expect(200);
    expect(res.body.emails).toEqual([{ value: 'patched.mail@example.com', type: 'work', primary: true }]);
    expect(res.body.title).toBe('Hunter');
  });

  it('applies none of a PATCH whose later operation fails', async () => {
    const { id } = (await scim.post('/Users', userBody('patch.atomic@example.com')).expect(201)).body;
    const res = await scim.patch(
      `/Users/${id}`,
      patchOp({ op: 'replace', path: 'title', value: 'Changed' }, { op: 'replace', path: 'active', value: 'maybe' }),
    );
    expectScimError(res, 400);
    expect((await scim.get(`/Users/${id}`)).body.title).toBeUndefined();
  });

  it('refuses a rename onto a taken userName with 409', async () => {
    await scim.post('/Users', userBody('taken.name@example.com')).expect(201);
    const { id } = (await scim.post('/Users', userBody('renamer@example.com')).expect(201)).body;
    expectScimError(await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'userName', value: 'Taken.Name@example.com' })), 409, 'uniqueness');
  });

  it('answers 412 to a PUT whose If-Match is stale', async () => {
    const { id } = (await scim.post('/Users', userBody('etag.user@example.com')).expect(201)).body;
    await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'v2' })).expect(204);
    const res = await scim.put(`/Users/${id}`, userBody('etag.user@example.com')).set('If-Match', 'W/"1"');
    expectScimError(res, 412);
    await scim.put(`/Users/${id}`, userBody('etag.user@example.com')).set('If-Match', 'W/"2"').expect(200);
  });

  it('sets a new password through PATCH, hashed', async () => {
    const { id } = (await scim.post('/Users', userBody('patch.pw@example.com')).expect(201)).body;
    const res = await scim.patch(`/Users/${id}?excludedAttributes=groups`, patchOp({ op: 'replace', path: 'password', value: 'N3w-Password!' })).expect(200);
    expect(JSON.stringify(res.body)).not.toContain('N3w-Password!');
    expect(res.body.password).toBeUndefined();
    const stored = await t.roster.users.get(actorOf(t), id);
    expect(await argon2.verify(stored.passwordHash as string, 'N3w-Password!')).toBe(true);
  });

  it('keeps the version when a PATCH or PUT changes nothing', async () => {
    const created = await scim
      .post('/Users', userBody('noop.user@example.com', { addresses: [{ type: 'work', locality: 'Oslo', country: 'NO' }] }))
      .expect(201);
    const id = created.body.id;
    const same = patchOp({ op: 'replace', path: 'emails', value: created.body.emails }, { op: 'replace', path: 'addresses', value: created.body.addresses });
    expect((await scim.patch(`/Users/${id}`, same).expect(204)).headers.etag).toBe('W/"1"');
    const put = await scim.put(`/Users/${id}`, userBody('noop.user@example.com', { addresses: created.body.addresses })).expect(200);
    expect(put.body.meta.version).toBe('W/"1"');
  });

  it('keeps a disabled user disabled when a PUT leaves active out', async () => {
    const { id } = (await scim.post('/Users', userBody('stays.off@example.com', { active: false })).expect(201)).body;
    const { active: _omitted, ...withoutActive } = userBody('stays.off@example.com', { title: 'Renamed' });
    const res = await scim.put(`/Users/${id}`, withoutActive).expect(200);
    expect(res.body.active).toBe(false);
    expect(res.body.title).toBe('Renamed');
  });

  it('answers 404 when patching an unknown user', async () => {
    expectScimError(await scim.patch('/Users/00000000-0000-4000-8000-000000000000', patchOp({ op: 'replace', path: 'active', value: false })), 404);
  });
});

describe('sendAccountInfoEmail (write-only, read on create only)', () => {
  const withFlag = (userName: string, flag: unknown) => userBody(userName, { schemas: [USER, ROSTER], [ROSTER]: { sendAccountInfoEmail: flag } });

  it('is stored from a create for the platform to act on, and never sent back', async () => {
    const res = await scim.post('/Users', withFlag('welcome.mail@example.com', true)).expect(201);
    expect(JSON.stringify(res.body)).not.toContain('sendAccountInfoEmail');
    expect((await scim.get(`/Users/${res.body.id}`).expect(200)).body[ROSTER]).not.toHaveProperty('sendAccountInfoEmail');
    expect((await t.roster.users.get(actorOf(t), res.body.id)).sendAccountInfoEmail).toBe(true);
    // Entra ID sends booleans as strings.
    const entra = await scim.post('/Users', withFlag('welcome.entra@example.com', 'True')).expect(201);
    expect((await t.roster.users.get(actorOf(t), entra.body.id)).sendAccountInfoEmail).toBe(true);
    const without = await scim.post('/Users', userBody('no.welcome@example.com')).expect(201);
    expect((await t.roster.users.get(actorOf(t), without.body.id)).sendAccountInfoEmail).toBe(false);
  });

  it('is read from a Bulk POST too', async () => {
    const res = await scim
      .post('/Bulk', {
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: [{ method: 'POST', path: '/Users', bulkId: 'w', data: withFlag('welcome.bulk@example.com', true) }],
      })
      .expect(200);
    const id = (res.body.Operations[0].location as string).split('/').pop() as string;
    expect((await t.roster.users.get(actorOf(t), id)).sendAccountInfoEmail).toBe(true);
  });

  it('is left as stored by a PUT or a PATCH that sends it (Okta repeats the whole profile on PUT)', async () => {
    const id = (await scim.post('/Users', withFlag('welcome.kept@example.com', true)).expect(201)).body.id;
    await scim.put(`/Users/${id}`, withFlag('welcome.kept@example.com', false)).expect(200);
    await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: `${ROSTER}:sendAccountInfoEmail`, value: false })).expect(204);
    expect((await t.roster.users.get(actorOf(t), id)).sendAccountInfoEmail).toBe(true);
  });

  it('refuses a value that is not a boolean, storing nothing', async () => {
    expectScimError(await scim.post('/Users', withFlag('welcome.bad@example.com', 'soon')), 400, 'invalidValue');
    expect((await scim.get(`/Users?filter=${encodeURIComponent('userName eq "welcome.bad@example.com"')}`).expect(200)).body.totalResults).toBe(0);
  });
});

describe('deleting a user', () => {
  it('answers 204, then 404, and frees the userName', async () => {
    const { id } = (await scim.post('/Users', userBody('delete.me@example.com')).expect(201)).body;
    await scim.delete(`/Users/${id}`).expect(204);
    expectScimError(await scim.get(`/Users/${id}`), 404);
    expectScimError(await scim.delete(`/Users/${id}`), 404);
    await scim.post('/Users', userBody('delete.me@example.com')).expect(201);
  });
});

describe('SCIM response bodies', () => {
  it('carry an exact byte Content-Length for non-ASCII text, none on HEAD and on 304', async () => {
    const created = await scim.post('/Users', userBody('zoe.umlaut@example.com', { displayName: 'Zoë Ümlaut 😀' })).expect(201);
    const got = await scim.get(`/Users/${created.body.id}`).expect(200);
    expect(got.headers['content-type']).toBe('application/scim+json; charset=utf-8');
    expect(Number(got.headers['content-length'])).toBe(Buffer.byteLength(got.text, 'utf8'));
    expect(got.body.displayName).toBe('Zoë Ümlaut 😀');
    const head = await request(t.app).head(`/scim/v2/Users/${created.body.id}`).set('Authorization', `Bearer ${t.token}`).expect(200);
    expect(head.text ?? '').toBe('');
    expect(head.headers['content-length']).toBe(got.headers['content-length']);
    const fresh = await scim.get(`/Users/${created.body.id}`).set('If-None-Match', got.headers.etag).expect(304);
    expect(fresh.text ?? '').toBe('');
    expect(fresh.headers['content-type']).toBeUndefined();
    await scim.get(`/Users/${created.body.id}`).set('If-None-Match', 'W/"999"').expect(200);
  });
});

function actorOf(roster: TestRoster) {
  return { credentialId: 'test', organizationId: roster.org.id, systemRole: 'Api User' as const, organizationRole: 'Organization Administrator' as const };
}
