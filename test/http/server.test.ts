import { cli, processDatabase, run, startServer, stopServer, type ProcessDatabase } from '../support/processes';
import { USER } from '../support/scim';

const BOOTSTRAP = 'bootstrap-secret-for-the-server-test-0123456789';

let db: ProcessDatabase;
beforeAll(async () => {
  db = await processDatabase();
});
afterAll(() => db.cleanup());

async function scim(port: number, method: string, path: string, body?: unknown) {
  const res = await fetch(`http://127.0.0.1:${port}/scim/v2${path}`, {
    method,
    headers: { Authorization: `Bearer ${BOOTSTRAP}`, 'Content-Type': 'application/scim+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  const json: any = res.status === 204 ? undefined : await res.json();
  return { status: res.status, body: json };
}

describe('the server process', () => {
  it('starts, serves SCIM with the bootstrap token, stops on SIGTERM within 10 s, and keeps its data', async () => {
    const env = { ...db.env, ROSTER_BOOTSTRAP_TOKEN: BOOTSTRAP };
    const first = await startServer(env);
    const health = await fetch(`http://127.0.0.1:${first.port}/healthz`);
    expect(health.status).toBe(200);
    expect(await health.json()).toEqual({ status: 'ok' });
    const created = await scim(first.port, 'POST', '/Users', { schemas: [USER], userName: 'survivor@example.com' });
    expect(created.status).toBe(201);
    const stopped = await stopServer(first.child, 'SIGTERM');
    expect(stopped.code).toBe(0);
    expect(stopped.ms).toBeLessThan(10_000);

    const second = await startServer(env);
    try {
      const found = await scim(second.port, 'GET', `/Users?filter=${encodeURIComponent('userName eq "survivor@example.com"')}`);
      expect(found.body.totalResults).toBe(1);
      expect(found.body.Resources[0].id).toBe(created.body.id);
    } finally {
      expect((await stopServer(second.child, 'SIGINT')).code).toBe(0);
    }

    // The bootstrap token was made sure of twice, but exists once.
    const tokens = JSON.parse((await cli(['token', 'list', '--org', 'default', '--json'], db.env)).stdout);
    expect(tokens).toHaveLength(1);
    expect(tokens[0]).toMatchObject({ systemRole: 'Api User', organizationRole: 'Organization Administrator' });

    // The request log entry of the create, made just before SIGTERM (within the writer's
    // one-second batch), was stored on the way out.
    const logged = await cli(['requests', '--org', 'default', '--json', '--limit', '1000'], db.env);
    expect(logged.code).toBe(0);
    const entries = JSON.parse(logged.stdout) as { method: string; path: string; status: number; resourceIds: string[] }[];
    expect(entries).toContainEqual(expect.objectContaining({ method: 'POST', path: '/scim/v2/Users', status: 201, resourceIds: [created.body.id] }));
  }, 180_000);

  it('stops a token revoked with the CLI on the very next request, though the server keeps verified tokens in memory', async () => {
    const server = await startServer({ ...db.env, ROSTER_BOOTSTRAP_TOKEN: BOOTSTRAP });
    try {
      const token = (await cli(['token', 'create', '--org', 'default', '--name', 'revoke-me'], db.env)).stdout.trim();
      const get = () => fetch(`http://127.0.0.1:${server.port}/scim/v2/Users?count=1`, { headers: { Authorization: `Bearer ${token}` } });
      expect((await get()).status).toBe(200);
      expect((await get()).status).toBe(200);
      const id = JSON.parse((await cli(['token', 'list', '--org', 'default', '--json'], db.env)).stdout).find(
        (t: { name: string }) => t.name === 'revoke-me',
      ).id;
      expect((await cli(['token', 'revoke', id], db.env)).code).toBe(0);
      expect((await get()).status).toBe(401);
    } finally {
      await stopServer(server.child);
    }
  }, 120_000);

  it('leaves no half-applied change when killed with SIGKILL during a write load', async () => {
    const env = { ...db.env, ROSTER_BOOTSTRAP_TOKEN: BOOTSTRAP, ROSTER_RATE_LIMIT_PER_SECOND: '0' };
    const first = await startServer(env);
    const ids: string[] = [];
    for (let i = 0; i < 8; i++) {
      const res = await scim(first.port, 'POST', '/Users', { schemas: [USER], userName: `kill.${i}@example.com`, title: 't0', nickName: 't0' });
      ids.push(res.body.id);
    }
    // Each PATCH sets title and nickName to the same value: a half-applied one would split them.
    let stop = false;
    const load = Promise.all(
      ids.map(async (id, lane) => {
        for (let n = 1; !stop && n < 10_000; n++) {
          const value = `t${lane}-${n}`;
          await scim(first.port, 'PATCH', `/Users/${id}`, {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
            Operations: [
              { op: 'replace', path: 'title', value },
              { op: 'replace', path: 'nickName', value },
            ],
          }).catch(() => undefined);
        }
      }),
    );
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const killed = stopServer(first.child, 'SIGKILL');
    stop = true;
    await load;
    expect((await killed).code).toBeNull();

    const second = await startServer(env);
    try {
      for (const id of ids) {
        const user = (await scim(second.port, 'GET', `/Users/${id}`)).body;
        expect({ title: user.title, nickName: user.nickName }).toEqual({ title: user.nickName, nickName: user.title });
      }
      const patched = await Promise.all(ids.map(async (id) => (await scim(second.port, 'GET', `/Users/${id}`)).body.title));
      expect(patched.some((title: string) => title !== 't0')).toBe(true);
    } finally {
      await stopServer(second.child);
    }
  }, 180_000);

  it('refuses to start with a bad setting, in one line naming the variable', async () => {
    for (const [name, value] of [
      ['PORT', 'eighty'],
      ['ROSTER_BOOTSTRAP_TOKEN', 'too-short'],
      ['DATABASE_URL', 'mysql://nope'],
      ['LOG_LEVEL', 'loud'],
    ]) {
      const result = await run(['src/main.ts'], { ...db.env, [name]: value });
      expect(result.code).toBe(1);
      const lines = result.stderr.trim().split('\n');
      expect(lines).toHaveLength(1);
      expect(lines[0]).toContain(name);
    }
  }, 120_000);
});
