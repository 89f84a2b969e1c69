import request from 'supertest';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { assemble } from '../../src/roster';
import { cli, processDatabase, startServer, stopServer, type ProcessDatabase } from '../support/processes';

/** `roster admin create|list|disable`, run as an operator runs them, against a database a console then serves. */
let db: ProcessDatabase;
beforeAll(async () => {
  db = await processDatabase();
  expect((await cli(['org', 'create', 'acme'], db.env)).code).toBe(0);
});
afterAll(() => db.cleanup());

async function signIn(email: string, password: string): Promise<number> {
  const roster = assemble(loadConfig({}), await db.open());
  try {
    return (
      await request(createApp(roster, pino({ level: 'silent' })))
        .post('/admin/api/session')
        .send({ email, password })
    ).status;
  } finally {
    await roster.close();
  }
}

describe('first run', () => {
  it('logs a setup link at start while no administrator exists; the link creates the instance administrator', async () => {
    const server = await startServer(db.env);
    try {
      let match: RegExpExecArray | null = null;
      for (let i = 0; i < 50 && !match; i++) {
        match = /open http:\/\/localhost:\d+\/admin\/#setup=([A-Za-z0-9_-]{43}) within an hour/.exec(server.output());
        if (!match) await new Promise((resolve) => setTimeout(resolve, 100));
      }
      expect(match).not.toBeNull();
      const res = await fetch(`http://127.0.0.1:${server.port}/admin/api/setup`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ token: match?.[1], email: 'root@example.com', password: 'Strong-Password-1' }),
      });
      expect(res.status).toBe(200);
    } finally {
      await stopServer(server.child);
    }
    expect(await signIn('root@example.com', 'Strong-Password-1')).toBe(200);
  }, 90_000);
});

describe('roster admin', () => {
  it('creates an instance administrator from a password on stdin and prints only its id', async () => {
    const created = await cli(['admin', 'create', 'Second@Example.com'], db.env, 'Strong-Password-1\n');
    expect(created.code).toBe(0);
    expect(created.stdout).toMatch(/^[0-9a-f-]{36}\n$/);
    expect(created.stderr).not.toContain('Strong-Password-1');
    expect(await signIn('second@example.com', 'Strong-Password-1')).toBe(200);
  }, 90_000);

  it('creates an organization administrator with its roles; refuses a weak password, a bad role pair and a taken email', async () => {
    const created = await cli(
      ['admin', 'create', 'ops@acme.example', '--org', 'acme', '--system-role', 'user', '--org-role', 'Organization Administrator'],
      db.env,
      'Strong-Password-2',
    );
    expect(created.code).toBe(0);
    const weak = await cli(['admin', 'create', 'weak@acme.example', '--org', 'acme'], db.env, 'short\n');
    expect(weak.code).toBe(1);
    expect(weak.stderr).toMatch(/password policy/);
    const pair = await cli(['admin', 'create', 'su@acme.example', '--system-role', 'Super User', '--org-role', 'Standard User'], db.env, 'Strong-Password-3\n');
    expect(pair.stderr).toMatch(/Super User requires organization role Organization Administrator/);
    const taken = await cli(['admin', 'create', 'OPS@acme.example'], db.env, 'Strong-Password-4\n');
    expect(taken.code).toBe(1);
    expect(taken.stderr).toMatch(/already exists/);
    const none = await cli(['admin', 'create', 'nopass@acme.example'], db.env, '');
    expect(none.code).toBe(2);
  }, 90_000);

  it('lists administrators without their password hashes, and disables one', async () => {
    const listed = await cli(['admin', 'list', '--json'], db.env);
    expect(listed.code).toBe(0);
    expect(listed.stdout).not.toMatch(/argon2/);
    expect(JSON.parse(listed.stdout)).toEqual([
      expect.objectContaining({
        email: 'root@example.com',
        organization: null,
        systemRole: 'Administrator',
        lastSignInAt: expect.any(String),
        disabledAt: null,
      }),
      expect.objectContaining({ email: 'second@example.com', organization: null }),
      expect.objectContaining({ email: 'ops@acme.example', organization: 'acme', systemRole: 'User', organizationRole: 'Organization Administrator' }),
    ]);
    const disabled = await cli(['admin', 'disable', 'ops@acme.example'], db.env);
    expect(disabled.code).toBe(0);
    expect(await signIn('ops@acme.example', 'Strong-Password-2')).toBe(401);
    expect((await cli(['admin', 'disable', 'nobody@acme.example'], db.env)).code).toBe(1);
  }, 90_000);
});
