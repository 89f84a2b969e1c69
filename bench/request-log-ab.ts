/**
 * An interleaved A/B of the request log, for a shared host where back-to-back bench runs
 * differ by more than the effect: two compiled Rosters on one fresh database, one with
 * ROSTER_REQUEST_LOG on and one off, driven in turn in short bursts (the order
 * alternating each round), each burst measured by its rate and by the server's CPU time
 * per request (utime + stime from /proc/<pid>/stat, so every thread of the process), and
 * PostgreSQL's (every postgres process on the machine: backends, WAL writer, autovacuum)
 * and the load generator's over the same burst. On a shared host whose speed moves, every
 * process's CPU time per request moves with it, the load generator's too, though its work
 * per request is the same on both sides: so each side's CPU per request is also given in
 * units of the load generator's in the same burst, which takes the host's speed out (the
 * pairs' spread was half that of the rates, docs/benchmarks.md, #14).
 *
 *   node node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir bench/.build   (or any `npm run bench`)
 *   ROUNDS=4 SECONDS_PER_BURST=8 npx tsx bench/request-log-ab.ts
 *
 * Scenario 1 is the bench's (GET /Users?filter=userName eq, existing users, here 2,000
 * of them), scenario 3 its POST /Users, scenario 4 its PATCH of `active`, scenario 8 its
 * initial sync (SCENARIOS=1,3,4,8).
 * PROFILE_DIR=<dir> runs both servers under
 * --cpu-prof. The database (roster_reqlog_ab on DATABASE_URL's server, or the local
 * PostgreSQL) is dropped at the end. A program that prints figures, not a test.
 *
 * On the bench's own data instead: seed it once with `npm run bench -- --users 1000000
 * --only 1 --duration 1 --keep`, then `AB_DATABASE=<the URL it printed> AB_USERS=1000000
 * npx tsx bench/request-log-ab.ts`: the servers use that database and the bench's token,
 * scenario 1 looks up its users, and the database is kept (drop it yourself).
 *
 * Two versions of the code instead of the log on and off: build the other one into a
 * directory of its own (`git worktree add /tmp/b <commit>`, then there `node
 * node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir /tmp/b-build
 * --tsBuildInfoFile /tmp/b-build/.tsbuildinfo`: without its own build info, tsc finds
 * nothing changed and writes nothing; and `ln -s <repo>/node_modules /tmp/b-build/`, or
 * that server cannot start) and set `B_BUILD=/tmp/b-build`: side "on" is this build,
 * side "off" that one, both with the log on. With `B_BUILD` set to this build's own
 * directory it is an A/A: what the pairs show then is the bench's bias. `SWAP=1` starts
 * side "off" first, on the first port (the user names a burst creates carry the port): a bias that changes
 * sign with it comes from the sides' positions, not their code. Both servers run with
 * Roster's own heap flags (rosterNodeFlags: npm start's) unless SERVER_NODE_FLAGS is set
 * (`SERVER_NODE_FLAGS=` for none). `B_NODE_FLAGS='<flags>'` runs this build as side "off"
 * too, with those Node flags instead, the log on for both (`B_NODE_FLAGS=` for none): what
 * a runtime flag costs or buys.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { Client } from 'pg';
import { BENCH_SECRET, userId, userName, userNameWidth } from './database';
import { cpuSeconds, peakRss, postgresCpuSeconds, postgresCpuSince, rosterNodeFlags } from './processes';
import { activePatch } from './scenarios';
import { AutovacuumStandIn } from './vacuum';

const ADMIN = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const DB = 'roster_reqlog_ab';
/** A seeded bench database (AB_DATABASE, AB_USERS), or a fresh one of SEED_USERS made here. */
const BENCH_DATABASE = process.env.AB_DATABASE;
const BENCH_USERS = Number(process.env.AB_USERS ?? 0);
const DATABASE = BENCH_DATABASE ?? Object.assign(new URL(ADMIN), { pathname: `/${DB}` }).toString();
const TOKEN = BENCH_DATABASE ? BENCH_SECRET : 'ab-bootstrap-token-0123456789abcdef0123456789';
/** This build (A_BUILD: another directory built as below, to run as side "on" instead). */
const BUILD = path.join(process.env.A_BUILD ?? path.join(__dirname, '.build'), 'src', 'main.js');
/** Another build to compare with this one (see above): it runs as side "off", the log on for both. */
const B_BUILD = process.env.B_BUILD ? path.join(process.env.B_BUILD, 'src', 'main.js') : undefined;
/** Node flags for side "off" instead of SERVER_NODE_FLAGS (the log on for both): one build run two ways. */
const B_NODE_FLAGS = process.env.B_NODE_FLAGS;
const SECONDS = Number(process.env.SECONDS_PER_BURST ?? 5);
const ROUNDS = Number(process.env.ROUNDS ?? 6);
const SEED_USERS = 2_000;
/**
 * SCENARIOS=1 runs only scenario 1 (the default: 1,3); 4 is the bench's PATCH of `active`
 * (random users of the token's organization), 8 its initial sync (a lookup of a new
 * userName, then its POST, on each of the 8 connections; its rate is users/s).
 */
const SCENARIOS = (process.env.SCENARIOS ?? '1,3').split(',').map(Number) as Scenario[];
type Scenario = 1 | 3 | 4 | 8;

type Side = 'on' | 'off';
interface Server {
  side: Side;
  port: number;
  child: ChildProcess;
}

async function sql(url: string, text: string): Promise<Record<string, unknown>[]> {
  const client = new Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query(text)).rows as Record<string, unknown>[];
  } finally {
    await client.end();
  }
}

/** A process's CPU time so far, ms (all threads). */
const cpuMs = (pid: number) => cpuSeconds(pid) * 1000;

async function start(side: Side, port: number): Promise<Server> {
  const profile = process.env.PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', path.join(process.env.PROFILE_DIR, side)] : [];
  // SERVER_NODE_FLAGS: V8 or Node flags for both servers (e.g. --single-threaded-gc, which NODE_OPTIONS refuses); B_NODE_FLAGS: side "off"'s instead.
  // Without either, Roster's own (rosterNodeFlags: npm start's).
  const chosen = side === 'off' && B_NODE_FLAGS !== undefined ? B_NODE_FLAGS : process.env.SERVER_NODE_FLAGS;
  const flags = chosen === undefined ? rosterNodeFlags() : chosen.split(' ').filter(Boolean);
  const child = spawn(process.execPath, [...flags, ...profile, side === 'off' && B_BUILD ? B_BUILD : BUILD], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: DATABASE,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ROSTER_RATE_LIMIT_PER_SECOND: '0',
      ...(BENCH_DATABASE ? {} : { ROSTER_BOOTSTRAP_TOKEN: TOKEN }),
      ROSTER_REQUEST_LOG: side === 'on' || B_BUILD || B_NODE_FLAGS !== undefined ? 'true' : 'false',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (;;) {
    const healthy = await fetch(`http://127.0.0.1:${port}/healthz`).then(
      (res) => res.ok,
      () => false,
    );
    if (healthy) return { side, port, child };
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

let created = 0;
const runId = Date.now().toString(36);
const existingUserName = BENCH_DATABASE
  ? () => userName(1 + Math.floor(Math.random() * BENCH_USERS), userNameWidth(BENCH_USERS))
  : () => `seed.${Math.floor(Math.random() * SEED_USERS)}@example.com`;
const userJson = (userName: string) =>
  JSON.stringify({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName,
    name: { givenName: 'A', familyName: 'B' },
    emails: [{ value: userName, primary: true }],
  });

/**
 * Ids of users of the token's organization, for scenario 4: on the bench's database its
 * seeded ids (bench/database.ts); on this script's own seed, read through the API.
 */
let userIds: string[] = [];
const randomUserId = BENCH_DATABASE
  ? () => userId(1 + Math.floor(Math.random() * BENCH_USERS))
  : () => userIds[Math.floor(Math.random() * userIds.length)] as string;
async function loadUserIds(port: number, total: number): Promise<void> {
  const headers = { authorization: `Bearer ${TOKEN}` };
  for (let page = 0; page < 10; page++) {
    const startIndex = 1 + Math.floor(Math.random() * Math.max(1, total - 100));
    const res = await fetch(`http://127.0.0.1:${port}/scim/v2/Users?startIndex=${startIndex}&count=100&attributes=id`, { headers });
    const body = (await res.json()) as { Resources?: { id: string }[] };
    userIds.push(...(body.Resources ?? []).map((r) => r.id));
  }
  userIds = [...new Set(userIds)];
  if (userIds.length === 0) throw new Error('scenario 4 found no users to PATCH');
}
/** Each user's `active` as last sent: every PATCH changes it (a PATCH that changes nothing writes nothing). Seeded users are active. */
const activeOf = new Map<string, boolean>();
const patchOf = (id: string) => {
  const active = !(activeOf.get(id) ?? true);
  activeOf.set(id, active);
  return activePatch(active);
};

/** Scenario 8's pair of requests: a lookup of a userName nobody has yet, then its POST (the name kept in the connection's context). */
const syncRequests = (server: Server): autocannon.Request[] => [
  {
    method: 'GET',
    setupRequest: (r, context) => {
      const name = `sync.${runId}.${server.port}.${++created}@example.com`;
      (context as { name?: string }).name = name;
      return { ...r, path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${name}"`)}` };
    },
  },
  { method: 'POST', path: '/scim/v2/Users', setupRequest: (r, context) => ({ ...r, body: userJson((context as { name: string }).name) }) },
];

const unitOf = (scenario: Scenario) => (scenario === 8 ? 'users/s' : 'req/s');
const perOf = (scenario: Scenario) => (scenario === 8 ? 'user (a lookup and a create)' : 'request');

/** One burst of a scenario against one server: its rate, req/s (scenario 8: users/s). */
function burst(server: Server, scenario: Scenario): Promise<number> {
  const request: autocannon.Request =
    scenario === 1
      ? {
          method: 'GET',
          setupRequest: (r) => ({
            ...r,
            path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${existingUserName()}"`)}`,
          }),
        }
      : scenario === 3
        ? { method: 'POST', path: '/scim/v2/Users', setupRequest: (r) => ({ ...r, body: userJson(`ab.${runId}.${server.port}.${++created}@example.com`) }) }
        : {
            method: 'PATCH',
            setupRequest: (r) => {
              const id = randomUserId();
              return { ...r, path: `/scim/v2/Users/${id}`, body: patchOf(id) };
            },
          };
  return new Promise((resolve, reject) => {
    autocannon(
      {
        url: `http://127.0.0.1:${server.port}`,
        connections: 8,
        duration: SECONDS,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' },
        requests: scenario === 8 ? syncRequests(server) : [request],
      },
      (error, result) => {
        if (error) return reject(error instanceof Error ? error : new Error(String(error)));
        // Refusals are fast and would inflate the rate: say so (a user the token may not deactivate, say).
        if (result.non2xx > 0) console.log(`  ${server.side}: ${result.non2xx} of ${result.requests.total} responses were not 2xx`);
        resolve(result.requests.total / SECONDS / (scenario === 8 ? 2 : 1));
      },
    );
  });
}

interface Measured {
  rate: number;
  cpu: number;
  pg: number;
  client: number;
}

/** The ratios' geometric mean with its standard error and a 95% interval (±1.96 standard errors of the mean log), as text. */
function geometricMean(ratios: number[]): string {
  const logs = ratios.map(Math.log);
  const mean = logs.reduce((a, b) => a + b, 0) / logs.length;
  const sd = Math.sqrt(logs.reduce((a, b) => a + (b - mean) ** 2, 0) / Math.max(1, logs.length - 1));
  const se = sd / Math.sqrt(logs.length);
  return `geometric mean ${Math.exp(mean).toFixed(3)}, standard error ${se.toFixed(3)}, 95% ${Math.exp(mean - 1.96 * se).toFixed(3)}–${Math.exp(mean + 1.96 * se).toFixed(3)}, n ${logs.length}`;
}

/** The median (of an even count, the mean of the two middle values; until 2026-12-02 the upper one was reported). */
const median = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? (sorted[middle] as number) : ((sorted[middle - 1] as number) + (sorted[middle] as number)) / 2;
};

async function main() {
  if (!BENCH_DATABASE) {
    await sql(ADMIN, `drop database if exists ${DB} with (force)`);
    await sql(ADMIN, `create database ${DB}`);
  } else if (!(BENCH_USERS > 0)) throw new Error('AB_DATABASE needs AB_USERS, the number of users it was seeded with');
  // SWAP=1: side "off" starts first and takes the first port, to tell a difference of position from one of the sides.
  const swap = process.env.SWAP === '1';
  const [on, off] = swap
    ? await start('off', 18601).then(async (first) => [await start('on', 18602), first] as const)
    : await start('on', 18601).then(async (first) => [first, await start('off', 18602)] as const);
  const headers = { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' };
  for (let i = 0; !BENCH_DATABASE && i < SEED_USERS; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        fetch(`http://127.0.0.1:${off.port}/scim/v2/Users`, { method: 'POST', headers, body: userJson(`seed.${i + j}@example.com`) }),
      ),
    );
  }
  if (!BENCH_DATABASE) await sql(DATABASE, 'vacuum analyze');
  if (SCENARIOS.includes(4) && !BENCH_DATABASE) await loadUserIds(on.port, SEED_USERS);
  // Without autovacuum (this host's CI configuration) the dead rows of one side's burst would slow the next side's:
  // autovacuum's rule is applied before each pair of bursts, never during one (bench/vacuum.ts).
  const vacuum = new AutovacuumStandIn(DATABASE);
  if (await vacuum.start({ every: 'check' })) console.log('autovacuum is off on this server: its rule is applied before each pair of bursts (bench/vacuum.ts)');
  const results = new Map<string, Measured[]>();
  /** Requests each side answered, warm-ups included (for per-request figures from a profile). */
  const served: Record<Side, number> = { on: 0, off: 0 };
  for (const scenario of SCENARIOS) {
    for (const server of [on, off]) served[server.side] += (await burst(server, scenario)) * SECONDS; // warm-up
    for (let round = 0; round < ROUNDS; round++) {
      await vacuum.check();
      for (const server of round % 2 === 0 ? [on, off] : [off, on]) {
        const before = cpuMs(server.child.pid as number);
        const pgBefore = postgresCpuSeconds();
        const clientBefore = cpuMs(process.pid);
        const rate = await burst(server, scenario);
        // The writer's last batch of the burst goes out within its flush interval: wait for it, so it counts here.
        await new Promise((resolve) => setTimeout(resolve, 300));
        const count = rate * SECONDS;
        served[server.side] += count;
        const cpu = (cpuMs(server.child.pid as number) - before) / count;
        // Per process (a backend that ended meanwhile is left out, not subtracted).
        const pg = (postgresCpuSince(pgBefore) * 1000) / count;
        const client = (cpuMs(process.pid) - clientBefore) / count;
        const key = `${scenario}-${server.side}`;
        results.set(key, [...(results.get(key) ?? []), { rate, cpu, pg, client }]);
        const load = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
        console.log(
          `scenario ${scenario} round ${round + 1} ${server.side}: ${rate.toFixed(0)} ${unitOf(scenario)}, CPU µs/${perOf(scenario)}: server ${(cpu * 1000).toFixed(0)}, ` +
            `PostgreSQL ${(pg * 1000).toFixed(0)}, load generator ${(client * 1000).toFixed(0)}; load ${load}`,
        );
      }
    }
  }
  for (const scenario of SCENARIOS) {
    const a = results.get(`${scenario}-on`) ?? [];
    const b = results.get(`${scenario}-off`) ?? [];
    const ratios = a.map((x, i) => x.rate / (b[i]?.rate ?? NaN));
    console.log(
      `scenario ${scenario}: on median ${median(a.map((x) => x.rate)).toFixed(0)} ${unitOf(scenario)}, off median ${median(b.map((x) => x.rate)).toFixed(0)} ${unitOf(scenario)}; ` +
        `pair ratios on/off ${ratios.map((r) => r.toFixed(2)).join(' ')} (median ${median(ratios).toFixed(3)}; ${geometricMean(ratios)}); ` +
        `CPU µs/${perOf(scenario)} on ${median(a.map((x) => x.cpu * 1000)).toFixed(0)} off ${median(b.map((x) => x.cpu * 1000)).toFixed(0)}; ` +
        `PostgreSQL's on ${median(a.map((x) => x.pg * 1000)).toFixed(0)} off ${median(b.map((x) => x.pg * 1000)).toFixed(0)}; ` +
        `all three processes' on ${median(a.map((x) => (x.cpu + x.pg + x.client) * 1000)).toFixed(0)} off ${median(b.map((x) => (x.cpu + x.pg + x.client) * 1000)).toFixed(0)}`,
    );
    // The load generator's work per request is the same on both sides; what its CPU time per request does, the host's speed did.
    const inLoadUnits = (cost: (x: Measured) => number) => a.map((x, i) => cost(x) / x.client / (cost(b[i] as Measured) / (b[i] as Measured).client));
    console.log(
      `  CPU per request on/off in units of the load generator's (the host's speed taken out): the server's ${geometricMean(inLoadUnits((x) => x.cpu))}; ` +
        `the server's and PostgreSQL's ${geometricMean(inLoadUnits((x) => x.cpu + x.pg))}`,
    );
  }
  console.log(`requests answered, warm-ups included: on ${served.on.toFixed(0)}, off ${served.off.toFixed(0)}`);
  if (vacuum.done.length > 0) console.log(`autovacuum stand-in, ${vacuum.done.length} run(s):\n  ${vacuum.done.join('\n  ')}`);
  console.log(
    'request_log',
    (await sql(DATABASE, `select count(*)::int as rows, pg_size_pretty(pg_total_relation_size('request_log')) as size from request_log`))[0],
    'request_read_batches',
    (
      await sql(
        DATABASE,
        `select count(*)::int as rows, coalesce(sum(entries), 0)::int as entries, pg_size_pretty(pg_total_relation_size('request_read_batches')) as size from request_read_batches`,
      )
    )[0],
  );
  // Peak resident memory of each server (VmHWM): what a runtime flag such as --max-semi-space-size costs.
  for (const server of [on, off]) {
    const peak = peakRss(server.child.pid as number);
    console.log(`peak RSS ${server.side}: ${peak !== undefined ? (peak / 1024 / 1024).toFixed(0) : '?'} MB`);
  }
  for (const server of [on, off]) server.child.kill('SIGTERM');
  await new Promise((resolve) => setTimeout(resolve, 2_000));
  if (!BENCH_DATABASE) await sql(ADMIN, `drop database if exists ${DB} with (force)`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
