import request from 'supertest';
import { startTestRoster, type TestRoster } from '../support/roster';

let t: TestRoster;
beforeAll(async () => {
  t = await startTestRoster();
});
afterAll(() => t.close());

describe('signing keys and GET /.well-known/jwks.json', () => {
  it('makes one active key, even when several instances ensure it at once', async () => {
    const made = await Promise.all([0, 1, 2].map(() => t.roster.signingKeys.ensureActive()));
    expect(new Set(made.map((k) => k.kid)).size).toBe(1);
    const all = await t.roster.signingKeys.list();
    expect(all).toHaveLength(1);
    expect(all[0]).toMatchObject({ algorithm: 'ES256', retiredAt: null, expiresAt: null });
  });

  it('serves the active public key without authentication, cacheable for 5 minutes, never `d`', async () => {
    const active = (await t.roster.signingKeys.active())!;
    const res = await request(t.app).get('/.well-known/jwks.json').expect(200);
    expect(res.headers['cache-control']).toBe('public, max-age=300');
    expect(res.headers['content-type']).toMatch(/^application\/jwk-set\+json/);
    const body = JSON.parse(res.text);
    expect(body).toEqual({ keys: [{ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: active.kid, alg: 'ES256', use: 'sig' }] });
    expect(res.text).not.toContain('"d"');
  });

  it('keeps a rotated key published until it expires, then drops it', async () => {
    const first = (await t.roster.signingKeys.active())!;
    const { active: second, retired } = await t.roster.signingKeys.rotate(7);
    expect(retired?.kid).toBe(first.kid);
    expect(retired!.expiresAt!.getTime() - retired!.retiredAt!.getTime()).toBe(7 * 86_400_000);
    let res = await request(t.app).get('/.well-known/jwks.json').expect(200);
    expect(JSON.parse(res.text).keys.map((k: { kid: string }) => k.kid)).toEqual([second.kid, first.kid]);

    // Retired with no grace: expired at once, so out of the JWKS (the first key stays until its own expiry).
    const { active: third } = await t.roster.signingKeys.rotate(0);
    res = await request(t.app).get('/.well-known/jwks.json').expect(200);
    expect(JSON.parse(res.text).keys.map((k: { kid: string }) => k.kid)).toEqual([third.kid, first.kid]);
    expect(res.text).not.toContain('"d"');
    const keys = await t.roster.signingKeys.list();
    expect(keys.filter((k) => k.retiredAt === null).map((k) => k.kid)).toEqual([third.kid]);
  });

  it('serialises concurrent rotations: one active key afterwards', async () => {
    await Promise.all([0, 1, 2].map(() => t.roster.signingKeys.rotate(1)));
    const keys = await t.roster.signingKeys.list();
    expect(keys.filter((k) => k.retiredAt === null)).toHaveLength(1);
    expect(keys).toHaveLength(6);
  });
});
