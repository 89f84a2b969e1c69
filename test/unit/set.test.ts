import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from 'jose';
import type { NewSigningKey, SigningKey, SigningKeyStore } from '../../src/domain/signing';
import { SigningKeys } from '../../src/events/keys';
import { buildSet, SET_TYPE, type OutboxEvent } from '../../src/events/set';
import { EVENT_URIS } from '../../src/domain/events';

/** signing_keys in memory, with the store's rules: one active key, retired keys published until they expire. */
class MemoryStore implements SigningKeyStore {
  keys: SigningKey[] = [];
  async active() {
    return this.keys.find((k) => k.retiredAt === null) ?? null;
  }
  async list() {
    return [...this.keys].reverse();
  }
  async published(at: Date) {
    return (await this.list()).filter((k) => k.retiredAt === null || (k.expiresAt !== null && k.expiresAt > at));
  }
  async insertIfNoneActive(key: NewSigningKey) {
    if (await this.active()) return false;
    this.keys.push({ ...key, createdAt: new Date(), retiredAt: null, expiresAt: null });
    return true;
  }
  async replacePrivate(kid: string, privateJwk: Record<string, unknown>) {
    const key = this.keys.find((k) => k.kid === kid);
    if (key) key.privateJwk = privateJwk;
    return key !== undefined;
  }
  async rotate(key: NewSigningKey, days: number) {
    const old = await this.active();
    if (old) Object.assign(old, { retiredAt: new Date(), expiresAt: new Date(Date.now() + days * 86_400_000) });
    this.keys.push({ ...key, createdAt: new Date(), retiredAt: null, expiresAt: null });
    return old;
  }
}

const ISSUER = 'https://roster.example.com/scim/v2';
const AUDIENCE = 'https://receiver.example.com/events';

const event: OutboxEvent = {
  id: '7d9f0c6e-9a55-4c1f-9a6e-2c1f0e0a7b11',
  organizationId: 'a1c5e2f0-0000-4000-8000-000000000001',
  resourceType: 'User',
  resourceId: '2819c223-7f76-453a-919d-413861904646',
  eventUris: [EVENT_URIS.patchNotice, EVENT_URIS.deactivate],
  attributes: ['active', 'name.familyName'],
  createdAt: new Date('2026-12-01T06:00:00Z'),
};

async function setup() {
  const store = new MemoryStore();
  const keys = new SigningKeys(store);
  return { store, keys, active: await keys.ensureActive() };
}

describe('Security Event Tokens (RFC 8417, RFC 9967)', () => {
  it('are signed with the active key (ES256, its kid, typ secevent+jwt) and verify against the JWKS', async () => {
    const { keys, active } = await setup();
    const set = await buildSet(event, { issuer: ISSUER, audience: AUDIENCE, key: active });
    expect(decodeProtectedHeader(set)).toEqual({ alg: 'ES256', kid: active.kid, typ: SET_TYPE });
    const { payload, protectedHeader } = await jwtVerify(set, createLocalJWKSet(await keys.jwks()), {
      issuer: ISSUER,
      audience: AUDIENCE,
      typ: SET_TYPE,
      algorithms: ['ES256'],
    });
    expect(protectedHeader.typ).toBe('secevent+jwt');
    expect(payload).toEqual({
      iss: ISSUER,
      aud: AUDIENCE,
      iat: expect.any(Number),
      jti: expect.stringMatching(/^[0-9a-f-]{36}$/),
      txn: event.id,
      toe: Math.floor(event.createdAt.getTime() / 1000),
      sub_id: { format: 'scim', uri: `/Users/${event.resourceId}`, id: event.resourceId },
      events: {
        'urn:ietf:params:scim:event:prov:patch:notice': { attributes: ['active', 'name.familyName'] },
        'urn:ietf:params:scim:event:prov:deactivate': {},
      },
    });
    expect(payload.sub).toBeUndefined();
  });

  it('give every SET its own jti, keep the txn given, and name groups by /Groups', async () => {
    const { active } = await setup();
    const group: OutboxEvent = { ...event, resourceType: 'Group', eventUris: [EVENT_URIS.delete], attributes: [], txn: 'txn-1' };
    const decode = (set: string) => JSON.parse(Buffer.from(set.split('.')[1], 'base64url').toString());
    const [a, b] = await Promise.all([0, 1].map(() => buildSet(group, { issuer: ISSUER, audience: [AUDIENCE], key: active })));
    expect(decode(a).jti).not.toBe(decode(b).jti);
    expect(decode(a)).toMatchObject({ txn: 'txn-1', aud: [AUDIENCE], sub_id: { uri: `/Groups/${event.resourceId}` } });
    expect(decode(a).events).toEqual({ 'urn:ietf:params:scim:event:prov:delete': {} });
  });

  it('carry the jti given (poll delivery: stable per event), the same on every build', async () => {
    const { active } = await setup();
    const decode = (set: string) => JSON.parse(Buffer.from(set.split('.')[1], 'base64url').toString());
    const [a, b] = await Promise.all([0, 1].map(() => buildSet(event, { issuer: ISSUER, audience: AUDIENCE, key: active, jti: 'org.42' })));
    expect([decode(a).jti, decode(b).jti]).toEqual(['org.42', 'org.42']);
  });

  it('carry the resource as data in the full form (`…:full`, no attributes), the notice form without one', async () => {
    const { active } = await setup();
    const decode = (set: string) => JSON.parse(Buffer.from(set.split('.')[1], 'base64url').toString());
    const resource = { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], id: event.resourceId, userName: 'bjensen', active: false };
    const full = decode(await buildSet({ ...event, resource: JSON.stringify(resource) }, { issuer: ISSUER, audience: AUDIENCE, key: active, full: true }));
    expect(full.events).toEqual({ 'urn:ietf:params:scim:event:prov:patch:full': { data: resource }, [EVENT_URIS.deactivate]: {} });
    // A notice receiver never gets the resource, even when the event carries it; a deleted user's event has none.
    const notice = decode(await buildSet({ ...event, resource: JSON.stringify(resource) }, { issuer: ISSUER, audience: AUDIENCE, key: active }));
    expect(notice.events).toEqual({ [EVENT_URIS.patchNotice]: { attributes: ['active', 'name.familyName'] }, [EVENT_URIS.deactivate]: {} });
    const gone = decode(await buildSet(event, { issuer: ISSUER, audience: AUDIENCE, key: active, full: true }));
    expect(gone.events).toEqual(notice.events);
  });

  it('refuse an event URI Roster does not issue, and an event with none', async () => {
    const { active } = await setup();
    const options = { issuer: ISSUER, audience: AUDIENCE, key: active };
    await expect(buildSet({ ...event, eventUris: ['urn:ietf:params:scim:event:prov:create:full'] }, options)).rejects.toThrow(/unsupported/);
    await expect(buildSet({ ...event, eventUris: [] }, options)).rejects.toThrow(/names no event/);
  });

  it('still verify when signed by a retired key until it expires; an expired key leaves the JWKS', async () => {
    const { store, keys, active: first } = await setup();
    await keys.rotate(7);
    const old = await buildSet(event, { issuer: ISSUER, audience: AUDIENCE, key: (await store.list()).find((k) => k.kid === first.kid)! });
    const jwks = await keys.jwks();
    expect(jwks.keys.map((k) => k.kid)).toEqual([(await keys.active())!.kid, first.kid]);
    await expect(jwtVerify(old, createLocalJWKSet(jwks), { typ: SET_TYPE })).resolves.toBeDefined();

    const later = await keys.jwks(new Date(Date.now() + 8 * 86_400_000));
    expect(later.keys.map((k) => k.kid)).toEqual([(await keys.active())!.kid]);
    await expect(jwtVerify(old, createLocalJWKSet(later), { typ: SET_TYPE })).rejects.toThrow(/no applicable key/i);
  });

  it('publish public members only: never `d`', async () => {
    const { keys, active } = await setup();
    expect(active.privateJwk.d).toEqual(expect.any(String));
    const jwks = await keys.jwks();
    expect(jwks.keys).toEqual([{ kty: 'EC', crv: 'P-256', x: expect.any(String), y: expect.any(String), kid: active.kid, alg: 'ES256', use: 'sig' }]);
    expect(JSON.stringify(jwks)).not.toContain('"d"');
  });
});
