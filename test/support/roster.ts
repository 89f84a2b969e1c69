import type { Express } from 'express';
import pino from 'pino';
import { createApp } from '../../src/app';
import { loadConfig, type Config } from '../../src/config';
import type { Organization } from '../../src/domain/organization';
import { assemble, type Roster } from '../../src/roster';
import { openTestDatabase } from './database';

export interface TestRoster {
  roster: Roster;
  app: Express;
  org: Organization;
  /** A token of `org` with the default roles (Api User, Organization Administrator). */
  token: string;
  /** Another organization with its own credential. */
  newOrganization(slug: string, roles?: { systemRole?: string; organizationRole?: string }): Promise<{ org: Organization; token: string }>;
  close(): Promise<void>;
}

/** A Roster on a database of this test file's own, with one organization and a token for it. */
export async function startTestRoster(overrides: Partial<Config> = {}): Promise<TestRoster> {
  const database = await openTestDatabase();
  const config = { ...loadConfig({}), ...overrides };
  const roster = assemble(config, database);
  const app = createApp(roster, pino({ level: 'silent' }));
  const newOrganization = async (slug: string, roles: { systemRole?: string; organizationRole?: string } = {}) => {
    const org = await roster.organizations.create(slug);
    const { secret } = await roster.credentials.issue({ organizationId: org.id, ...roles });
    return { org, token: secret };
  };
  const first = await newOrganization('acme');
  return { roster, app, org: first.org, token: first.token, newOrganization, close: () => roster.close() };
}
