import { createHash } from 'node:crypto';
import request from 'supertest';
import { CredentialService } from '../../src/domain/credential.service';
import { OrmUnitOfWork } from '../../src/orm/unit-of-work';
import { startTestRoster, type TestRoster } from '../support/roster';
import { expectScimError, scimClient, userBody } from '../support/scim';

let t: TestRoster;
beforeAll(async () => {
  t = await startTestRoster();
});
afterAll(() => t.close());

/** Every kind of failure must look the same from outside. */
function expectUnauthorized(res: request.Response) {
  expectScimError(res, 401);
  expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
  expect(res.body.detail).toBe('a valid bearer token is required');
}

describe('bearer authentication', () => {
  it('refuses a request without a token, with a SCIM 401 and WWW-Authenticate', async () => {
    expectUnauthorized(await request(t.app).get('/scim/v2/Users'));
  });

  it('gives the same 401 for an unknown token, a malformed header and another scheme', async () => {
    expectUnauthorized(await scimClient(t.app, 'roster_' + 'A'.repeat(43)).get('/Users'));
    expectUnauthorized(await request(t.app).get('/scim/v2/Users').set('Authorization', 'Bearer'));
    expectUnauthorized(await request(t.app).get('/scim/v2/Users').set('Authorization', `Basic ${t.token}`));
  });

  it('does not accept a token in the query string', async () => {
    expectUnauthorized(await request(t.app).get(`/scim/v2/Users?access_token=${t.token}`));
  });

  it('protects discovery and unknown SCIM routes too', async () => {
    expectUnauthorized(await request(t.app).get('/scim/v2/ServiceProviderConfig'));
    expectUnauthorized(await request(t.app).get('/scim/v2/Nothing'));
  });

  it('stops accepting a token on the next request after it is revoked', async () => {
    const { secret, credential } = await t.roster.credentials.issue({ organizationId: t.org.id, name: 'to-revoke' });
    const scim = scimClient(t.app, secret);
    await scim.get('/Users').expect(200);
    await t.roster.credentials.revoke(credential.id);
    expectUnauthorized(await scim.get('/Users'));
  });

  it('refuses an expired token', async () => {
    const past = new Date(Date.now() - 2 * 86_400_000);
    const yesterdaysService = new CredentialService(new OrmUnitOfWork(t.roster.database.orm), () => past);
    const { secret } = await yesterdaysService.issue({ organizationId: t.org.id, expiresInDays: 1 });
    expectUnauthorized(await scimClient(t.app, secret).get('/Users'));
  });

  it('records when a token was last used', async () => {
    const { secret, credential } = await t.roster.credentials.issue({ organizationId: t.org.id, name: 'used' });
    expect(credential.lastUsedAt).toBeNull();
    await scimClient(t.app, secret).get('/Users').expect(200);
    await new Promise((resolve) => setTimeout(resolve, 100));
    const listed = (await t.roster.credentials.list(t.org.id)).find((c) => c.id === credential.id);
    expect(listed?.lastUsedAt).toBeInstanceOf(Date);
  });

  it('stores only the SHA-256 of a token, never the token', async () => {
    const { secret, credential } = await t.roster.credentials.issue({ organizationId: t.org.id });
    expect(secret).toMatch(/^roster_[A-Za-z0-9_-]{43}$/);
    const rows = await t.roster.database.orm.em
      .getConnection()
      .execute<Record<string, unknown>[]>('select * from api_credentials where id = ?', [credential.id]);
    const stored = JSON.stringify(rows);
    expect(stored).not.toContain(secret);
    expect(stored).not.toContain(secret.slice(7));
    expect(rows[0].secret_hash).toBe(createHash('sha256').update(secret).digest('hex'));
  });
});

describe('what a read-only credential may do', () => {
  it('lets it read but refuses changes with 403 naming the rule, storing nothing', async () => {
    const admin = scimClient(t.app, t.token);
    const { secret } = await t.roster.credentials.issue({ organizationId: t.org.id, systemRole: 'Api User', organizationRole: 'Standard User' });
    const reader = scimClient(t.app, secret);
    await reader.get('/Users').expect(200);
    const res = await reader.post('/Users', userBody('not.allowed@example.com'));
    expectScimError(res, 403);
    expect(res.body.detail).toMatch(/Organization Administrator/);
    expect((await admin.get('/Users?filter=' + encodeURIComponent('userName eq "not.allowed@example.com"'))).body.totalResults).toBe(0);
  });
});
