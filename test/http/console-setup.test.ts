import request from 'supertest';
import { createAdmin, PASSWORD, signIn } from '../support/console';
import { startTestRoster, type TestRoster } from '../support/roster';

/** First run: the setup link creates the instance administrator, once, within its hour. */
let t: TestRoster;
beforeAll(async () => {
  t = await startTestRoster();
});
afterAll(() => t.close());

const setup = (token: string, password = PASSWORD, email = 'first@example.com') => request(t.app).post('/admin/api/setup').send({ token, email, password });

describe('the first-run setup link', () => {
  it('is refused when unknown, expired or used, and creates the instance administrator once', async () => {
    const service = t.roster.consoleAdmins;
    const expiring = (await service.openSetup()) as string;
    const fresh = (await service.openSetup()) as string;
    expect(fresh).toMatch(/^[A-Za-z0-9_-]{43}$/);
    expect((await setup('x'.repeat(43))).status).toBe(404);
    const realNow = service.now;
    service.now = () => new Date(Date.now() + 2 * 3_600_000);
    try {
      expect((await setup(expiring)).body.error.code).toBe('admin.setup_invalid');
      expect((await setup(fresh)).status).toBe(404); // an hour has passed for it too
    } finally {
      service.now = realNow;
    }
    const weak = await setup(fresh, 'weak');
    expect(weak.status).toBe(400);
    expect(weak.body.error.message).toMatch(/password policy/);
    const done = await setup(fresh);
    expect(done.status).toBe(200);
    expect(String(done.headers['set-cookie'])).toMatch(/^roster_console=.*HttpOnly; SameSite=Strict/);
    expect(done.body.admin).toEqual({
      email: 'first@example.com',
      systemRole: 'Administrator',
      organizationRole: 'Organization Administrator',
      instance: true,
    });
    expect((await setup(fresh, PASSWORD, 'second@example.com')).status).toBe(404);
    expect((await setup(expiring, PASSWORD, 'third@example.com')).status).toBe(404);
    expect(await service.openSetup()).toBeNull();
    expect((await service.list()).map((a) => a.email)).toEqual(['first@example.com']);
  });

  it('lets the instance administrator create an organization; no organization administrator may', async () => {
    const first = await signIn(t.app, 'first@example.com');
    const created = await first.post('/orgs', { slug: 'initech', name: 'Initech' }).expect(200);
    expect(created.body.organization).toEqual({ slug: 'initech', name: 'Initech' });
    expect((await first.get('/session')).body.organizations.map((o: { slug: string }) => o.slug)).toContain('initech');
    expect((await first.post('/orgs', { slug: 'Not A Slug' })).status).toBe(400);
    await createAdmin(t.roster, 'local@acme.example', { org: 'acme', systemRole: 'Administrator' });
    const local = await signIn(t.app, 'local@acme.example');
    const refused = await local.post('/orgs', { slug: 'mine' });
    expect(refused.status).toBe(403);
    expect(refused.body.error.message).toMatch(/cannot create organizations \(rule: only an instance administrator/);
  });
});
