/**
 * `npm run bench`: seeds a fresh PostgreSQL database, starts the compiled Roster on it,
 * drives it over loopback with autocannon scenario by scenario, and prints a table
 * (and with --write-doc, docs/benchmarks.md). A program that prints figures, not a test.
 * Everything it starts it stops: the server and the baseline are killed and the
 * database is dropped at the end, on an error and on ctrl-c (unless --keep).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { adminUrl, createFreshDatabase, dropDatabase, migrate, seed, serverInfo, type SeedInfo } from './database';
import { stopLoad } from './load';
import { parseOptions, SCENARIO_NUMBERS, UsageError, USAGE, type BenchOptions } from './options';
import { BUILD_DIR, Monitor, REPO_ROOT, buildRoster, freePort, killChildrenNow, peakRss, startChild, waitUntilHealthy, type Child } from './processes';
import { newestProfile, summarizeProfile } from './profile';
import { machine, targets, textTable, writeDoc, type Report } from './report';
import { Interrupted, SCENARIOS, type Context, type Row } from './scenarios';
import { soak } from './soak';

/** However a run goes, it ends by itself within this time. */
const HARD_LIMIT_MS = 4 * 60 * 60_000;

const log = (line: string) => process.stdout.write(`${line}\n`);
const warn = (line: string) => process.stderr.write(`bench: ${line}\n`);

interface State {
  options?: BenchOptions;
  admin?: string;
  createdDatabase?: { name: string; url: string };
  roster?: Child;
  baseline?: Child;
  monitor?: Monitor;
  interrupted: boolean;
}

const state: State = { interrupted: false };
let cleanup: Promise<void> | undefined;

/** Stops what runs and drops the fresh database; safe to call more than once. */
function cleanUp(): Promise<void> {
  cleanup ??= (async () => {
    stopLoad();
    state.monitor?.stop();
    await Promise.all([state.roster?.stop(), state.baseline?.stop()].map((p) => p?.catch(() => undefined)));
    const created = state.createdDatabase;
    if (created && state.admin) {
      if (state.options?.keep) {
        log(`kept database: ${created.url}`);
      } else {
        try {
          await dropDatabase(state.admin, created.name);
          log(`dropped database ${created.name}`);
        } catch (error) {
          warn(`could not drop database ${created.name}: ${error instanceof Error ? error.message : String(error)}`);
        }
      }
    }
  })();
  return cleanup;
}

function onSignal(signal: NodeJS.Signals) {
  if (state.interrupted) {
    // A second ctrl-c: no more waiting.
    killChildrenNow();
    process.exit(130);
  }
  state.interrupted = true;
  warn(`${signal}: stopping (ctrl-c again to quit at once)`);
  stopLoad();
  void cleanUp().finally(() => process.exit(130));
}

function gitDescription(): string {
  try {
    const head = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    const dirty = execFileSync('git', ['status', '--porcelain', '--', 'src', 'migrations'], { cwd: REPO_ROOT, encoding: 'utf8' }).trim();
    return dirty ? `${head} with uncommitted changes in src/ or migrations/` : head;
  } catch {
    return 'unknown';
  }
}

/** Variables the bench never takes from the shell, so that every run sees the same settings (the defaults, or the bench's). */
const UNINHERITED_VARIABLES = [
  'ROSTER_BOOTSTRAP_TOKEN',
  'ROSTER_PUBLIC_URL',
  'ROSTER_DB_POOL_MAX',
  'ROSTER_TRUST_PROXY',
  'ROSTER_MAX_BODY_BYTES',
  'ROSTER_RATE_LIMIT_BURST',
  'ROSTER_RATE_LIMIT_STORE',
  'ROSTER_PASSWORD_HASH_CONCURRENCY',
  'ROSTER_PASSWORD_HASH_QUEUE',
];

/**
 * Starts the compiled Roster on the bench database. `overrides` replace the bench's
 * environment (undefined removes a variable: Roster's default applies).
 */
async function startRoster(
  databaseUrl: string,
  profileDir: string | undefined,
  overrides: Record<string, string | undefined> = {},
  name = 'roster',
): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    PORT: String(port),
    HOST: '127.0.0.1',
    LOG_LEVEL: 'warn',
    // The per-credential rate limit (100/s by default) would answer most of the load with 429.
    ROSTER_RATE_LIMIT_PER_SECOND: '0',
    // Scenario 10's push receiver listens on 127.0.0.1.
    ROSTER_RECEIVERS_ALLOW_PRIVATE: 'true',
    // On unless --request-log off (its A/B).
    ROSTER_REQUEST_LOG: state.options?.requestLog === false ? 'false' : 'true',
  };
  for (const variable of UNINHERITED_VARIABLES) delete env[variable];
  for (const [variable, value] of Object.entries(overrides)) {
    if (value === undefined) delete env[variable];
    else env[variable] = value;
  }
  const args = [...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), path.join(BUILD_DIR, 'src', 'main.js')];
  const child = startChild(name, process.execPath, args, env);
  const url = `http://127.0.0.1:${port}`;
  await waitUntilHealthy(child, `${url}/healthz`);
  return { child, url };
}

async function startBaseline(databaseUrl: string, organizationId: string): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const child = startChild('baseline', process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'bench', 'baseline-server.ts')], {
    ...process.env,
    NODE_ENV: 'production',
    DATABASE_URL: databaseUrl,
    BENCH_ORG_ID: organizationId,
    PORT: String(port),
  });
  const url = `http://127.0.0.1:${port}`;
  await waitUntilHealthy(child, `${url}/healthz`);
  return { child, url };
}

async function main(): Promise<number> {
  let options: BenchOptions;
  try {
    options = parseOptions(process.argv.slice(2));
  } catch (error) {
    if (error instanceof UsageError) {
      if (error.message) process.stderr.write(`bench: ${error.message}\n`);
      process.stderr.write(`${USAGE}\n`);
      return error.message ? 2 : 0;
    }
    throw error;
  }
  state.options = options;
  const selected = SCENARIO_NUMBERS.filter((n) => !options.only || options.only.has(n));
  const runId = randomBytes(3).toString('hex');
  const date = new Date();
  log(
    `Roster bench ${runId}: ${options.users.toLocaleString('en-US')} users, ${options.duration} s per scenario, ${options.connections} connections, scenarios ${selected.join(', ')}`,
  );

  // 1. Build the server while the database is prepared.
  const building = buildRoster();
  building.catch(() => undefined);

  // 2. The database: fresh (dropped at the end) or given.
  let databaseUrl: string;
  if (options.databaseUrl) {
    databaseUrl = options.databaseUrl;
    state.admin = undefined;
    log(`database: ${databaseUrl.replace(/\/\/[^@/]*@/, '//…@')} (given: used as it is, never dropped)`);
  } else {
    state.admin = adminUrl();
    state.createdDatabase = await createFreshDatabase(state.admin);
    databaseUrl = state.createdDatabase.url;
    log(`database: ${state.createdDatabase.name} (fresh${options.keep ? ', kept at the end' : ', dropped at the end'})`);
  }
  if (state.interrupted) return 130;
  const migrateStarted = performance.now();
  await migrate(databaseUrl);
  log(`migrations applied in ${((performance.now() - migrateStarted) / 1000).toFixed(1)} s`);
  log('seeding:');
  const seedStarted = performance.now();
  const seeded: SeedInfo = await seed(databaseUrl, options.users, log);
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  log(`seeding done in ${seedSeconds.toFixed(1)} s`);
  if (state.interrupted) return 130;
  const { version: postgres } = await serverInfo(databaseUrl);

  const buildSeconds = await building;
  log(`server compiled into bench/.build in ${buildSeconds.toFixed(1)} s`);

  // 3. The servers.
  const profileDir = options.profile ? path.join(REPO_ROOT, 'bench', '.profiles', `${date.toISOString().replace(/[:.]/g, '-')}-${runId}`) : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  const roster = await startRoster(databaseUrl, profileDir);
  state.roster = roster.child;
  const monitor = new Monitor(roster.child.pid);
  state.monitor = monitor;
  monitor.start();
  log(`roster: pid ${roster.child.pid} at ${roster.url}`);
  let baselineUrl: string | undefined;
  let baselinePid: number | undefined;
  if (selected.some((n) => n === 1 || n === 2 || n === 6)) {
    const baseline = await startBaseline(databaseUrl, seeded.organizationId);
    state.baseline = baseline.child;
    baselineUrl = baseline.url;
    baselinePid = baseline.child.pid;
    log(`baseline: pid ${baseline.child.pid} at ${baseline.url}`);
  }

  const ctx: Context = {
    options,
    seed: seeded,
    databaseUrl,
    rosterUrl: roster.url,
    baselineUrl,
    baselinePid,
    monitor,
    runId,
    log,
    aborted: () => state.interrupted || !roster.child.running(),
    startServer: (overrides, name) => startRoster(databaseUrl, undefined, overrides, name),
  };

  // 4. The scenarios, or the soak.
  const rows: Row[] = [];
  if (options.soak !== undefined) {
    const result = await soak(ctx, options.soak, roster.child.pid);
    for (const line of result.lines) log(line);
    monitor.stop();
    await state.baseline?.stop();
    await roster.child.stop();
    return result.pass ? 0 : 1;
  }
  for (const n of selected) {
    const scenario = SCENARIOS[n];
    if (!scenario) continue;
    log(`scenario ${n}: ${scenario.title}`);
    try {
      rows.push(...(await scenario.run(ctx)));
    } catch (error) {
      if (state.interrupted) return 130;
      if (!roster.child.running()) throw new Error(`the server died during scenario ${n}:\n${roster.child.output()}`);
      if (error instanceof Interrupted) throw error;
      warn(`scenario ${n} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }
  if (!roster.child.running()) throw new Error(`the server died:\n${roster.child.output()}`);

  // 5. Memory, then stop the server (a profile is written when it exits).
  monitor.stop();
  const peak = peakRss(roster.child.pid);
  await state.baseline?.stop();
  await roster.child.stop();
  let profile: string | undefined;
  if (profileDir) {
    const file = newestProfile(profileDir);
    profile = file ? summarizeProfile(file) : `no profile was written in ${profileDir}`;
  }

  const report: Report = {
    machine: machine(postgres, gitDescription()),
    date,
    command: options.command,
    users: options.users,
    duration: options.duration,
    connections: options.connections,
    seeding: seeded.reused ? 'reused' : seeded.timings,
    buildSeconds,
    rows,
    peakRss: peak,
    maxSampledRss: monitor.maxRss,
    ...(profile ? { profile } : {}),
  };

  log('');
  log(textTable(rows));
  log('');
  log(
    `peak RSS of the server: ${peak !== undefined ? (peak / 1024 / 1024).toFixed(0) : '?'} MB (VmHWM); highest sample ${(monitor.maxRss / 1024 / 1024).toFixed(0)} MB`,
  );
  log('targets:');
  for (const t of targets(rows, peak)) log(`  ${t.verdict.padEnd(7)} ${t.name}${t.detail ? `: ${t.detail}` : ''}`);
  if (profile) log(`\nCPU profile of the server:\n${profile}`);
  if (options.writeDoc) log(`\nwrote ${path.relative(REPO_ROOT, writeDoc(REPO_ROOT, report))}`);
  return 0;
}

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('exit', killChildrenNow);
const watchdog = setTimeout(() => {
  warn(`still running after ${HARD_LIMIT_MS / 3_600_000} h: stopping`);
  state.interrupted = true;
  void cleanUp().finally(() => process.exit(1));
}, HARD_LIMIT_MS);
watchdog.unref();

main()
  .then(async (code) => {
    await cleanUp();
    process.exit(code);
  })
  .catch(async (error) => {
    if (!state.interrupted) warn(error instanceof Error ? (error.stack ?? error.message) : String(error));
    await cleanUp();
    process.exit(state.interrupted ? 130 : 1);
  });
