import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { request } from './load';

export const REPO_ROOT = path.resolve(__dirname, '..');
/** The compiled server lives here, not in dist/: other people build and run dist/ meanwhile. */
export const BUILD_DIR = path.join(REPO_ROOT, 'bench', '.build');

/**
 * The V8 heap flags Roster runs with: those of `npm start` (package.json), which the
 * Dockerfile's CMD repeats (a test keeps them alike). The bench starts its server with
 * them, so that it measures Roster as it runs.
 */
export function rosterNodeFlags(): string[] {
  const { scripts } = JSON.parse(readFileSync(path.join(REPO_ROOT, 'package.json'), 'utf8')) as { scripts: Record<string, string> };
  return heapFlags(scripts.start ?? '');
}

/** The V8 heap flags (`--max-old-space-size=N`, `--max-semi-space-size=N`) of a command line. */
export function heapFlags(commandLine: string): string[] {
  return commandLine.split(/[\s"',[\]]+/).filter((arg) => /^--max-(?:old|semi)-space-size=\d+$/.test(arg));
}

const children = new Set<ChildProcess>();

/** Kills every child still running, at once (last resort on exit). */
export function killChildrenNow(): void {
  for (const child of children) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  }
}

export interface Child {
  name: string;
  pid: number;
  /** The last lines the process wrote (stdout and stderr). */
  output(): string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

export function startChild(name: string, command: string, args: string[], env: NodeJS.ProcessEnv): Child {
  const proc = spawn(command, args, { cwd: REPO_ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
  if (proc.pid === undefined) throw new Error(`${name} could not be started`);
  children.add(proc);
  const lines: string[] = [];
  const keep = (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) {
      if (line.trim() === '') continue;
      lines.push(line.length > 2000 ? `${line.slice(0, 2000)}…` : line);
      if (lines.length > 200) lines.shift();
    }
  };
  proc.stdout?.on('data', keep);
  proc.stderr?.on('data', keep);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    proc.once('exit', (code, signal) => {
      children.delete(proc);
      resolve({ code, signal });
    });
  });
  const running = () => proc.exitCode === null && proc.signalCode === null;
  return {
    name,
    pid: proc.pid,
    output: () => lines.join('\n'),
    exited,
    running,
    async stop(graceMs = 10_000) {
      if (!running()) return;
      proc.kill('SIGTERM');
      const timer = setTimeout(() => proc.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
    },
  };
}

/** A TCP port free on 127.0.0.1 right now. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Polls `url` until it answers 200, the child dies, or `timeoutMs` passes. */
export async function waitUntilHealthy(child: Child, url: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!child.running()) throw new Error(`${child.name} exited during start:\n${child.output()}`);
    try {
      const response = await request(url, { timeoutMs: 2_000 });
      if (response.status === 200) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`${child.name} did not answer ${url} within ${timeoutMs / 1000} s:\n${child.output()}`);
}

/** Compiles src/ and migrations/ with tsconfig.build.json into bench/.build. */
export async function buildRoster(): Promise<number> {
  const started = performance.now();
  const tsc = path.join(REPO_ROOT, 'node_modules', 'typescript', 'bin', 'tsc');
  const child = startChild(
    'tsc',
    process.execPath,
    [tsc, '-p', 'tsconfig.build.json', '--outDir', BUILD_DIR, '--tsBuildInfoFile', path.join(BUILD_DIR, '.tsbuildinfo')],
    process.env,
  );
  const timer = setTimeout(() => void child.stop(1_000), 300_000);
  const { code } = await child.exited;
  clearTimeout(timer);
  // Type errors still emit JavaScript (noEmitOnError is off): report them, run what was emitted.
  if (code !== 0) process.stderr.write(`bench: tsc reported errors (the emitted JavaScript is used anyway):\n${child.output()}\n`);
  return (performance.now() - started) / 1000;
}

function statusField(pid: number, field: 'VmRSS' | 'VmHWM'): number | undefined {
  try {
    const match = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export const peakRss = (pid: number) => statusField(pid, 'VmHWM');
export const currentRss = (pid: number) => statusField(pid, 'VmRSS');

/** utime + stime of a process (all its threads), in seconds; 0 for one that is gone. */
export function cpuSeconds(pid: number | string): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return 0;
  }
}

/**
 * A process's CPU seconds, its main thread's and its other threads' by name (utime +
 * stime of /proc/<pid>/task/*). In Node 20 the others (V8's helpers: the young
 * generation's parallel scavenges, concurrent marking; libuv's pool) are named `node` too.
 */
export function threadCpuSeconds(pid: number | string): Map<string, number> {
  const out = new Map<string, number>();
  let tasks: string[];
  try {
    tasks = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const task of tasks) {
    try {
      const stat = readFileSync(`/proc/${pid}/task/${task}/stat`, 'utf8');
      const comm = stat.slice(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
      const name = task === String(pid) ? 'the main thread' : `other threads named ${comm}`;
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      out.set(name, (out.get(name) ?? 0) + (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // The thread ended meanwhile.
    }
  }
  return out;
}

/** CPU seconds of every process named `postgres` (the server, its backends, WAL writer, checkpointer) visible here, by pid. */
export function postgresCpuSeconds(): Map<string, number> {
  const out = new Map<string, number>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/comm`, 'utf8').trim() === 'postgres') out.set(entry, cpuSeconds(entry));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/** CPU the postgres processes used since `before` (a backend that ended meanwhile is not counted). */
export function postgresCpuSince(before: Map<string, number>): number {
  let total = 0;
  for (const [pid, seconds] of postgresCpuSeconds()) total += Math.max(0, seconds - (before.get(pid) ?? 0));
  return total;
}

export interface CpuWindow {
  /** Cores busy on average: Roster, PostgreSQL, the load generator (this process). */
  server: number;
  postgres: number;
  bench: number;
}

/**
 * Samples Roster's RSS every 500 ms for the whole run and measures, per window (one
 * timed load), Roster's peak RSS and the CPU each party used.
 */
export class Monitor {
  private timer: NodeJS.Timeout | undefined;
  maxRss = 0;
  private windowMaxRss = 0;
  private windowPid = 0;
  private windowStart = { at: 0, server: 0, postgres: new Map<string, number>(), bench: 0 };

  constructor(private readonly pid: number) {}

  start(): void {
    this.sample();
    this.timer = setInterval(() => this.sample(), 500);
    this.timer.unref();
  }

  private sample(): void {
    const rss = statusField(this.pid, 'VmRSS');
    if (rss === undefined) return;
    this.maxRss = Math.max(this.maxRss, rss);
    this.windowMaxRss = Math.max(this.windowMaxRss, rss);
  }

  /** Starts a window; `serverPid` is the process whose CPU counts as the server's (Roster or the baseline). */
  beginWindow(serverPid: number = this.pid): void {
    this.sample();
    this.windowMaxRss = statusField(this.pid, 'VmRSS') ?? 0;
    this.windowPid = serverPid;
    const usage = process.cpuUsage();
    this.windowStart = {
      at: performance.now(),
      server: cpuSeconds(serverPid),
      postgres: postgresCpuSeconds(),
      bench: (usage.user + usage.system) / 1e6,
    };
  }

  endWindow(): { peakRss: number; cpu: CpuWindow } {
    this.sample();
    const seconds = Math.max(0.001, (performance.now() - this.windowStart.at) / 1000);
    const usage = process.cpuUsage();
    return {
      peakRss: this.windowMaxRss,
      cpu: {
        server: (cpuSeconds(this.windowPid) - this.windowStart.server) / seconds,
        postgres: postgresCpuSince(this.windowStart.postgres) / seconds,
        bench: ((usage.user + usage.system) / 1e6 - this.windowStart.bench) / seconds,
      },
    };
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.sample();
  }
}
