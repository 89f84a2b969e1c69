import argon2 from 'argon2';
import { Client } from 'pg';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import type { Actor } from '../../src/domain/actor';
import { PasswordHashes } from '../../src/domain/password-hashing';
import { StaleDraft } from '../../src/domain/service-deps';
import type { PasswordHasher } from '../../src/domain/ports';
import { argon2idHasher, assemble, type Roster } from '../../src/roster';
import { openTestDatabase } from '../support/database';
import { ROSTER, expectScimError, patchOp, scimClient, userBody, type ScimClient } from '../support/scim';

const BULK = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

/**
 * argon2id, with a hook the test sets that runs when a hash starts (before argon2):
 * it may look at the database, make other requests or hold the hash back.
 */
class ObservedHasher implements PasswordHasher {
  hashed: string[] = [];
  onHash: ((password: string) => Promise<void>) | undefined;

  async hash(password: string, owner?: string): Promise<string> {
    this.hashed.push(password);
    await this.onHash?.(password);
    return argon2idHasher.hash(password, owner);
  }
}

let database: Awaited<ReturnType<typeof openTestDatabase>>;
let roster: Roster;
let hasher: ObservedHasher;
let scim: ScimClient;
let actor: Actor;

beforeAll(async () => {
  database = await openTestDatabase();
  hasher = new ObservedHasher();
  // One hash at a time and one waiting: what the queue test needs; the limits are otherwise the defaults.
  roster = assemble({ ...loadConfig({}), passwordHashConcurrency: 1, passwordHashQueue: 1 }, database, undefined, undefined, hasher);
  const org = await roster.organizations.create('hashing');
  const { secret, credential } = await roster.credentials.issue({ organizationId: org.id });
  actor = { credentialId: credential.id, organizationId: org.id, systemRole: 'Api User', organizationRole: 'Organization Administrator' };
  scim = scimClient(createApp(roster, pino({ level: 'silent' })), secret);
  // The token's first use records lastUsedAt in the background, on a connection of the
  // pool: let that write finish, so the connections counted below are the requests' own.
  await scim.get('/Users?count=0').expect(200);
  await roster.credentials.settle();
});
afterEach(() => {
  hasher.onHash = undefined;
  hasher.hashed = [];
});
afterAll(() => roster.close());

const newUser = async (userName: string) => (await scim.post('/Users', userBody(userName)).expect(201)).body.id as string;
const stored = (id: string) => roster.users.get(actor, id);

/**
 * What holds while a hash runs: Roster's pool lends no connection, and the user's row
 * can be locked by someone else at once (NOWAIT fails if any transaction holds it).
 */
async function nothingHeld(userId: string | undefined): Promise<{ connectionsInUse: number; rowLockFree: boolean }> {
  const connectionsInUse = roster.database.poolStats().used;
  if (!userId) return { connectionsInUse, rowLockFree: true };
  const client = new Client({ connectionString: database.url });
  await client.connect();
  try {
    await client.query('begin');
    await client.query('select id from users where id = $1 for update nowait', [userId]);
    return { connectionsInUse, rowLockFree: true };
  } catch {
    return { connectionsInUse, rowLockFree: false };
  } finally {
    await client.query('rollback').catch(() => undefined);
    await client.end();
  }
}

describe('password hashing holds no connection and no lock', () => {
  it.each([
    ['POST /Users', 'create'],
    ['PUT /Users/{id}', 'put'],
    ['PATCH /Users/{id}', 'patch'],
    ['a Bulk PATCH', 'bulk'],
  ])('%s hashes with no database connection lent and the row unlocked, and stores the hash', async (_name, kind) => {
    const userName = `held.${kind}@example.com`;
    const password = `Held-${kind}-Password-1`;
    const id = kind === 'create' ? undefined : await newUser(userName);
    const seen: { connectionsInUse: number; rowLockFree: boolean }[] = [];
    hasher.onHash = async () => {
      seen.push(await nothingHeld(id));
    };
    let userId = id;
    if (kind === 'create') userId = (await scim.post('/Users', userBody(userName, { password })).expect(201)).body.id;
    if (kind === 'put') await scim.put(`/Users/${id}`, userBody(userName, { password })).expect(200);
    if (kind === 'patch') await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'password', value: password })).expect(204);
    if (kind === 'bulk') {
      const res = await scim
        .post('/Bulk', {
          schemas: [BULK],
          Operations: [{ method: 'PATCH', path: `/Users/${id}`, data: patchOp({ op: 'replace', path: 'password', value: password }) }],
        })
        .expect(200);
      expect(res.body.Operations[0].status).toBe('200');
    }
    expect(seen).toEqual([{ connectionsInUse: 0, rowLockFree: true }]);
    const user = await stored(userId as string);
    expect(await argon2.verify(user.passwordHash as string, password)).toBe(true);
    expect(user.passwordResetRequired).toBe(true);
  });

  it('lets another change of the same user through while its new password is hashed, and keeps both', async () => {
    const id = await newUser('concurrent.change@example.com');
    hasher.onHash = async () => {
      await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'title', value: 'Changed meanwhile' })).expect(204);
    };
    await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'password', value: 'Meanwhile-Password-1' })).expect(204);
    const user = (await scim.get(`/Users/${id}`).expect(200)).body;
    expect(user.title).toBe('Changed meanwhile');
    expect(user.meta.version).toBe('W/"3"');
    expect(await argon2.verify((await stored(id)).passwordHash as string, 'Meanwhile-Password-1')).toBe(true);
  });

  it('works a PATCH out again on the fresh user when another change commits while its password is hashed: hashed once, both changes kept', async () => {
    const id = await newUser('raced.patch@example.com');
    hasher.onHash = async () => {
      // Commits while the hash runs: the password PATCH's draft, worked out from version 1, is stale.
      await scim.patch(`/Users/${id}`, patchOp({ op: 'add', path: 'emails', value: [{ value: 'meanwhile@example.com', type: 'home' }] })).expect(204);
    };
    const password = patchOp(
      { op: 'replace', path: 'password', value: 'Raced-Password-1' },
      { op: 'add', path: 'emails', value: [{ value: 'mine@example.com', type: 'work' }] },
    );
    await scim.patch(`/Users/${id}`, password).expect(204);
    expect(hasher.hashed).toEqual(['Raced-Password-1']);
    const user = (await scim.get(`/Users/${id}`).expect(200)).body;
    expect(user.emails.map((e: { value: string }) => e.value).sort()).toEqual(['meanwhile@example.com', 'mine@example.com', 'raced.patch@example.com']);
    expect(user.meta.version).toBe('W/"3"');
    expect(await argon2.verify((await stored(id)).passwordHash as string, 'Raced-Password-1')).toBe(true);
  });

  it('refuses a stale draft (StaleDraft) and, tried again with the same PasswordHashes, stores it without hashing again', async () => {
    const userName = 'raced.domain@example.com';
    const id = await newUser(userName);
    const hashes = new PasswordHashes();
    // Stale before its hash: refused at once, nothing hashed.
    await expect(roster.users.update(actor, id, { userName, password: 'Domain-Password-1' }, { basedOn: 0, hashes })).rejects.toBeInstanceOf(StaleDraft);
    expect(hasher.hashed).toEqual([]);
    // Stale once hashed (another change committed meanwhile): refused in the transaction, the hash kept.
    hasher.onHash = async () => {
      await roster.users.update(actor, id, { userName, title: 'Changed meanwhile' });
    };
    await expect(roster.users.update(actor, id, { userName, password: 'Domain-Password-1' }, { basedOn: 1, hashes })).rejects.toBeInstanceOf(StaleDraft);
    expect(hasher.hashed).toEqual(['Domain-Password-1']);
    expect(JSON.stringify(hashes)).toBe('{}');
    expect((await stored(id)).passwordHash).toBeNull();
    // Worked out again from version 2 with the same hashes: stored, not hashed twice.
    const updated = await roster.users.update(actor, id, { userName, title: 'Changed meanwhile', password: 'Domain-Password-1' }, { basedOn: 2, hashes });
    expect(hasher.hashed).toEqual(['Domain-Password-1']);
    expect(updated.version).toBe(3);
    expect(updated.title).toBe('Changed meanwhile');
    expect(await argon2.verify(updated.passwordHash as string, 'Domain-Password-1')).toBe(true);
  });

  it('refuses a change before hashing its password: a stale If-Match, a role it may not grant, a password the policy refuses', async () => {
    const id = await newUser('refused.first@example.com');
    expectScimError(await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'password', value: 'Stale-Password-1' })).set('If-Match', 'W/"7"'), 412);
    const upward = patchOp(
      { op: 'replace', path: 'password', value: 'Upward-Password-1' },
      { op: 'replace', path: `${ROSTER}:systemRole`, value: 'Administrator' },
    );
    expectScimError(await scim.patch(`/Users/${id}`, upward), 403);
    expectScimError(await scim.patch(`/Users/${id}`, patchOp({ op: 'replace', path: 'password', value: 'short' })), 400, 'invalidValue');
    expect(hasher.hashed).toEqual([]);
    expect((await stored(id)).version).toBe(1);
  });
});

describe('the hashing queue', () => {
  it('with one hash running and one waiting, refuses the next password change with 503 and Retry-After, storing nothing', async () => {
    const [running, other, refused] = await Promise.all(['queue.running@example.com', 'queue.other@example.com', 'queue.refused@example.com'].map(newUser));
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => {
      release = resolve;
    });
    let started: () => void = () => undefined;
    const first = new Promise<void>((resolve) => {
      started = resolve;
    });
    hasher.onHash = async (password) => {
      if (password === 'Running-Password-1') {
        started();
        await gate;
      }
    };

    const one = scim.patch(`/Users/${running}`, patchOp({ op: 'replace', path: 'password', value: 'Running-Password-1' })).then((r) => r);
    await first;
    const two = scim.post('/Users', userBody('queue.waiting@example.com', { password: 'Waiting-Password-1' })).then((r) => r);
    while (roster.passwordHashing.stats().waiting < 1) await new Promise((resolve) => setImmediate(resolve));

    const three = await scim.patch(`/Users/${refused}`, patchOp({ op: 'replace', path: 'password', value: 'Refused-Password-1' }));
    expectScimError(three, 503);
    expect(three.headers['retry-after']).toBe('1');
    const inBulk = await scim
      .post('/Bulk', {
        schemas: [BULK],
        Operations: [
          { method: 'PATCH', path: `/Users/${other}`, data: patchOp({ op: 'replace', path: 'title', value: 'No password, no wait' }) },
          { method: 'PATCH', path: `/Users/${refused}`, data: patchOp({ op: 'replace', path: 'password', value: 'Refused-Password-2' }) },
          { method: 'POST', path: '/Users', bulkId: 'late', data: userBody('queue.refused.create@example.com', { password: 'Refused-Password-3' }) },
        ],
      })
      .expect(200);
    expect(inBulk.body.Operations.map((o: { status: string }) => o.status)).toEqual(['200', '503', '503']);
    expect(inBulk.body.Operations[1].response).toMatchObject({ schemas: ['urn:ietf:params:scim:api:messages:2.0:Error'], status: '503' });

    release();
    expect((await one).status).toBe(204);
    expect((await two).status).toBe(201);
    const untouched = await stored(refused);
    expect(untouched.passwordHash).toBeNull();
    expect(untouched.version).toBe(1);
    expect((await scim.get(`/Users?filter=${encodeURIComponent('userName eq "queue.refused.create@example.com"')}`).expect(200)).body.totalResults).toBe(0);
    expect((await scim.get(`/Users/${other}`).expect(200)).body.title).toBe('No password, no wait');
    expect(hasher.hashed).not.toContain('Refused-Password-1');

    // Capacity comes back with the hashes that ended.
    await scim.patch(`/Users/${refused}`, patchOp({ op: 'replace', path: 'password', value: 'Refused-Password-1' })).expect(204);
  });
});

describe('Bulk with password changes', () => {
  it('creates, replaces and patches passwords end to end, each stored as its own argon2id hash', async () => {
    const patched = await newUser('bulk.pw.patched@example.com');
    const replaced = await newUser('bulk.pw.replaced@example.com');
    const res = await scim
      .post('/Bulk', {
        schemas: [BULK],
        Operations: [
          { method: 'POST', path: '/Users', bulkId: 'new', data: userBody('bulk.pw.created@example.com', { password: 'Created-Password-1' }) },
          { method: 'PATCH', path: '/Users/bulkId:new', data: patchOp({ op: 'replace', path: 'password', value: 'Created-Then-Patched-1' }) },
          { method: 'PATCH', path: `/Users/${patched}`, data: patchOp({ op: 'replace', value: { password: 'Patched-Password-1', title: 'Patched' } }) },
          { method: 'PUT', path: `/Users/${replaced}`, data: userBody('bulk.pw.replaced@example.com', { password: 'Replaced-Password-1' }) },
          { method: 'PATCH', path: `/Users/${patched}`, data: patchOp({ op: 'replace', path: 'password', value: 'short' }) },
        ],
      })
      .expect(200);
    expect(res.body.Operations.map((o: { status: string }) => o.status)).toEqual(['201', '200', '200', '200', '400']);
    const created = res.body.Operations[0].location.split('/').pop() as string;
    for (const [id, password] of [
      [created, 'Created-Then-Patched-1'],
      [patched, 'Patched-Password-1'],
      [replaced, 'Replaced-Password-1'],
    ]) {
      const user = await stored(id);
      expect(user.passwordHash).toMatch(/^\$argon2id\$/);
      expect(await argon2.verify(user.passwordHash as string, password)).toBe(true);
    }
    const patchedUser = (await scim.get(`/Users/${patched}`).expect(200)).body;
    expect(patchedUser.title).toBe('Patched');
    expect(patchedUser[ROSTER].passwordResetRequired).toBe(true);
    expect(JSON.stringify(res.body)).not.toMatch(/Password-1/);
  });
});
