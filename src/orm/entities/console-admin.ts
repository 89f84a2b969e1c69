import { EntitySchema } from '@mikro-orm/core';
import { timestamps, uuidKey } from './columns';
import type { OrganizationEntity } from './organization';

export interface ConsoleAdminEntity {
  id: string;
  email: string;
  passwordHash: string;
  organization: OrganizationEntity | null;
  systemRole: string;
  organizationRole: string;
  createdAt: Date;
  disabledAt: Date | null;
  lastSignInAt: Date | null;
}

/**
 * A console administrator (src/console/): its email (unique in any case), its
 * argon2id password hash, its organization (null: an instance administrator) and roles.
 */
export const ConsoleAdmin = new EntitySchema<ConsoleAdminEntity>({
  name: 'ConsoleAdmin',
  tableName: 'console_admins',
  uniques: [
    {
      name: 'console_admins_email_lower_unique',
      expression: 'create unique index "console_admins_email_lower_unique" on "console_admins" (lower("email"))',
    },
  ],
  properties: {
    id: uuidKey,
    email: { type: 'text' },
    passwordHash: { type: 'text' },
    organization: { kind: 'm:1', entity: 'Organization', deleteRule: 'cascade', nullable: true },
    systemRole: { type: 'text' },
    organizationRole: { type: 'text' },
    createdAt: timestamps.createdAt,
    disabledAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
    lastSignInAt: { type: 'Date', columnType: 'timestamptz', nullable: true },
  },
});

export interface ConsoleSessionEntity {
  idHash: string;
  admin: ConsoleAdminEntity;
  createdAt: Date;
  lastSeenAt: Date;
}

/**
 * A console session, kept in PostgreSQL so every instance shares it: only the SHA-256
 * of the session id the cookie carries. It ends when unused for the idle timeout.
 */
export const ConsoleSession = new EntitySchema<ConsoleSessionEntity>({
  name: 'ConsoleSession',
  tableName: 'console_sessions',
  indexes: [{ name: 'console_sessions_admin_index', properties: ['admin'] }],
  properties: {
    idHash: { type: 'text', primary: true },
    admin: { kind: 'm:1', entity: 'ConsoleAdmin', deleteRule: 'cascade' },
    createdAt: { type: 'Date', columnType: 'timestamptz' },
    lastSeenAt: { type: 'Date', columnType: 'timestamptz' },
  },
});

export interface ConsoleSetupTokenEntity {
  tokenHash: string;
  expiresAt: Date;
}

/**
 * A first-run setup link (while no console administrator exists, the server logs one):
 * the SHA-256 of its token and when it expires. Using one creates the instance
 * administrator and deletes every setup token.
 */
export const ConsoleSetupToken = new EntitySchema<ConsoleSetupTokenEntity>({
  name: 'ConsoleSetupToken',
  tableName: 'console_setup_tokens',
  properties: {
    tokenHash: { type: 'text', primary: true },
    expiresAt: { type: 'Date', columnType: 'timestamptz' },
  },
});
