import argon2 from 'argon2';
import type { Config } from './config';
import { CredentialService } from './domain/credential.service';
import { GroupService } from './domain/group.service';
import { DEFAULT_ORGANIZATION, OrganizationService } from './domain/organization.service';
import type { PasswordHasher } from './domain/ports';
import { SettingsService } from './domain/settings.service';
import { UserService } from './domain/user.service';
import { openDatabase, type Database } from './orm/database';
import { RevocationFeed } from './orm/revocation-feed';
import { OrmUnitOfWork } from './orm/unit-of-work';

/** argon2id for human passwords (never for tokens: that would cost ~100 ms a request). */
export const argon2idHasher: PasswordHasher = {
  hash: (password) => argon2.hash(password, { type: argon2.argon2id }),
};

/** Everything a running Roster is made of, wired once: the composition root. */
export interface Roster {
  config: Config;
  database: Database;
  users: UserService;
  groups: GroupService;
  organizations: OrganizationService;
  settings: SettingsService;
  credentials: CredentialService;
  close(): Promise<void>;
}

export async function openRoster(
  config: Config,
  options: {
    migrate?: boolean;
    shareRunningEmbedded?: boolean;
    onWarning?: (message: string) => void;
    /** Keep verified credentials in memory, dropped on any revocation (the server does; the CLI does not). */
    withRevocationFeed?: boolean;
  } = {},
): Promise<Roster> {
  const database = await openDatabase({
    url: config.databaseUrl,
    dataDir: config.databaseUrl ? undefined : config.dataDir,
    poolMax: config.databasePoolMax,
    statementTimeoutMs: config.statementTimeoutMs,
    preparedStatements: config.preparedStatements,
    onWarning: options.onWarning,
    migrate: options.migrate,
    shareRunningEmbedded: options.shareRunningEmbedded,
  });
  if (!options.withRevocationFeed || database.embedded) return assemble(config, database);
  // Embedded mode keeps no credential cache: one process, and no LISTEN to rely on.
  const feed = new RevocationFeed(database.url, options.onWarning);
  await feed.start();
  return assemble(config, database, feed);
}

export function assemble(config: Config, database: Database, feed?: RevocationFeed): Roster {
  const uow = new OrmUnitOfWork(database.orm, database.preparedStatements);
  const deps = { uow, passwords: argon2idHasher };
  const credentials = new CredentialService(uow, undefined, feed);
  return {
    config,
    database,
    users: new UserService(deps),
    groups: new GroupService(deps),
    organizations: new OrganizationService(uow),
    settings: new SettingsService(uow),
    credentials,
    async close() {
      await feed?.stop();
      await credentials.settle();
      await database.close();
    },
  };
}

/**
 * ROSTER_BOOTSTRAP_TOKEN: organization `default` exists, and a credential with
 * exactly this secret exists for it (Api User, Organization Administrator).
 */
export async function ensureBootstrap(roster: Roster, secret: string): Promise<'created' | 'present' | 'revoked'> {
  const org = await roster.organizations.ensure(DEFAULT_ORGANIZATION, 'Default organization');
  const { credential, created } = await roster.credentials.ensure(org.id, secret, 'bootstrap');
  if (created) return 'created';
  return credential.revokedAt ? 'revoked' : 'present';
}
