/**
 * `npm run bench`: seeds a fresh PostgreSQL database, starts the compiled Roster on it,
 * drives it over loopback with autocannon scenario by scenario, and prints a table
 * (and with --write-doc, docs/benchmarks.md). With --sizes it does so at each size in turn,
 * a fresh database each, and writes the cost curve (a side-by-side table and
 * docs/benchmarks-curve.svg). A program that prints figures, not a test.
 * Everything it starts it stops: the server and the baseline are killed and the
 * database is dropped at the end, on an error and on ctrl-c (unless --keep).
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { curveText } from './curve';
import { adminUrl, createFreshDatabase, databaseSize, dropDatabase, migrate, seed, serverInfo, type SeedInfo } from './database';
import { stopLoad } from './load';
import { parseOptions, SCENARIO_NUMBERS, UsageError, USAGE, type BenchOptions } from './options';
import {
  BUILD_DIR,
  Monitor,
  REPO_ROOT,
  buildRoster,
  freePort,
  killChildrenNow,
  peakRss,
  rosterNodeFlags,
  startChild,
  waitUntilHealthy,
  type Child,
} from './processes';
import { newestProfile, summarizeProfile } from './profile';
import { machine, targets, textTable, writeDoc, type Report, type SizeResult } from './report';
import { Interrupted, SCENARIOS, type Context, type Row } from './scenarios';
import { soak } from './soak';
import { AutovacuumStandIn } from './vacuum';

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
  httpBaseline?: Child;
  monitor?: Monitor;
  interrupted: boolean;
}

const state: State = { interrupted: false };
/** PostgreSQL's version() string, read from the first database. */
let serverVersion: string | undefined;
let cleanup: Promise<void> | undefined;

/** Stops what runs and drops the fresh database; safe to call more than once. */
function cleanUp(): Promise<void> {
  cleanup ??= (async () => {
    stopLoad();
    state.monitor?.stop();
    await Promise.all([state.roster?.stop(), state.baseline?.stop(), state.httpBaseline?.stop()].map((p) => p?.catch(() => undefined)));
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
  const args = [...rosterNodeFlags(), ...(profileDir ? ['--cpu-prof', '--cpu-prof-dir', profileDir] : []), path.join(BUILD_DIR, 'src', 'main.js')];
  const child = startChild(name, process.execPath, args, env);
  const url = `http://127.0.0.1:${port}`;
  await waitUntilHealthy(child, `${url}/healthz`);
  return { child, url };
}

/** One of the bare baselines (`baseline-server.ts`, Express; `baseline-http.ts`, node:http) as its own process. */
async function startBaseline(databaseUrl: string, organizationId: string, file: string, name: string): Promise<{ child: Child; url: string }> {
  const port = await freePort();
  const child = startChild(name, process.execPath, ['--import', 'tsx', path.join(REPO_ROOT, 'bench', file)], {
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

/** Drops the size's fresh database (or keeps it with --keep) once its scenarios have run. */
async function finishDatabase(): Promise<void> {
  const created = state.createdDatabase;
  if (!created || !state.admin) return;
  state.createdDatabase = undefined;
  if (state.options?.keep) {
    log(`kept database: ${created.url}`);
    return;
  }
  await dropDatabase(state.admin, created.name);
  log(`dropped database ${created.name}`);
}

interface Run {
  options: BenchOptions;
  selected: number[];
  runId: string;
  date: Date;
  building: Promise<number>;
}

/**
 * A database already seeded for this size, from BENCH_DATABASE_FOR (`10000000=postgres://…`,
 * comma-separated): used as --database-url is (the seed reused, never dropped), so a
 * curve need not seed 10,000,000 users again. Its seed time is then the reuse's.
 */
function seededDatabaseFor(users: number): string | undefined {
  for (const pair of (process.env.BENCH_DATABASE_FOR ?? '').split(',')) {
    const at = pair.indexOf('=');
    if (at > 0 && Number(pair.slice(0, at).trim()) === users) return pair.slice(at + 1).trim();
  }
  return undefined;
}

/** Prepares the database of one size: fresh or given, migrated, seeded; its seed time and size on disk. */
async function prepareDatabase(options: BenchOptions, users: number): Promise<{ url: string; seeded: SeedInfo; seedSeconds: number; databaseBytes: number }> {
  let url: string;
  const given = options.databaseUrl ?? seededDatabaseFor(users);
  if (given) {
    url = given;
    state.admin = undefined;
    log(`database: ${url.replace(/\/\/[^@/]*@/, '//…@')} (given: used as it is, never dropped)`);
  } else {
    state.admin = adminUrl();
    state.createdDatabase = await createFreshDatabase(state.admin);
    url = state.createdDatabase.url;
    log(`database: ${state.createdDatabase.name} (fresh${options.keep ? ', kept at the end' : ', dropped at the end'})`);
  }
  serverVersion ??= (await serverInfo(url)).version;
  const migrateStarted = performance.now();
  await migrate(url);
  log(`migrations applied in ${((performance.now() - migrateStarted) / 1000).toFixed(1)} s`);
  log(`seeding ${users.toLocaleString('en-US')} users:`);
  const seedStarted = performance.now();
  const seeded = await seed(url, users, log);
  const seedSeconds = (performance.now() - seedStarted) / 1000;
  const databaseBytes = await databaseSize(url);
  log(`seeding done in ${seedSeconds.toFixed(1)} s; database ${(databaseBytes / 1024 ** 3).toFixed(2)} GiB on disk (pg_database_size)`);
  return { url, seeded, seedSeconds, databaseBytes };
}

/** Starts the baselines the selected scenarios compare with. */
async function startBaselines(run: Run, databaseUrl: string, organizationId: string): Promise<Partial<Context>> {
  const out: Partial<Context> = {};
  if (run.selected.some((n) => [1, 2, 3, 4, 6].includes(n))) {
    const baseline = await startBaseline(databaseUrl, organizationId, 'baseline-server.ts', 'baseline');
    state.baseline = baseline.child;
    out.baselineUrl = baseline.url;
    out.baselinePid = baseline.child.pid;
    log(`baseline (Express): pid ${baseline.child.pid} at ${baseline.url}`);
  }
  if (run.selected.includes(1)) {
    const http = await startBaseline(databaseUrl, organizationId, 'baseline-http.ts', 'baseline-http');
    state.httpBaseline = http.child;
    out.httpBaselineUrl = http.url;
    out.httpBaselinePid = http.child.pid;
    log(`baseline (node:http): pid ${http.child.pid} at ${http.url}`);
  }
  return out;
}

async function stopServers(): Promise<void> {
  state.monitor?.stop();
  await Promise.all([state.baseline?.stop(), state.httpBaseline?.stop()]);
  state.baseline = undefined;
  state.httpBaseline = undefined;
}

/**
 * One size: the database seeded, the servers started, the scenarios (or the soak) run,
 * the servers stopped and the fresh database dropped. Undefined when interrupted; a
 * number when the soak ran (its exit code).
 */
async function runSize(run: Run, users: number): Promise<SizeResult | number | undefined> {
  const { options } = run;
  const loadAtStart = os.loadavg();
  const { url: databaseUrl, seeded, seedSeconds, databaseBytes } = await prepareDatabase(options, users);
  if (state.interrupted) return undefined;
  const profileDir = options.profile
    ? path.join(REPO_ROOT, 'bench', '.profiles', `${run.date.toISOString().replace(/[:.]/g, '-')}-${run.runId}-${users}`)
    : undefined;
  if (profileDir) mkdirSync(profileDir, { recursive: true });
  await run.building;
  const roster = await startRoster(databaseUrl, profileDir);
  state.roster = roster.child;
  const monitor = new Monitor(roster.child.pid);
  state.monitor = monitor;
  monitor.start();
  log(`roster: pid ${roster.child.pid} at ${roster.url}`);
  const ctx: Context = {
    options: { ...options, users },
    seed: seeded,
    databaseUrl,
    rosterUrl: roster.url,
    baselineUrl: undefined,
    baselinePid: undefined,
    ...(await startBaselines(run, databaseUrl, seeded.organizationId)),
    monitor,
    runId: run.runId,
    log,
    aborted: () => state.interrupted || !roster.child.running(),
    startServer: (overrides, name) => startRoster(databaseUrl, undefined, overrides, name),
  };

  if (options.soak !== undefined) {
    const result = await soak(ctx, options.soak, roster.child.pid);
    for (const line of result.lines) log(line);
    await stopServers();
    await roster.child.stop();
    return result.pass ? 0 : 1;
  }
  const rows: Row[] = [];
  // The host's PostgreSQL may run without autovacuum (this one's CI configuration): the bench stands in (bench/vacuum.ts).
  const vacuum = new AutovacuumStandIn(databaseUrl);
  if (await vacuum.start({ every: '60s' }))
    log('autovacuum is off on this server: the bench applies its rule between scenarios and every 60 s (bench/vacuum.ts)');
  for (const n of run.selected) {
    const scenario = SCENARIOS[n];
    if (!scenario) continue;
    await vacuum.check();
    log(`scenario ${n}: ${scenario.title}`);
    try {
      rows.push(...(await scenario.run(ctx)));
    } catch (error) {
      if (state.interrupted) return undefined;
      if (!roster.child.running()) throw new Error(`the server died during scenario ${n}:\n${roster.child.output()}`);
      if (error instanceof Interrupted) throw error;
      warn(`scenario ${n} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    }
  }
  await vacuum.stop();
  if (vacuum.done.length > 0) log(`autovacuum stand-in, ${vacuum.done.length} run(s):\n  ${vacuum.done.join('\n  ')}`);
  if (!roster.child.running()) throw new Error(`the server died:\n${roster.child.output()}`);

  // Memory, then stop the servers (a profile is written when Roster exits), then the database.
  const peak = peakRss(roster.child.pid);
  await stopServers();
  await roster.child.stop();
  state.roster = undefined;
  let profile: string | undefined;
  if (profileDir) {
    const file = newestProfile(profileDir);
    profile = file ? summarizeProfile(file) : `no profile was written in ${profileDir}`;
  }
  await finishDatabase();
  log('');
  log(`${users.toLocaleString('en-US')} users:`);
  log(textTable(rows));
  log(
    `peak RSS of the server: ${peak !== undefined ? (peak / 1024 / 1024).toFixed(0) : '?'} MB (VmHWM); highest sample ${(monitor.maxRss / 1024 / 1024).toFixed(0)} MB`,
  );
  return {
    users,
    seeding: seeded.reused ? 'reused' : seeded.timings,
    seedSeconds,
    databaseBytes,
    rows,
    peakRss: peak,
    maxSampledRss: monitor.maxRss,
    loadAverage: { start: loadAtStart, end: os.loadavg() },
    ...(profile ? { profile } : {}),
  };
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
  const sizes = options.sizes ?? [options.users];
  const run: Run = { options, selected, runId: randomBytes(3).toString('hex'), date: new Date(), building: buildRoster() };
  run.building.catch(() => undefined);
  run.building.then((seconds) => log(`server compiled into bench/.build in ${seconds.toFixed(1)} s`)).catch(() => undefined);
  log(
    `Roster bench ${run.runId}: ${sizes.map((n) => n.toLocaleString('en-US')).join(', ')} users, ${options.duration} s per scenario, ${options.connections} connections, scenarios ${selected.join(', ')}`,
  );

  const results: SizeResult[] = [];
  for (const users of sizes) {
    if (state.interrupted) return 130;
    if (sizes.length > 1) log(`\n=== ${users.toLocaleString('en-US')} users (size ${results.length + 1} of ${sizes.length}) ===`);
    const result = await runSize(run, users);
    if (result === undefined) return 130;
    if (typeof result === 'number') return result;
    results.push(result);
  }

  const report: Report = {
    machine: { ...machine(serverVersion ?? 'unknown', gitDescription()), loadAverage: results[0]?.loadAverage.start ?? os.loadavg() },
    date: run.date,
    command: options.command,
    duration: options.duration,
    connections: options.connections,
    buildSeconds: await run.building,
    sizes: results,
  };
  log('');
  const last = results[results.length - 1] as SizeResult;
  log(`targets (${last.users.toLocaleString('en-US')} users):`);
  for (const t of targets(last.rows, last.peakRss)) log(`  ${t.verdict.padEnd(7)} ${t.name}${t.detail ? `: ${t.detail}` : ''}`);
  if (results.length > 1) {
    log('\ncost curve:');
    log(curveText(results));
  }
  for (const r of results) if (r.profile) log(`\nCPU profile of the server (${r.users.toLocaleString('en-US')} users):\n${r.profile}`);
  if (options.writeDoc) for (const file of writeDoc(REPO_ROOT, report)) log(`wrote ${path.relative(REPO_ROOT, file)}`);
  return 0;
}

process.on('SIGINT', onSignal);
process.on('SIGTERM', onSignal);
process.on('exit', killChildrenNow);
// The cost curve runs several sizes: four hours each (the options are read again here, before main).
const sizesGiven = process.argv.indexOf('--sizes') >= 0 || process.argv.some((a) => a.startsWith('--sizes='));
const hardLimitMs = sizesGiven ? 3 * HARD_LIMIT_MS : HARD_LIMIT_MS;
const watchdog = setTimeout(() => {
  warn(`still running after ${hardLimitMs / 3_600_000} h: stopping`);
  state.interrupted = true;
  void cleanUp().finally(() => process.exit(1));
}, hardLimitMs);
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
