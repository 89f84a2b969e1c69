import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openDatabase, type Database } from '../../src/orm/database';
import { openTestDatabase } from './database';

const ROOT = path.resolve(__dirname, '../..');
/** Node with tsx's loader in the same process (the tsx CLI would fork a child a SIGKILL leaves running). */
const NODE = process.execPath;
const TSX_ARGS = ['--import', 'tsx'];

/**
 * A database for Roster processes the test starts: a fresh database on the server of
 * DATABASE_URL, or an embedded data directory in a temporary folder.
 */
export interface ProcessDatabase {
  env: Record<string, string>;
  /** Opens the same database in this process (when no Roster process holds it). */
  open(): Promise<Database>;
  cleanup(): Promise<void>;
}

export async function processDatabase(): Promise<ProcessDatabase> {
  if (process.env.DATABASE_URL) {
    const database = await openTestDatabase({ poolMax: 2 });
    const url = database.url;
    await database.orm.close(true);
    return {
      env: { DATABASE_URL: url },
      open: () => openDatabase({ url, poolMax: 2 }),
      cleanup: () => database.close(),
    };
  }
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roster-process-'));
  return {
    env: { ROSTER_DATA_DIR: dataDir },
    open: () => openDatabase({ dataDir, poolMax: 2 }),
    cleanup: async () => fs.rmSync(dataDir, { recursive: true, force: true }),
  };
}

/** Environment for a child: this one without DATABASE_URL and ROSTER_*, plus `extra`. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) {
    if (k !== 'DATABASE_URL' && !k.startsWith('ROSTER_') && k !== 'PORT' && k !== 'NODE_OPTIONS') env[k] = v;
  }
  return { ...env, LOG_LEVEL: 'info', ...extra };
}

export interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function run(args: string[], env: Record<string, string>, timeoutMs = 60_000, input?: string): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [...TSX_ARGS, ...args], { cwd: ROOT, env: childEnv(env), stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (input !== undefined) child.stdin?.end(input);
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d) => (stdout += d));
    child.stderr?.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

export const cli = (args: string[], env: Record<string, string>, input?: string) => run(['src/cli.ts', ...args], env, 60_000, input);

/** A Roster server process; resolves once it listens, with its port. */
export function startServer(env: Record<string, string>): Promise<{ child: ChildProcess; port: number; output: () => string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(NODE, [...TSX_ARGS, 'src/main.ts'], {
      cwd: ROOT,
      env: childEnv({ PORT: '0', HOST: '127.0.0.1', ...env }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`server did not start:\n${output}`));
    }, 90_000);
    const onData = (d: Buffer) => {
      output += d;
      const match = /"port":(\d+)[^\n]*Roster listening/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve({ child, port: Number(match[1]), output: () => output });
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code}:\n${output}`));
    });
  });
}

/** Sends a signal and resolves with the exit code and how long the exit took. */
export function stopServer(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<{ code: number | null; ms: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    child.removeAllListeners('exit');
    child.once('exit', (code) => resolve({ code, ms: Date.now() - started }));
    child.kill(signal);
  });
}
