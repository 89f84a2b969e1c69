/**
 * The operator's command line: `npm run --silent roster -- <command>`.
 * stdout carries only the result, so scripts can capture it; messages go to stderr.
 * Unknown commands and bad arguments print usage on stderr and exit 2.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config';
import type { Credential } from './domain/credential';
import { DomainError } from './domain/errors';
import type { OrganizationLicense } from './domain/organization';
import { accountSettingsOf, type User } from './domain/user';
import { migrate } from './orm/database';
import { DataDirLockedError } from './orm/embedded';
import { openRoster, type Roster } from './roster';

export const USAGE = `usage: npm run --silent roster -- <command>

commands:
  org create <slug> [--name "Display name"]
  org list [--json]
  token create --org <slug> [--system-role R] [--org-role R] [--name L] [--expires-in-days N]
  token list --org <slug> [--json]
  token revoke <id>
  settings get [--json]
  settings set <key> <value>      keys: tqlQueryTimeout, twoFactorAuthenticationRequired,
                                  termsOfServiceRequireNewUserToAccept, deploymentType (cloud|dedicated|onprem),
                                  passwordPolicy.minLength|maxLength|requireUppercase|requireLowercase|requireDigit|requireSymbol
  org limits <slug> [--standard N] [--api N] [--taxii N] [--read-only N|free] [--api-users on|off]
                                  (N: a whole number, or "unlimited")
  org show <slug> [--json]
  users export --org <slug> [--format csv|json]
  audit --org <slug> [--since ISO-8601] [--json]
  migrate

The database is DATABASE_URL when set, else the embedded one in ROSTER_DATA_DIR (./data).`;

export class UsageError extends Error {}

export interface Io {
  out(text: string): void;
  err(text: string): void;
}

type Flags = Record<string, string | boolean | undefined>;

interface Command {
  words: string[];
  options: Record<string, { type: 'string' | 'boolean' }>;
  positionals: number;
  /** Commands that open the database without applying migrations first. */
  noMigrate?: boolean;
  run(roster: Roster, args: string[], flags: Flags, io: Io): Promise<void>;
}

const json = { type: 'boolean' } as const;
const text = { type: 'string' } as const;

function required(flags: Flags, name: string): string {
  const value = flags[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}

function credentialRow(c: Credential) {
  return {
    id: c.id,
    name: c.name,
    systemRole: c.systemRole,
    organizationRole: c.organizationRole,
    createdAt: c.createdAt.toISOString(),
    lastUsedAt: c.lastUsedAt?.toISOString() ?? null,
    expiresAt: c.expiresAt?.toISOString() ?? null,
    revokedAt: c.revokedAt?.toISOString() ?? null,
  };
}

/** What `users export` writes per user: roles and flags, never a password hash. */
const EXPORT_COLUMNS = [
  'id',
  'userName',
  'externalId',
  'displayName',
  'givenName',
  'familyName',
  'email',
  'active',
  'systemRole',
  'organizationRole',
  'accountType',
  'customTqlTimeout',
  'locked',
  'passwordResetRequired',
  'mfaEnabled',
  'mfaResetRequired',
  'termsOfServiceAcceptanceRequired',
  'timezone',
  'logoutAfterMinutes',
  'summaryEmailTime',
  'tokenExpirationDays',
  'includeInObservations',
  'allowExceedApiLinkLimit',
  'createdAt',
  'updatedAt',
] as const;

function exportRow(user: User): Record<string, unknown> {
  const primary = user.emails.find((e) => e.primary === true) ?? user.emails[0];
  return {
    id: user.id,
    userName: user.userName,
    externalId: user.externalId,
    displayName: user.displayName,
    givenName: user.name.givenName ?? null,
    familyName: user.name.familyName ?? null,
    email: (primary?.value as string | undefined) ?? null,
    active: user.active,
    timezone: user.timezone,
    ...accountSettingsOf(user),
    createdAt: user.createdAt.toISOString(),
    updatedAt: user.updatedAt.toISOString(),
  };
}

/** RFC 4180 quoting; a leading = + - @ is prefixed with ' so spreadsheets do not run it. */
function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  let text = String(value);
  if (/^[=+\-@\t\r]/.test(text)) text = `'${text}`;
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

function flatten(object: Record<string, unknown>, prefix = ''): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(object)) {
    if (value && typeof value === 'object' && !Array.isArray(value)) Object.assign(out, flatten(value as Record<string, unknown>, `${prefix}${key}.`));
    else out[`${prefix}${key}`] = value;
  }
  return out;
}

function table(rows: Record<string, unknown>[], columns: string[]): string {
  const cells = [columns, ...rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? '-' : String(r[c]))))];
  const widths = columns.map((_, i) => Math.max(...cells.map((row) => row[i].length)));
  return cells.map((row) => row.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd()).join('\n');
}

const COMMANDS: Command[] = [
  {
    words: ['org', 'create'],
    options: { name: text },
    positionals: 1,
    async run(roster, [slug], flags, io) {
      const org = await roster.organizations.create(slug, flags.name as string | undefined);
      io.out(org.id);
    },
  },
  {
    words: ['org', 'list'],
    options: { json },
    positionals: 0,
    async run(roster, _args, flags, io) {
      const orgs = (await roster.organizations.list()).map((o) => ({ id: o.id, slug: o.slug, name: o.name, createdAt: o.createdAt.toISOString() }));
      io.out(flags.json ? JSON.stringify(orgs, null, 2) : table(orgs, ['slug', 'name', 'id', 'createdAt']));
    },
  },
  {
    words: ['token', 'create'],
    options: { org: text, 'system-role': text, 'org-role': text, name: text, 'expires-in-days': text },
    positionals: 0,
    async run(roster, _args, flags, io) {
      const org = await roster.organizations.bySlug(required(flags, 'org'));
      const days = flags['expires-in-days'];
      if (days !== undefined && !/^\d+$/.test(String(days))) throw new UsageError('--expires-in-days takes a whole number');
      const { secret } = await roster.credentials.issue({
        organizationId: org.id,
        name: flags.name as string | undefined,
        systemRole: flags['system-role'] as string | undefined,
        organizationRole: flags['org-role'] as string | undefined,
        expiresInDays: days === undefined ? undefined : Number(days),
      });
      io.out(secret);
    },
  },
  {
    words: ['token', 'list'],
    options: { org: text, json },
    positionals: 0,
    async run(roster, _args, flags, io) {
      const org = await roster.organizations.bySlug(required(flags, 'org'));
      const rows = (await roster.credentials.list(org.id)).map(credentialRow);
      io.out(
        flags.json
          ? JSON.stringify(rows, null, 2)
          : table(rows, ['id', 'name', 'systemRole', 'organizationRole', 'createdAt', 'lastUsedAt', 'expiresAt', 'revokedAt']),
      );
    },
  },
  {
    words: ['token', 'revoke'],
    options: {},
    positionals: 1,
    async run(roster, [id], _flags, io) {
      const credential = await roster.credentials.revoke(id);
      io.out(credential.id);
      io.err(`revoked ${credential.id} at ${credential.revokedAt?.toISOString()}`);
    },
  },
  {
    words: ['settings', 'get'],
    options: { json },
    positionals: 0,
    async run(roster, _args, flags, io) {
      const settings = await roster.settings.get();
      if (flags.json) return io.out(JSON.stringify(settings, null, 2));
      const rows = Object.entries(flatten(settings as unknown as Record<string, unknown>)).map(([key, value]) => ({ key, value }));
      io.out(table(rows, ['key', 'value']));
    },
  },
  {
    words: ['settings', 'set'],
    options: {},
    positionals: 2,
    async run(roster, [key, value], _flags, io) {
      const settings = await roster.settings.set(key, value);
      io.out(String(flatten(settings as unknown as Record<string, unknown>)[key]));
    },
  },
  {
    words: ['org', 'limits'],
    options: { standard: text, api: text, taxii: text, 'read-only': text, 'api-users': text },
    positionals: 1,
    async run(roster, [slug], flags, io) {
      const change: Partial<OrganizationLicense> = {};
      const limit = (name: string): number | null | undefined => {
        const value = flags[name];
        if (value === undefined) return undefined;
        if (value === 'unlimited') return null;
        if (typeof value !== 'string' || !/^\d+$/.test(value)) throw new UsageError(`--${name} takes a whole number or "unlimited"`);
        return Number(value);
      };
      change.standardUserLimit = limit('standard');
      change.apiUserLimit = limit('api');
      change.taxiiUserLimit = limit('taxii');
      if (flags['read-only'] === 'free') change.readOnlyUsersFree = true;
      else if (flags['read-only'] !== undefined) {
        change.readOnlyUserLimit = limit('read-only');
        change.readOnlyUsersFree = false;
      }
      const apiUsers = flags['api-users'];
      if (apiUsers !== undefined) {
        if (apiUsers !== 'on' && apiUsers !== 'off') throw new UsageError('--api-users takes on or off');
        change.apiUsersAllowed = apiUsers === 'on';
      }
      if (Object.values(change).every((v) => v === undefined)) throw new UsageError('org limits needs at least one limit to set');
      const license = await roster.organizations.setLicense(slug, change);
      io.out(JSON.stringify(license));
    },
  },
  {
    words: ['org', 'show'],
    options: { json },
    positionals: 1,
    async run(roster, [slug], flags, io) {
      const { organization, license, counts } = await roster.organizations.show(slug);
      if (flags.json) return io.out(JSON.stringify({ ...organization, license, counts }, null, 2));
      const rows = (
        [
          ['standard', license.standardUserLimit, counts.standard],
          ['api', license.apiUserLimit, counts.api],
          ['taxii', license.taxiiUserLimit, counts.taxii],
          ['readOnly', license.readOnlyUsersFree ? 'free' : license.readOnlyUserLimit, counts.readOnly],
        ] as const
      ).map(([type, limit, used]) => ({ type, limit: limit ?? 'unlimited', used }));
      io.out(`${organization.slug} (${organization.name}) ${organization.id}\nAPI users allowed: ${license.apiUsersAllowed ? 'yes' : 'no'}\n${table(rows, ['type', 'limit', 'used'])}`);
    },
  },
  {
    words: ['users', 'export'],
    options: { org: text, format: text },
    positionals: 0,
    async run(roster, _args, flags, io) {
      const format = (flags.format as string | undefined) ?? 'csv';
      if (format !== 'csv' && format !== 'json') throw new UsageError('--format takes csv or json');
      const slug = required(flags, 'org');
      if (format === 'csv') io.out(EXPORT_COLUMNS.join(','));
      const all: Record<string, unknown>[] = [];
      for await (const batch of roster.organizations.users(slug)) {
        for (const user of batch) {
          const row = exportRow(user);
          if (format === 'csv') io.out(EXPORT_COLUMNS.map((c) => csvCell(row[c])).join(','));
          else all.push(row);
        }
      }
      if (format === 'json') io.out(JSON.stringify(all, null, 2));
    },
  },
  {
    words: ['audit'],
    options: { org: text, since: text, json },
    positionals: 0,
    async run(roster, _args, flags, io) {
      const sinceText = flags.since as string | undefined;
      const since = sinceText === undefined ? undefined : new Date(sinceText);
      if (since && Number.isNaN(since.getTime())) throw new UsageError('--since takes an ISO 8601 date or time, e.g. 2026-01-31T00:00:00Z');
      const events = await roster.organizations.audit(required(flags, 'org'), since);
      const rows = events.map((e) => ({
        occurredAt: e.occurredAt.toISOString(),
        actor: e.actor,
        action: e.action,
        targetType: e.targetType ?? null,
        targetId: e.targetId ?? null,
        targetName: e.targetName ?? null,
        details: e.details ?? {},
      }));
      if (flags.json) return io.out(JSON.stringify(rows, null, 2));
      io.out(table(rows.map((r) => ({ ...r, details: JSON.stringify(r.details) })), ['occurredAt', 'actor', 'action', 'targetType', 'targetName', 'details']));
    },
  },
  {
    words: ['migrate'],
    options: {},
    positionals: 0,
    noMigrate: true,
    async run(roster, _args, _flags, io) {
      const applied = await migrate(roster.database);
      io.err(applied.length === 0 ? 'the database is up to date' : `applied ${applied.join(', ')}`);
      if (applied.length > 0) io.out(applied.join('\n'));
    },
  },
];

function parse(argv: string[]): { command: Command; args: string[]; flags: Flags } {
  const command = COMMANDS.find((c) => c.words.every((w, i) => argv[i] === w));
  if (!command) throw new UsageError(argv.length === 0 ? 'no command given' : `unknown command: ${argv.slice(0, 2).join(' ')}`);
  let parsed;
  try {
    parsed = parseArgs({ args: argv.slice(command.words.length), options: command.options, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (parsed.positionals.length !== command.positionals) {
    throw new UsageError(`${command.words.join(' ')} takes ${command.positionals} argument(s), got ${parsed.positionals.length}`);
  }
  return { command, args: parsed.positionals, flags: parsed.values as Flags };
}

/** Runs one command; returns the exit code. */
export async function runCli(argv: string[], env: Record<string, string | undefined>, io: Io): Promise<number> {
  let parsed;
  try {
    parsed = parse(argv);
  } catch (error) {
    io.err(`roster: ${(error as Error).message}\n\n${USAGE}`);
    return 2;
  }
  let roster: Roster | undefined;
  try {
    roster = await openRoster(loadConfig(env), { migrate: !parsed.command.noMigrate, shareRunningEmbedded: true });
    await parsed.command.run(roster, parsed.args, parsed.flags, io);
    return 0;
  } catch (error) {
    if (error instanceof OutputClosed) return 0;
    if (error instanceof UsageError) {
      io.err(`roster: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    if (error instanceof DomainError || error instanceof ConfigError || error instanceof DataDirLockedError) {
      io.err(`roster: ${error.message}`);
      return 1;
    }
    io.err(`roster: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    return 1;
  } finally {
    await roster?.close();
  }
}

/** stdout was closed by its reader (`roster users export | head`): the command stops quietly. */
export class OutputClosed extends Error {
  constructor() {
    super('stdout was closed');
    this.name = 'OutputClosed';
  }
}

if (require.main === module) {
  let closed = false;
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code !== 'EPIPE') throw error;
    closed = true;
  });
  runCli(process.argv.slice(2), process.env, {
    out: (t) => {
      if (closed) throw new OutputClosed();
      process.stdout.write(`${t}\n`);
    },
    err: (t) => process.stderr.write(`${t}\n`),
  }).then((code) => {
    process.exitCode = code;
  });
}
