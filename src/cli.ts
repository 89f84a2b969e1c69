#!/usr/bin/env node
/**
 * The operator's command line: `roster <command>` (the package's `bin`, compiled to
 * dist/src/cli.js; on PATH in the Docker image), or `npm run --silent roster -- <command>`
 * in a source checkout.
 * stdout carries only the result, so scripts can capture it; messages go to stderr.
 * Unknown commands and bad arguments print usage on stderr and exit 2.
 * The commands themselves are the table in cli/commands.ts.
 */
import { parseArgs } from 'node:util';
import { UsageError, type Command, type Flags, type Io } from './cli/command';
import { COMMANDS } from './cli/commands';
import { asksForHelp, USAGE } from './cli/usage';
import { ConfigError, loadConfig } from './config';
import { DomainError } from './domain/errors';
import { DataDirLockedError } from './orm/embedded';
import { openRoster, type Roster } from './roster';

export { UsageError, type Io } from './cli/command';
export { USAGE } from './cli/usage';

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
  if (asksForHelp(argv)) {
    io.out(USAGE);
    return 0;
  }
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
    input: async () => {
      let text = '';
      for await (const chunk of process.stdin) text += String(chunk);
      return text;
    },
  }).then((code) => {
    process.exitCode = code;
  });
}
