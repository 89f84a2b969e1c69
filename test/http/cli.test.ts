import request from 'supertest';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { assemble } from '../../src/roster';
import { spawn } from 'node:child_process';
import path from 'node:path';
import { childEnv, cli, processDatabase, type ProcessDatabase } from '../support/processes';

let db: ProcessDatabase;
beforeAll(async () => {
  db = await processDatabase();
});
afterAll(() => db.cleanup());

/** Runs requests against the database the CLI wrote to, then lets go of it. */
async function withServer<T>(work: (app: ReturnType<typeof createApp>) => Promise<T>): Promise<T> {
  const roster = assemble(loadConfig({}), await db.open());
  try {
    return await work(createApp(roster, pino({ level: 'silent' })));
  } finally {
    await roster.close();
  }
}

describe('roster CLI', () => {
  let token: string;
  let tokenId: string;

  it('creates an organization and prints only its id', async () => {
    const created = await cli(['org', 'create', 'acme', '--name', 'Acme Corp'], db.env);
    expect(created.code).toBe(0);
    expect(created.stdout.trim()).toMatch(/^[0-9a-f-]{36}$/);
    const listed = await cli(['org', 'list', '--json'], db.env);
    expect(listed.code).toBe(0);
    expect(JSON.parse(listed.stdout)).toEqual([expect.objectContaining({ slug: 'acme', name: 'Acme Corp', id: created.stdout.trim() })]);
  }, 60_000);

  it('creates a token and prints only the token, which then works over SCIM', async () => {
    const created = await cli(['token', 'create', '--org', 'acme', '--name', 'okta'], db.env);
    expect(created.code).toBe(0);
    token = created.stdout.trim();
    expect(created.stdout).toMatch(/^roster_[A-Za-z0-9_-]{43}\n$/);
    await withServer(async (app) => {
      await request(app).get('/scim/v2/Users').set('Authorization', `Bearer ${token}`).expect(200);
    });
  }, 60_000);

  it('lists tokens with their roles and dates but never the secret', async () => {
    const listed = await cli(['token', 'list', '--org', 'acme', '--json'], db.env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toContain(token.slice(7));
    const [row] = JSON.parse(listed.stdout);
    expect(row).toEqual({
      id: expect.any(String),
      name: 'okta',
      systemRole: 'Api User',
      organizationRole: 'Organization Administrator',
      createdAt: expect.any(String),
      lastUsedAt: expect.any(String),
      expiresAt: null,
      revokedAt: null,
    });
    tokenId = row.id;
  }, 60_000);

  it('revokes a token: it stops working', async () => {
    const revoked = await cli(['token', 'revoke', tokenId], db.env);
    expect(revoked.code).toBe(0);
    expect(revoked.stdout.trim()).toBe(tokenId);
    await withServer(async (app) => {
      await request(app).get('/scim/v2/Users').set('Authorization', `Bearer ${token}`).expect(401);
    });
  }, 60_000);

  it('creates tokens with other roles and an expiry, and refuses unknown roles', async () => {
    const created = await cli(
      ['token', 'create', '--org', 'acme', '--system-role', 'Api User', '--org-role', 'Read Only User', '--expires-in-days', '30'],
      db.env,
    );
    expect(created.code).toBe(0);
    const rows = JSON.parse((await cli(['token', 'list', '--org', 'acme', '--json'], db.env)).stdout);
    expect(rows.find((r: { organizationRole: string }) => r.organizationRole === 'Read Only User').expiresAt).not.toBeNull();
    const refused = await cli(['token', 'create', '--org', 'acme', '--system-role', 'Emperor'], db.env);
    expect(refused.code).toBe(1);
    expect(refused.stdout).toBe('');
    expect(refused.stderr).toMatch(/Emperor/);
  }, 60_000);

  it('prints usage on stderr and exits 2 for unknown commands and bad arguments', async () => {
    for (const args of [['frobnicate'], ['token', 'create'], ['org', 'create'], ['org', 'list', '--bogus'], []]) {
      const result = await cli(args, db.env);
      expect(result.code).toBe(2);
      expect(result.stdout).toBe('');
      expect(result.stderr).toMatch(/^roster: [\s\S]*\n\nusage: roster <command>/);
    }
  }, 60_000);

  it('says which organization is missing, exit 1', async () => {
    const result = await cli(['token', 'create', '--org', 'nosuch'], db.env);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/nosuch/);
  }, 60_000);

  it('reads and changes instance settings', async () => {
    const before = JSON.parse((await cli(['settings', 'get', '--json'], db.env)).stdout);
    expect(before).toMatchObject({ deploymentType: 'cloud', twoFactorAuthenticationRequired: false, passwordPolicy: { minLength: 8 } });
    const set = await cli(['settings', 'set', 'deploymentType', 'onprem'], db.env);
    expect(set.code).toBe(0);
    expect(set.stdout.trim()).toBe('onprem');
    expect((await cli(['settings', 'set', 'passwordPolicy.minLength', '14'], db.env)).code).toBe(0);
    const after = JSON.parse((await cli(['settings', 'get', '--json'], db.env)).stdout);
    expect(after).toMatchObject({ deploymentType: 'onprem', passwordPolicy: { minLength: 14 } });
    // Checked on the settings as they would be after the change (read again in its transaction): refused, nothing stored.
    const inverted = await cli(['settings', 'set', 'passwordPolicy.maxLength', '10'], db.env);
    expect(inverted.code).toBe(1);
    expect(inverted.stderr).toMatch(/passwordPolicy.minLength must not exceed passwordPolicy.maxLength/);
    expect(JSON.parse((await cli(['settings', 'get', '--json'], db.env)).stdout)).toMatchObject({ passwordPolicy: { minLength: 14, maxLength: 128 } });
    const bad = await cli(['settings', 'set', 'deploymentType', 'moon'], db.env);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toMatch(/deploymentType must be cloud, dedicated or onprem/);
    expect((await cli(['settings', 'set', 'nosuch', '1'], db.env)).stderr).toMatch(/unknown setting "nosuch"/);
  }, 60_000);

  it('sets license limits and shows them with the counts', async () => {
    const set = await cli(['org', 'limits', 'acme', '--standard', '5', '--api', '2', '--read-only', 'free', '--api-users', 'on'], db.env);
    expect(set.code).toBe(0);
    const shown = JSON.parse((await cli(['org', 'show', 'acme', '--json'], db.env)).stdout);
    expect(shown.license).toEqual({
      standardUserLimit: 5,
      apiUserLimit: 2,
      taxiiUserLimit: null,
      readOnlyUserLimit: null,
      apiUsersAllowed: true,
      readOnlyUsersFree: true,
    });
    expect(shown.counts).toEqual({ standard: 0, api: 0, taxii: 0, readOnly: 0 });
    const bad = await cli(['org', 'limits', 'acme', '--standard', 'lots'], db.env);
    expect(bad.code).toBe(2);
    expect((await cli(['org', 'show', 'acme'], db.env)).stdout).toMatch(/standard\s+5\s+0/);
  }, 60_000);

  it('exports users with roles and flags, never password hashes, and lists the audit trail', async () => {
    const created = await cli(['token', 'create', '--org', 'acme'], db.env);
    const secret = created.stdout.trim();
    await withServer(async (app) => {
      await request(app)
        .post('/scim/v2/Users')
        .set('Authorization', `Bearer ${secret}`)
        .set('Content-Type', 'application/scim+json')
        .send({
          schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
          userName: 'exported@example.com',
          password: 'Exported-Password-1',
          emails: [{ value: 'exported@example.com', primary: true }],
        })
        .expect(201);
    });
    const csv = await cli(['users', 'export', '--org', 'acme'], db.env);
    expect(csv.code).toBe(0);
    const [header, row] = csv.stdout.trim().split('\n');
    expect(header.split(',')).toEqual(expect.arrayContaining(['userName', 'systemRole', 'organizationRole', 'locked', 'mfaEnabled']));
    expect(row).toContain('exported@example.com');
    expect(csv.stdout).not.toMatch(/argon2/);
    const json = JSON.parse((await cli(['users', 'export', '--org', 'acme', '--format', 'json'], db.env)).stdout);
    expect(json).toEqual([expect.objectContaining({ userName: 'exported@example.com', systemRole: 'User', passwordResetRequired: true })]);
    expect(JSON.stringify(json)).not.toMatch(/argon2|passwordHash/);

    const audit = JSON.parse((await cli(['audit', '--org', 'acme', '--json'], db.env)).stdout);
    const actions = audit.map((e: { action: string }) => e.action);
    expect(actions).toEqual(expect.arrayContaining(['credential.issued', 'credential.revoked', 'organization.license_changed', 'user.created']));
    const since = JSON.parse((await cli(['audit', '--org', 'acme', '--since', '2999-01-01T00:00:00Z', '--json'], db.env)).stdout);
    expect(since).toEqual([]);
    expect((await cli(['audit', '--org', 'acme', '--since', 'yesterday'], db.env)).code).toBe(2);
  }, 60_000);

  it('migrates an up-to-date database without complaint', async () => {
    const result = await cli(['migrate'], db.env);
    expect(result.code).toBe(0);
    expect(result.stderr).toMatch(/up to date/);
  }, 60_000);
});

describe('roster CLI writing into a closed pipe', () => {
  it('ends quietly when stdout is closed early (`users export | head -n 1`)', async () => {
    const database = await db.open();
    try {
      await database.orm.em.getConnection().execute(
        `insert into users (organization_id, user_name, system_role, organization_role)
         select o.id, 'piped-' || g || '@example.com', 'User', 'Read Only User'
           from organizations o, generate_series(1, 3000) g where o.slug = 'acme'`,
      );
    } finally {
      await database.close();
    }
    // Far more than a pipe holds, so the CLI writes after head has gone.
    const result = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      const child = spawn('bash', ['-c', `set -o pipefail; "${process.execPath}" --import tsx src/cli.ts users export --org acme | head -n 1`], {
        cwd: path.resolve(__dirname, '../..'),
        env: childEnv(db.env),
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (d) => (stdout += d));
      child.stderr.on('data', (d) => (stderr += d));
      child.on('error', reject);
      child.on('close', (code) => resolve({ code, stdout, stderr }));
    });
    expect(result.stdout).toMatch(/^id,userName,/);
    expect(result.stdout.trim().split('\n')).toHaveLength(1);
    expect(result.stderr).not.toMatch(/EPIPE|Error|at /);
    expect(result.code).toBe(0);
  }, 120_000);
});
