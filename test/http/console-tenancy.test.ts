import type { Express } from 'express';
import { createAdmin, signIn, type ConsoleSession } from '../support/console';
import { startTestRoster, type TestRoster } from '../support/roster';
import { GROUP, scimClient, userBody } from '../support/scim';

/**
 * Tenancy of the console API, table-driven: an administrator of organization globex
 * tries every console route on acme's resources, both through acme's slug and through
 * its own slug with acme's ids. Every answer is the same 404 as for something that
 * does not exist, and nothing of acme changes. The table must name every route the
 * API has (read from the router), so a new route cannot be left out.
 */

let t: TestRoster;
let globexAdmin: ConsoleSession;
let acmeAdmin: ConsoleSession;
const acme: Record<string, string> = {};

interface Layer {
  route?: { path: string; methods: Record<string, boolean> };
  handle?: { stack?: Layer[] };
}

/** Every route of the console API as `METHOD path` (the router's own list). */
function consoleRoutes(app: Express): string[] {
  const found: string[] = [];
  const walk = (stack: Layer[] | undefined) => {
    for (const layer of stack ?? []) {
      if (layer.route) for (const method of Object.keys(layer.route.methods)) found.push(`${method.toUpperCase()} ${layer.route.path}`);
      else walk(layer.handle?.stack);
    }
  };
  walk((app as unknown as { router: { stack: Layer[] } }).router.stack);
  return found.filter((r) => r.includes('/orgs/:org'));
}

/** Each organization route, with a body for the changes. */
const ROUTES: Record<string, object | undefined> = {
  'GET /orgs/:org/connection': undefined,
  'POST /orgs/:org/tokens': { name: 'stolen' },
  'POST /orgs/:org/tokens/:id/revoke': {},
  'GET /orgs/:org/users': undefined,
  'GET /orgs/:org/users/:id': undefined,
  'POST /orgs/:org/users/:id/actions/:action': { systemRole: 'User', organizationRole: 'Standard User' },
  'GET /orgs/:org/groups': undefined,
  'GET /orgs/:org/groups/:id': undefined,
  'GET /orgs/:org/audit': undefined,
  'GET /orgs/:org/organization': undefined,
  'GET /orgs/:org/receivers': undefined,
  'GET /orgs/:org/requests': undefined,
  'GET /orgs/:org/requests/:id': undefined,
};

beforeAll(async () => {
  t = await startTestRoster();
  await t.newOrganization('globex');
  const scim = scimClient(t.app, t.token);
  acme.user = (await scim.post('/Users', userBody('victim@acme.example')).expect(201)).body.id;
  acme.group = (await scim.post('/Groups', { schemas: [GROUP], displayName: 'Acme team', members: [{ value: acme.user }] }).expect(201)).body.id;
  acme.token = (await t.roster.credentials.list(t.org.id))[0].id;
  await t.roster.requestLog.writer?.flush();
  acme.request = (await t.roster.requestLog.reader.list(t.org.id, { limit: 1 }))[0].id;
  await createAdmin(t.roster, 'admin@globex.example', { org: 'globex', systemRole: 'Administrator' });
  await createAdmin(t.roster, 'admin@acme.example', { org: 'acme' });
  globexAdmin = await signIn(t.app, 'admin@globex.example');
  acmeAdmin = await signIn(t.app, 'admin@acme.example');
});
afterAll(() => t.close());

function path(route: string, org: string): string {
  const id = route.includes('/users/') ? acme.user : route.includes('/groups/') ? acme.group : route.includes('/requests/') ? acme.request : acme.token;
  return route.split(' ')[1].replace(':org', org).replace(':id', id).replace(':action', 'disable');
}

async function call(session: ConsoleSession, route: string, org: string) {
  const url = path(route, org);
  return route.startsWith('GET') ? session.get(url) : session.post(url, ROUTES[route]);
}

describe('console tenancy', () => {
  it('the table names every organization route of the console API', () => {
    expect(consoleRoutes(t.app).sort()).toEqual(Object.keys(ROUTES).sort());
  });

  it.each(Object.keys(ROUTES))("%s: another organization's administrator gets 404 through acme's slug", async (route) => {
    const res = await call(globexAdmin, route, 'acme');
    expect(res.status).toBe(404);
    expect(res.body.error).toEqual({ status: 404, code: 'organization.not_found', message: 'Organization not found' });
    // The same answer as for an organization that does not exist: nothing tells them apart.
    const missing = await call(globexAdmin, route, 'no-such-org');
    expect(missing.body).toEqual(res.body);
  });

  it.each(Object.keys(ROUTES).filter((r) => r.includes(':id')))("%s: acme's ids through its own slug are not found", async (route) => {
    const res = await call(globexAdmin, route, 'globex');
    expect(res.status).toBe(404);
    expect(JSON.stringify(res.body)).not.toMatch(/victim|Acme team|acme/i);
  });

  it('lists and counts nothing of acme under its own organization', async () => {
    expect((await globexAdmin.get('/orgs/globex/users')).body.total).toBe(0);
    expect((await globexAdmin.get('/orgs/globex/users?q=victim')).body.total).toBe(0);
    expect((await globexAdmin.get('/orgs/globex/groups')).body.total).toBe(0);
    const trail = (await globexAdmin.get('/orgs/globex/audit')).body.events;
    expect(trail.map((e: { action: string }) => e.action)).toEqual(['credential.issued']); // its own token
    expect(JSON.stringify(trail)).not.toMatch(/victim|Acme team/);
    await t.roster.requestLog.writer?.flush();
    expect((await globexAdmin.get('/orgs/globex/requests').expect(200)).body.requests).toEqual([]);
    expect((await globexAdmin.get('/orgs/globex/organization')).body.counts).toEqual({ standard: 0, api: 0, taxii: 0, readOnly: 0 });
    expect((await globexAdmin.get('/session')).body.organizations).toEqual([{ slug: 'globex', name: 'globex' }]);
  });

  it('changed nothing of acme', async () => {
    const user = await acmeAdmin.get(`/orgs/acme/users/${acme.user}`).expect(200);
    expect(user.body.user).toEqual(expect.objectContaining({ active: true, systemRole: 'User', organizationRole: 'Standard User' }));
    const connection = await acmeAdmin.get('/orgs/acme/connection').expect(200);
    expect(connection.body.tokens.map((k: { id: string; revokedAt: string | null }) => [k.id, k.revokedAt])).toEqual([[acme.token, null]]);
    const trail = (await acmeAdmin.get('/orgs/acme/audit')).body.events;
    expect(trail.filter((e: { actor: string }) => e.actor.includes('globex'))).toEqual([]);
  });
});
