import type { Express } from 'express';
import request from 'supertest';
import type { Roster } from '../../src/roster';

export const PASSWORD = 'Console-Password-1';

/** A console administrator (argon2id, as the CLI makes one); returns its email. */
export async function createAdmin(roster: Roster, email: string, options: { org?: string; systemRole?: string; organizationRole?: string } = {}) {
  const organizationId = options.org ? (await roster.organizations.bySlug(options.org)).id : null;
  await roster.consoleAdmins.create({ email, password: PASSWORD, organizationId, systemRole: options.systemRole, organizationRole: options.organizationRole });
  return email;
}

/** A signed-in console session: requests carry its cookie, and changes its CSRF token. */
export async function signIn(app: Express, email: string, password = PASSWORD) {
  const agent = request.agent(app);
  const res = await agent.post('/admin/api/session').send({ email, password });
  if (res.status !== 200) throw new Error(`sign-in failed: ${res.status} ${JSON.stringify(res.body)}`);
  const csrf = res.body.csrfToken as string;
  return {
    agent,
    csrf,
    cookie: String(res.headers['set-cookie']),
    get: (path: string) => agent.get(`/admin/api${path}`),
    post: (path: string, body: object = {}) => agent.post(`/admin/api${path}`).set('X-CSRF-Token', csrf).send(body),
    delete: (path: string) => agent.delete(`/admin/api${path}`).set('X-CSRF-Token', csrf),
  };
}

export type ConsoleSession = Awaited<ReturnType<typeof signIn>>;
