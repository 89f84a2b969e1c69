/**
 * The operator's command line: `npm run --silent roster -- <command>`.
 * stdout carries only the result, so scripts can capture it; messages go to stderr.
 * Unknown commands and bad arguments print usage on stderr and exit 2.
 */
import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from './config';
import type { Credential } from './domain/credential';
import { DomainError } from './domain/errors';
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

if (require.main === module) {
  runCli(process.argv.slice(2), process.env, {
    out: (t) => process.stdout.write(`${t}\n`),
    err: (t) => process.stderr.write(`${t}\n`),
  }).then((code) => {
    process.exitCode = code;
  });
}
