import type { Roster } from '../roster';

/** A bad command line: the CLI prints the message and the usage, and exits 2. */
export class UsageError extends Error {}

export interface Io {
  out(text: string): void;
  err(text: string): void;
  /** All of stdin, for commands that read a secret from it (admin create). */
  input?(): Promise<string>;
}

export type Flags = Record<string, string | boolean | undefined>;

/** What a command does with the roster, its positional arguments and its flags. */
export type Handler = (roster: Roster, args: string[], flags: Flags, io: Io) => Promise<void>;

export interface Command {
  words: string[];
  options: Record<string, { type: 'string' | 'boolean' }>;
  positionals: number;
  /** Commands that open the database without applying migrations first. */
  noMigrate?: boolean;
  run: Handler;
}

/** Option kinds: a --json switch, a flag with a text value. */
export const json = { type: 'boolean' } as const;
export const text = { type: 'string' } as const;

export function required(flags: Flags, name: string): string {
  const value = flags[name];
  if (typeof value !== 'string' || value === '') throw new UsageError(`--${name} is required`);
  return value;
}
