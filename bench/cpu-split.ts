/**
 * Where a scenario's CPU goes, per request: one compiled Roster on a seeded bench
 * database, driven by autocannon (8 connections), and the CPU time of the server and of
 * each PostgreSQL process over the timed run (utime + stime from /proc), each backend
 * named by the last statement it ran (pg_stat_activity). The request log's writer is the
 * backend whose last statement is `insert into request_log` or, for a batch that held
 * successful reads, the one taking their ids or `insert into request_read_batches`. On a shared host, CPU time
 * per request varies far less than the rate does. A program that prints figures, not a test.
 *
 *   node node_modules/typescript/bin/tsc -p tsconfig.build.json --outDir bench/.build --tsBuildInfoFile bench/.build/.tsbuildinfo
 *   AB_DATABASE=<a bench database> AB_USERS=1000000 [SCENARIO=1|3|4] [LOG=true|false] [SECONDS=10] [WARMUP=6] [BUILD=<main.js>] npx tsx bench/cpu-split.ts
 *
 * The warm-up (6 s by default) outlasts the writer's first prune (5 s after start), so
 * the timed run holds only steady-state work. Truncate `request_log` and `request_read_batches` between runs to
 * keep the prune's per-organization cap out of it too. The server runs with Roster's own
 * heap flags (rosterNodeFlags: npm start's); SERVER_FLAGS adds Node flags to
 * the server (`--cpu-prof --cpu-prof-dir <dir>`). The server's CPU is also given by
 * thread: its main thread's, V8's helpers' (young-generation collections run partly
 * there, which a main-thread profile does not show) and libuv's pool's.
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import autocannon from 'autocannon';
import { Client } from 'pg';
import { BENCH_SECRET, userId, userName, userNameWidth } from './database';
import { activePatch } from './scenarios';
import { cpuSeconds, postgresCpuSeconds, rosterNodeFlags, threadCpuSeconds } from './processes';

const DATABASE = process.env.AB_DATABASE;
const USERS = Number(process.env.AB_USERS ?? 0);
const BUILD = process.env.BUILD ?? path.join(__dirname, '.build', 'src', 'main.js');
const SCENARIO = process.env.SCENARIO ?? '1';
const PORT = 18611;
/** A process's CPU time so far, ms (all threads). */
const cpuMs = (pid: number) => cpuSeconds(pid) * 1000;

/** Every PostgreSQL process's CPU time so far, ms, by pid. */
function postgresCpu(): Map<string, number> {
  return new Map([...postgresCpuSeconds()].map(([pid, seconds]) => [pid, seconds * 1000]));
}

let created = 0;
/** Scenario 4: each connection disables a random seeded user, then enables that user again (every PATCH changes something), as the bench does. */
const toggles: autocannon.Request[] = [false, true].map((active) => ({
  method: 'PATCH',
  setupRequest: (r: autocannon.Request, context: object) => {
    const client = context as { user?: string };
    if (!active) client.user = userId(1 + Math.floor(Math.random() * USERS));
    return { ...r, method: 'PATCH', path: `/scim/v2/Users/${client.user}`, body: activePatch(active) };
  },
}));
function run(seconds: number): Promise<number> {
  const request: autocannon.Request =
    SCENARIO === '1'
      ? {
          method: 'GET',
          setupRequest: (r) => ({
            ...r,
            path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "${userName(1 + Math.floor(Math.random() * USERS), userNameWidth(USERS))}"`)}`,
          }),
        }
      : {
          method: 'POST',
          path: '/scim/v2/Users',
          setupRequest: (r) => {
            const name = `split.${Date.now().toString(36)}.${++created}@example.com`;
            const body = {
              schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
              userName: name,
              name: { givenName: 'A', familyName: 'B' },
              emails: [{ value: name, primary: true }],
            };
            return { ...r, body: JSON.stringify(body) };
          },
        };
  return new Promise((resolve, reject) =>
    autocannon(
      {
        url: `http://127.0.0.1:${PORT}`,
        connections: 8,
        duration: seconds,
        headers: { authorization: `Bearer ${BENCH_SECRET}`, 'content-type': 'application/scim+json' },
        requests: SCENARIO === '4' ? toggles : [request],
      },
      (error, result) => (error ? reject(error instanceof Error ? error : new Error(String(error))) : resolve(result.requests.total)),
    ),
  );
}

async function main() {
  if (!DATABASE || !(USERS > 0)) throw new Error('set AB_DATABASE and AB_USERS (a database seeded by `npm run bench -- --users N --keep`)');
  const server = spawn(process.execPath, [...rosterNodeFlags(), ...(process.env.SERVER_FLAGS ?? '').split(' ').filter(Boolean), BUILD], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: DATABASE,
      PORT: String(PORT),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'error',
      ROSTER_RATE_LIMIT_PER_SECOND: '0',
      ROSTER_REQUEST_LOG: process.env.LOG ?? 'true',
    },
    stdio: 'inherit',
  });
  for (;;) {
    if (
      await fetch(`http://127.0.0.1:${PORT}/healthz`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  const client = new Client({ connectionString: DATABASE });
  await client.connect();
  try {
    await run(Number(process.env.WARMUP ?? 6));
    const stats = async () =>
      (
        await client.query<{ ins: number; del: number }>(
          `select n_tup_ins::int as ins, n_tup_del::int as del from pg_stat_user_tables where relname = 'request_log'`,
        )
      ).rows[0];
    // pg_stat_bgwriter's buffers_backend and buffers_checkpoint are gone in PostgreSQL 17: there the line is left out.
    const io = async (): Promise<Record<string, number>> =>
      (
        await client.query<Record<string, number>>(
          `select (select blks_read from pg_stat_database where datname = current_database())::float8 as read,
                  (select blks_hit from pg_stat_database where datname = current_database())::float8 as hit,
                  buffers_backend::float8 as backend_writes, buffers_clean::float8 as cleaner_writes, buffers_checkpoint::float8 as checkpoint_writes
           from pg_stat_bgwriter`,
        )
      ).rows[0] as Record<string, number>;
    const ioOrNone = () => io().catch(() => ({}) as Record<string, number>);
    const ioBefore = await ioOrNone();
    const statsBefore = await stats();
    const before = postgresCpu();
    const serverBefore = cpuMs(server.pid as number);
    const threadsBefore = threadCpuSeconds(server.pid as number);
    const requests = await run(Number(process.env.SECONDS ?? 10));
    await new Promise((resolve) => setTimeout(resolve, 300)); // the writer's last batch
    const after = postgresCpu();
    const serverCpu = cpuMs(server.pid as number) - serverBefore;
    const threads = [...threadCpuSeconds(server.pid as number)].map(([name, seconds]) => [name, seconds - (threadsBefore.get(name) ?? 0)] as const);
    const names = new Map(
      (
        await client.query<{ pid: number; what: string }>(`select pid, backend_type || ': ' || coalesce(left(query, 48), '') as what from pg_stat_activity`)
      ).rows.map((r) => [r.pid, r.what.replace(/\s+/g, ' ')]),
    );
    await new Promise((resolve) => setTimeout(resolve, 500)); // the statistics collector
    const statsAfter = await stats();
    const ioAfter = await ioOrNone();
    console.log(
      `scenario ${SCENARIO}, request log ${process.env.LOG ?? 'true'}: ${requests} requests; request_log rows inserted ${(statsAfter?.ins ?? 0) - (statsBefore?.ins ?? 0)}, deleted ${(statsAfter?.del ?? 0) - (statsBefore?.del ?? 0)}`,
    );
    if (Object.keys(ioAfter).length > 0)
      console.log(
        `  buffers per request: ${Object.keys(ioAfter)
          .map((k) => `${k} ${(((ioAfter[k] ?? 0) - (ioBefore[k] ?? 0)) / requests).toFixed(2)}`)
          .join(', ')}`,
      );
    console.log(`  ${((serverCpu * 1000) / requests).toFixed(1).padStart(7)} µs/request  the server (node), by thread:`);
    for (const [name, seconds] of threads.filter(([, seconds]) => seconds > 0).sort((a, b) => b[1] - a[1]))
      console.log(`  ${((seconds * 1e6) / requests).toFixed(1).padStart(9)}  ${name}`);
    const byWhat = new Map<string, number>();
    let total = 0;
    for (const [pid, ms] of after) {
      const spent = ms - (before.get(pid) ?? 0);
      if (spent <= 0) continue;
      total += spent;
      const what = names.get(Number(pid)) ?? 'a process that ended, or an auxiliary one';
      byWhat.set(what, (byWhat.get(what) ?? 0) + spent);
    }
    console.log(`  ${((total * 1000) / requests).toFixed(1).padStart(7)} µs/request  PostgreSQL, all processes:`);
    for (const [what, ms] of [...byWhat].sort((a, b) => b[1] - a[1])) console.log(`  ${((ms * 1000) / requests).toFixed(1).padStart(9)}  ${what}`);
  } finally {
    await client.end();
    server.kill('SIGTERM');
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
