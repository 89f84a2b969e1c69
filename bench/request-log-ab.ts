/**
 * Interleaved A/B of the request log: two compiled Rosters on one database, one with the
 * log on and one off, driven in turn (short bursts, order alternating), measuring each
 * burst's rate and the server's CPU time per request (/proc/<pid>/stat).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import autocannon from 'autocannon';
import { Client } from 'pg';

const ADMIN = 'postgres://postgres@127.0.0.1:5432/postgres';
const DB = 'roster_reqlog_ab';
const URL_ = `postgres://postgres@127.0.0.1:5432/${DB}`;
const TOKEN = 'ab-bootstrap-token-0123456789abcdef0123456789';
const BUILD = path.join(__dirname, '.build', 'src', 'main.js');
const SECONDS = Number(process.env.SECONDS_PER_BURST ?? 5);
const ROUNDS = Number(process.env.ROUNDS ?? 6);
const tick = 100; // USER_HZ

async function sql(url: string, text: string, values: unknown[] = []) {
  const c = new Client({ connectionString: url });
  await c.connect();
  try {
    return await c.query(text, values);
  } finally {
    await c.end();
  }
}

function cpuMs(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / tick;
}

function start(port: number, log: boolean): Promise<ChildProcess> {
  const profile = process.env.PROFILE_DIR ? ['--cpu-prof', '--cpu-prof-dir', path.join(process.env.PROFILE_DIR, log ? 'on' : 'off')] : [];
  const child = spawn(process.execPath, [...profile, BUILD], {
    env: {
      ...process.env,
      NODE_ENV: 'production',
      DATABASE_URL: URL_,
      PORT: String(port),
      HOST: '127.0.0.1',
      LOG_LEVEL: 'warn',
      ROSTER_RATE_LIMIT_PER_SECOND: '0',
      ROSTER_BOOTSTRAP_TOKEN: TOKEN,
      ROSTER_REQUEST_LOG: log ? 'true' : 'false',
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  return new Promise((resolve) => {
    const poll = async () => {
      try {
        if ((await fetch(`http://127.0.0.1:${port}/healthz`)).ok) return resolve(child);
      } catch {}
      setTimeout(poll, 200);
    };
    void poll();
  });
}

let seq = 0;
function burst(port: number, scenario: 1 | 3): Promise<number> {
  return new Promise((resolve, reject) => {
    const inst = autocannon(
      {
        url: `http://127.0.0.1:${port}`,
        connections: 8,
        duration: SECONDS,
        headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' },
        requests: [
          scenario === 1
            ? {
                method: 'GET',
                setupRequest: (r: any) => ({
                  ...r,
                  path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "seed.${Math.floor(Math.random() * 2000)}@example.com"`)}`,
                }),
              }
            : {
                method: 'POST',
                path: '/scim/v2/Users',
                setupRequest: (r: any) => ({
                  ...r,
                  body: JSON.stringify({
                    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
                    userName: `ab.${process.pid}.${++seq}@example.com`,
                    name: { givenName: 'A', familyName: 'B' },
                    emails: [{ value: `ab.${seq}@example.com`, primary: true }],
                  }),
                }),
              },
        ],
      } as any,
      (err: unknown, result: any) => (err ? reject(err) : resolve(result.requests.total / SECONDS)),
    );
    void inst;
  });
}

async function main() {
  await sql(ADMIN, `drop database if exists ${DB} with (force)`);
  await sql(ADMIN, `create database ${DB}`);
  const on = await start(18601, true);
  const off = await start(18602, false);
  // seed 2,000 users through SCIM (the off server: no log rows)
  for (let i = 0; i < 2000; i += 50) {
    await Promise.all(
      Array.from({ length: 50 }, (_, j) =>
        fetch('http://127.0.0.1:18602/scim/v2/Users', {
          method: 'POST',
          headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/scim+json' },
          body: JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: `seed.${i + j}@example.com` }),
        }),
      ),
    );
  }
  await sql(URL_, 'vacuum analyze');
  const results: Record<string, { rate: number; cpu: number }[]> = {};
  for (const scenario of [1, 3] as const) {
    // warm-up both
    for (const [port] of [[18601], [18602]]) await new Promise((r) => setTimeout(r, 10)).then(() => burst(port, scenario));
    for (let round = 0; round < ROUNDS; round++) {
      const order: ['on' | 'off', ChildProcess, number][] =
        round % 2 === 0
          ? [
              ['on', on, 18601],
              ['off', off, 18602],
            ]
          : [
              ['off', off, 18602],
              ['on', on, 18601],
            ];
      for (const [side, child, port] of order) {
        const before = cpuMs(child.pid!);
        const rate = await burst(port, scenario);
        const cpu = (cpuMs(child.pid!) - before) / (rate * SECONDS);
        (results[`${scenario}-${side}`] ??= []).push({ rate, cpu });
        console.log(
          `scenario ${scenario} round ${round + 1} ${side}: ${rate.toFixed(0)} req/s, server CPU ${(cpu * 1000).toFixed(0)} µs/request, load ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 1)}`,
        );
      }
    }
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  for (const scenario of [1, 3]) {
    const a = results[`${scenario}-on`],
      b = results[`${scenario}-off`];
    const ratios = a.map((x, i) => x.rate / b[i].rate);
    console.log(
      `scenario ${scenario}: on median ${median(a.map((x) => x.rate)).toFixed(0)} req/s, off median ${median(b.map((x) => x.rate)).toFixed(0)} req/s; pair ratios on/off ${ratios.map((r) => r.toFixed(2)).join(' ')} (median ${median(ratios).toFixed(3)}); CPU µs/request on ${median(a.map((x) => x.cpu * 1000)).toFixed(0)} off ${median(b.map((x) => x.cpu * 1000)).toFixed(0)}`,
    );
  }
  const rows = await sql(URL_, "select count(*)::int as n, pg_size_pretty(pg_total_relation_size('request_log')) as size from request_log");
  console.log('request_log rows', rows.rows[0]);
  on.kill('SIGTERM');
  off.kill('SIGTERM');
  await new Promise((r) => setTimeout(r, 2000));
  await sql(ADMIN, `drop database if exists ${DB} with (force)`);
}
main().catch((e) => {
  console.error(e);
  process.exit(1);
});
