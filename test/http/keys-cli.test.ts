import request from 'supertest';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { assemble } from '../../src/roster';
import { buildSet } from '../../src/events/set';
import { createLocalJWKSet, jwtVerify } from 'jose';
import { cli, processDatabase, type ProcessDatabase } from '../support/processes';

let db: ProcessDatabase;
beforeAll(async () => {
  db = await processDatabase();
});
afterAll(() => db.cleanup());

/** The kids the JWKS publishes, read from the database the CLI wrote to. */
async function publishedKids(): Promise<string[]> {
  const roster = assemble(loadConfig({}), await db.open());
  try {
    const res = await request(createApp(roster, pino({ level: 'silent' })))
      .get('/.well-known/jwks.json')
      .expect(200);
    expect(res.text).not.toContain('"d"');
    return JSON.parse(res.text).keys.map((k: { kid: string }) => k.kid);
  } finally {
    await roster.close();
  }
}

describe('roster key', () => {
  let first: string;

  it('lists the key made on first start', async () => {
    const listed = await cli(['key', 'list', '--json'], db.env);
    expect(listed.code).toBe(0);
    const rows = JSON.parse(listed.stdout);
    expect(rows).toEqual([{ kid: expect.any(String), algorithm: 'ES256', createdAt: expect.any(String), retiredAt: null, expiresAt: null }]);
    expect(listed.stdout).not.toContain('"d"');
    first = rows[0].kid;
  }, 60_000);

  it('rotates: prints only the new kid; the old key stays published for the days given', async () => {
    const rotated = await cli(['key', 'rotate', '--retire-after-days', '3'], db.env);
    expect(rotated.code).toBe(0);
    expect(rotated.stdout).toMatch(/^[A-Za-z0-9_-]{43}\n$/);
    const kid = rotated.stdout.trim();
    expect(rotated.stderr).toContain(`retired ${first}`);
    const listed = JSON.parse((await cli(['key', 'list', '--json'], db.env)).stdout);
    expect(listed[0]).toMatchObject({ kid, retiredAt: null, expiresAt: null });
    const old = listed.find((k: { kid: string }) => k.kid === first);
    expect(Date.parse(old.expiresAt) - Date.parse(old.retiredAt)).toBe(3 * 86_400_000);
    expect(await publishedKids()).toEqual([kid, first]);
  }, 60_000);

  it('prints a table by default, and refuses a bad number of days', async () => {
    const listed = await cli(['key', 'list'], db.env);
    expect(listed.code).toBe(0);
    expect(listed.stdout.split('\n')[0]).toMatch(/^kid\s+algorithm\s+createdAt\s+retiredAt\s+expiresAt$/);
    const refused = await cli(['key', 'rotate', '--retire-after-days', 'soon'], db.env);
    expect(refused.code).toBe(2);
    expect(refused.stderr).toContain('--retire-after-days takes a whole number');
  }, 60_000);
});

describe('ROSTER_SIGNING_KEY_SECRET', () => {
  const secret = 'a5f1c0de'.repeat(5);

  it('seals every private key at rest (the clear ones at start); signing needs the same secret', async () => {
    const rotated = await cli(['key', 'rotate'], { ...db.env, ROSTER_SIGNING_KEY_SECRET: secret });
    expect(rotated.code).toBe(0);
    const database = await db.open();
    const roster = assemble({ ...loadConfig({}), signingKeySecret: secret }, database);
    try {
      const stored = (await database.pool.query<{ p: string }>('select private_jwk::text as p from signing_keys')).rows.map((r) => r.p);
      expect(stored.length).toBeGreaterThanOrEqual(3);
      for (const text of stored) {
        expect(text).not.toContain('"d"');
        expect(JSON.parse(text)).toEqual({ sealed: expect.stringMatching(/^[\w-]+\.\.[\w-]+\.[\w-]+\.[\w-]+$/) });
      }
      const key = await roster.signingKeys.active();
      expect(key?.kid).toBe(rotated.stdout.trim());
      const event = {
        id: '1',
        organizationId: 'o',
        resourceType: 'User' as const,
        resourceId: 'u',
        eventUris: ['urn:ietf:params:scim:event:prov:delete'],
        attributes: [],
        createdAt: new Date(),
      };
      const set = await buildSet(event, { issuer: 'https://roster.example.com/scim/v2', audience: 'aud', key: key! });
      await expect(jwtVerify(set, createLocalJWKSet(await roster.signingKeys.jwks()))).resolves.toBeDefined();
    } finally {
      await roster.close();
    }
    // Starting without the secret, or with another, fails at once and says why (never echoing the secret).
    const without = await cli(['key', 'list'], db.env);
    expect(without.code).not.toBe(0);
    expect(without.stderr).toContain('ROSTER_SIGNING_KEY_SECRET is not set');
    for (const [value, message] of [
      [undefined, /ROSTER_SIGNING_KEY_SECRET is not set/],
      ['another secret of at least thirty-two chars', /cannot be decrypted/],
    ] as const) {
      const other = assemble({ ...loadConfig({}), signingKeySecret: value }, await db.open());
      try {
        await expect(other.signingKeys.active()).rejects.toThrow(message);
      } finally {
        await other.close();
      }
    }
    const wrong = await cli(['key', 'list'], { ...db.env, ROSTER_SIGNING_KEY_SECRET: 'another secret of at least thirty-two chars' });
    expect(wrong.code).not.toBe(0);
    expect(wrong.stderr).toContain('cannot be decrypted');
    expect(wrong.stderr).not.toContain('another secret');
  }, 60_000);
});
