import { createHash } from 'node:crypto';
import fc from 'fast-check';
import request from 'supertest';
import { CredentialService } from '../../src/domain/credential.service';
import { OrmUnitOfWork } from '../../src/orm/unit-of-work';
import { startTestRoster, type TestRoster } from '../support/roster';
import { USER, expectScimError, scimClient, userBody } from '../support/scim';

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

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

describe('tokens travel in the Authorization header only', () => {
  afterEach(() => jest.restoreAllMocks());

  const count = async (userName: string) =>
    (
      await scimClient(t.app, t.token)
        .get(`/Users?filter=${encodeURIComponent(`userName eq "${userName}"`)}`)
        .expect(200)
    ).body.totalResults;

  it('refuses a token in the query string when the header does not parse (a tab, two words), on a GET and on a POST', async () => {
    const lookups = jest.spyOn(t.roster.credentials, 'authenticate');
    const query = `access_token=${encodeURIComponent(t.token)}`;
    for (const header of ['Bearer\tjunk x', 'Bearer junk x', 'Bearer', 'Basic junk']) {
      expectUnauthorized(await request(t.app).get(`/scim/v2/Users?count=0&${query}`).set('Authorization', header));
      expectUnauthorized(
        await request(t.app)
          .post(`/scim/v2/Users?${query}`)
          .set('Authorization', header)
          .set('Content-Type', 'application/scim+json')
          .send(userBody('query.token@example.com')),
      );
      expectUnauthorized(
        await request(t.app)
          .post(`/scim/v2/Bulk?${query}`)
          .set('Authorization', header)
          .set('Content-Type', 'application/scim+json')
          .send({ schemas: [BULK], Operations: [{ method: 'POST', path: '/Users', bulkId: 'q', data: userBody('query.bulk@example.com') }] }),
      );
    }
    expect(lookups).not.toHaveBeenCalled();
    expect(await count('query.token@example.com')).toBe(0);
    expect(await count('query.bulk@example.com')).toBe(0);
  });

  it('refuses a token in the body of a POST and of a Bulk request', async () => {
    const lookups = jest.spyOn(t.roster.credentials, 'authenticate');
    for (const header of [undefined, 'Bearer\tjunk x']) {
      const post = request(t.app).post('/scim/v2/Users').set('Content-Type', 'application/scim+json');
      if (header) post.set('Authorization', header);
      expectUnauthorized(await post.send({ ...userBody('body.token@example.com'), access_token: t.token }));
      const bulk = request(t.app).post('/scim/v2/Bulk').set('Content-Type', 'application/scim+json');
      if (header) bulk.set('Authorization', header);
      expectUnauthorized(
        await bulk.send({
          schemas: [BULK],
          access_token: t.token,
          Operations: [{ method: 'POST', path: '/Users', bulkId: 'b', data: userBody('body.bulk@example.com') }],
        }),
      );
    }
    expect(lookups).not.toHaveBeenCalled();
    expect(await count('body.token@example.com')).toBe(0);
    expect(await count('body.bulk@example.com')).toBe(0);
  });

  it('refuses a request with access_token in its query string even when its header is valid', async () => {
    expectUnauthorized(await scimClient(t.app, t.token).get(`/Users?access_token=${encodeURIComponent(t.token)}`));
    expectUnauthorized(await scimClient(t.app, t.token).get('/Users?count=1&access_token='));
  });

  it('parses the header strictly: Bearer, one space, one run of printable ASCII', async () => {
    await request(t.app).get('/scim/v2/Users?count=1').set('Authorization', `bearer ${t.token}`).expect(200);
    for (const header of [`Bearer  ${t.token}`, `Bearer\t${t.token}`, `Bearer ${t.token} x`, `Bearer ${t.token}\tx`, `Bearer${t.token}`, `Token ${t.token}`]) {
      expectUnauthorized(await request(t.app).get('/scim/v2/Users?count=1').set('Authorization', header));
    }
  });

  it('answers 401, never 200 or 201, to any malformed header with the token in the query string or the body (generated)', async () => {
    const lookups = jest.spyOn(t.roster.credentials, 'authenticate');
    const printable = fc.stringMatching(/^[\x21-\x7e]{1,24}$/);
    const word = fc.oneof(fc.constantFrom(t.token, 'junk', 'roster_' + 'A'.repeat(43)), printable);
    const scheme = fc.constantFrom('Bearer', 'bearer', 'BEARER', 'Basic', 'Token', 'Bearer:', '');
    const header = fc
      .oneof(
        fc.constant(undefined),
        // a separator other than one space: a tab, two spaces, none
        fc.tuple(scheme, fc.constantFrom('\t', '  ', ' \t', '\t ', ''), word).map(([s, sep, w]) => s + sep + w),
        // two words (or more) after the scheme
        fc.tuple(scheme, word, fc.constantFrom(' ', '\t'), word).map(([s, a, sep, b]) => `${s} ${a}${sep}${b}`),
        // anything printable, with spaces and tabs
        fc.string({ unit: fc.constantFrom(...'Bearer x\t_-.~+/='.split('')), maxLength: 30 }),
      )
      // Node trims spaces and tabs around a header value; what is left must not be well formed.
      .filter((h) => h === undefined || !/^bearer [\x21-\x7e]+$/i.test(h.replace(/^[ \t]+|[ \t]+$/g, '')));
    const placement = fc.constantFrom('query GET', 'query POST', 'query Bulk', 'body POST', 'body Bulk', 'query and body POST');
    await fc.assert(
      fc.asyncProperty(header, placement, async (value, where) => {
        const inQuery = where.startsWith('query') ? `?access_token=${encodeURIComponent(t.token)}` : '';
        const inBody = where.includes('body') ? { access_token: t.token } : {};
        const bulk = where.endsWith('Bulk');
        const test =
          where === 'query GET'
            ? request(t.app).get(`/scim/v2/Users${inQuery}`)
            : request(t.app)
                .post(`/scim/v2/${bulk ? 'Bulk' : 'Users'}${inQuery}`)
                .set('Content-Type', 'application/scim+json')
                .send(
                  bulk
                    ? {
                        schemas: [BULK],
                        Operations: [{ method: 'POST', path: '/Users', bulkId: 'p', data: { schemas: [USER], userName: 'prop@example.com' } }],
                        ...inBody,
                      }
                    : { schemas: [USER], userName: 'prop@example.com', ...inBody },
                );
        if (value !== undefined) test.set('Authorization', value);
        const res = await test;
        expect(res.status).toBe(401);
        expect(res.headers['www-authenticate']).toMatch(/^Bearer/);
      }),
      { numRuns: 80 },
    );
    expect(lookups).not.toHaveBeenCalled();
    expect(await count('prop@example.com')).toBe(0);
  });
});
