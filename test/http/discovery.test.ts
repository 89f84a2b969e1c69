import request from 'supertest';
import { startTestRoster, type TestRoster } from '../support/roster';
import { ENTERPRISE, GROUP, ROSTER, USER, expectScimError, scimClient, userBody, type ScimClient } from '../support/scim';

let t: TestRoster;
let scim: ScimClient;
beforeAll(async () => {
  t = await startTestRoster({ maxBodyBytes: 4096 });
  scim = scimClient(t.app, t.token);
});
afterAll(() => t.close());

describe('discovery', () => {
  it('describes the service provider: PATCH, ETags, sort and Bulk with its limits, bearer tokens', async () => {
    const res = await scim.get('/ServiceProviderConfig').expect(200);
    expect(res.headers['content-type']).toMatch(/^application\/scim\+json/);
    expect(res.body.patch.supported).toBe(true);
    expect(res.body.etag.supported).toBe(true);
    expect(res.body.bulk).toEqual({ supported: true, maxOperations: 1000, maxPayloadSize: 1048576 });
    expect(res.body.sort.supported).toBe(true);
    expect(res.body.filter).toMatchObject({ supported: true, maxResults: 1000 });
    expect(res.body.authenticationSchemes[0].type).toBe('oauthbearertoken');
    expect(res.body.meta.location).toMatch(/\/scim\/v2\/ServiceProviderConfig$/);
  });

  it('advertises Security Events as RFC 9967 section 4 names them: the event URIs, no asynchronous requests', async () => {
    const res = await scim.get('/ServiceProviderConfig').expect(200);
    expect(res.body.securityEvents).toEqual({
      asyncRequest: 'none',
      eventUris: [
        'urn:ietf:params:scim:event:prov:create:notice',
        'urn:ietf:params:scim:event:prov:put:notice',
        'urn:ietf:params:scim:event:prov:patch:notice',
        'urn:ietf:params:scim:event:prov:delete',
        'urn:ietf:params:scim:event:prov:activate',
        'urn:ietf:params:scim:event:prov:deactivate',
        'urn:ietf:params:scim:event:prov:create:full',
        'urn:ietf:params:scim:event:prov:put:full',
        'urn:ietf:params:scim:event:prov:patch:full',
      ],
    });
  });

  it('lists the User, Group, enterprise and Roster schemas', async () => {
    const res = await scim.get('/Schemas').expect(200);
    const ids = res.body.Resources.map((s: { id: string }) => s.id);
    expect(ids).toEqual(expect.arrayContaining([USER, GROUP, ENTERPRISE, ROSTER]));
    const roster = await scim.get(`/Schemas/${ROSTER}`).expect(200);
    const names = roster.body.attributes.map((a: { name: string }) => a.name);
    expect(names).toEqual(expect.arrayContaining(['systemRole', 'organizationRole', 'customTqlTimeout', 'mfaEnabled']));
    expectScimError(await scim.get('/Schemas/urn:nope'), 404);
  });

  it('lists the User and Group resource types with their extensions', async () => {
    const res = await scim.get('/ResourceTypes').expect(200);
    expect(res.body.totalResults).toBe(2);
    const user = await scim.get('/ResourceTypes/User').expect(200);
    expect(user.body.endpoint).toBe('/Users');
    expect(user.body.schemaExtensions.map((e: { schema: string }) => e.schema)).toEqual([ENTERPRISE, ROSTER]);
  });

  it('names the ResourceType schema on every resource type, listed or read alone (RFC 7643 sections 3 and 6)', async () => {
    const RESOURCE_TYPE = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
    const res = await scim.get('/ResourceTypes').expect(200);
    for (const resource of res.body.Resources) expect(resource.schemas).toEqual([RESOURCE_TYPE]);
    for (const id of ['User', 'Group']) expect((await scim.get(`/ResourceTypes/${id}`).expect(200)).body.schemas).toEqual([RESOURCE_TYPE]);
    const schemas = await scim.get('/Schemas').expect(200);
    for (const schema of schemas.body.Resources) expect(schema.schemas).toEqual(['urn:ietf:params:scim:schemas:core:2.0:Schema']);
  });
});

describe('errors everywhere are SCIM errors', () => {
  it('answers an unknown route with a SCIM 404, inside and outside /scim/v2', async () => {
    expectScimError(await scim.get('/Widgets'), 404);
    expectScimError(await request(t.app).get('/nowhere'), 404);
  });

  it('answers an oversized body with 413 and stores nothing', async () => {
    const res = await scim.post('/Users', userBody('big@example.com', { displayName: 'x'.repeat(5000) }));
    expectScimError(res, 413);
    expect((await scim.get('/Users?filter=' + encodeURIComponent('userName eq "big@example.com"'))).body.totalResults).toBe(0);
  });

  it('answers /Me with 501 and a filter on discovery endpoints with 403', async () => {
    expectScimError(await scim.get('/Me'), 501);
    expectScimError(await scim.get('/Schemas?filter=' + encodeURIComponent('id eq "x"')), 403);
  });

  it('accepts application/json bodies as well as application/scim+json', async () => {
    const res = await request(t.app)
      .post('/scim/v2/Users')
      .set('Authorization', `Bearer ${t.token}`)
      .set('Content-Type', 'application/json')
      .send(JSON.stringify(userBody('plain.json@example.com')));
    expect(res.status).toBe(201);
  });
});

describe('health', () => {
  it('answers /healthz with 200 while the database answers', async () => {
    const res = await request(t.app).get('/healthz').expect(200);
    expect(res.body).toEqual({ status: 'ok' });
  });
});
