/**
 * Scenario 10, time to deprovision (#13 item 7): a push receiver in the bench process
 * (127.0.0.1; the bench's Roster runs with ROSTER_RECEIVERS_ALLOW_PRIVATE=true), scenario
 * 3's creates as background write load, and meanwhile one spare user after another
 * PATCHed `active: false`. Each sample is the time from that PATCH's response to the
 * receiver's receipt of the SET whose `sub_id` is the user and whose events include
 * `…:prov:deactivate`. Run twice: 10a with a receiver of every event (the creates' too),
 * as a receiver registered with the defaults is; 10b with a receiver of deactivates only
 * (`--events …:prov:deactivate`, the README's "Reacting to deprovisioning" receiver).
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import type autocannon from 'autocannon';
import pg from 'pg';
import { BENCH_ORG_SLUG, BENCH_SECRET, SPARE_USERS, spareId } from './database';
import { cannon, percentile, request, type LoadResult } from './load';
import { BUILD_DIR, REPO_ROOT } from './processes';
import type { Context, Row } from './scenarios';

const DEACTIVATE = 'urn:ietf:params:scim:event:prov:deactivate';
const SCIM_JSON = 'application/scim+json';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
/** How long one deactivate may take to arrive before it counts as lost. */
const GIVE_UP_MS = 10_000;
/** Between one deactivate's arrival and the next PATCH. */
const PAUSE_MS = 50;

const headers = (): Record<string, string> => ({ authorization: `Bearer ${BENCH_SECRET}`, accept: SCIM_JSON, 'content-type': SCIM_JSON });
const activePatch = (active: boolean) => JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: active }] });
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** The payload of a compact JWS, unverified (the bench measures arrival, the tests verify signatures). */
function payloadOf(set: string): { sub_id?: { id?: string }; events?: Record<string, unknown> } {
  try {
    return JSON.parse(Buffer.from(set.split('.')[1] ?? '', 'base64url').toString('utf8'));
  } catch {
    return {};
  }
}

/** A receiver on 127.0.0.1 that answers 202 and notes when each user's deactivate arrived. */
class Receiver {
  readonly arrived = new Map<string, number>();
  received = 0;
  onSet: (at: number) => void = () => undefined;
  private readonly server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const at = performance.now();
      this.received += 1;
      this.onSet(at);
      const payload = payloadOf(Buffer.concat(chunks).toString('utf8'));
      if (payload.sub_id?.id && payload.events && DEACTIVATE in payload.events && !this.arrived.has(payload.sub_id.id)) this.arrived.set(payload.sub_id.id, at);
      res.writeHead(202).end();
    });
  });

  async start(): Promise<string> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}/events`;
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }
}

/** Runs the compiled CLI on the bench database; its stdout. */
function cli(ctx: Context, args: string[]): string {
  return execFileSync(process.execPath, [path.join(BUILD_DIR, 'src', 'cli.js'), ...args], {
    cwd: REPO_ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, DATABASE_URL: ctx.databaseUrl, ROSTER_RECEIVERS_ALLOW_PRIVATE: 'true', LOG_LEVEL: 'warn' },
  }).trim();
}

async function waitFor(receiver: Receiver, id: string): Promise<number | undefined> {
  const end = performance.now() + GIVE_UP_MS;
  while (performance.now() < end) {
    const at = receiver.arrived.get(id);
    if (at !== undefined) return at;
    await sleep(1);
  }
  return undefined;
}

/** The spare users probed so far (each run of the scenario takes the next ones). */
let spareOffset = 0;

/** Creates as scenario 3 sends them, for `seconds`. */
function createLoad(ctx: Context, key: string, seconds: number): Promise<LoadResult> {
  let n = 0;
  return cannon({
    url: ctx.rosterUrl,
    connections: ctx.options.connections,
    duration: seconds,
    requests: [
      {
        method: 'POST',
        setupRequest: (req: autocannon.Request) => {
          n += 1;
          const userName = `x-deprov-${ctx.runId}-${key}-${n}@bench.example`;
          const body = {
            schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
            userName,
            name: { givenName: 'Load', familyName: `User ${n}` },
            active: true,
          };
          return { ...req, method: 'POST', path: '/scim/v2/Users', headers: headers(), body: JSON.stringify(body) };
        },
      },
    ],
  });
}

export async function scenario10(ctx: Context): Promise<Row[]> {
  return [...(await deprovision(ctx, '10a', 'every event')), ...(await deprovision(ctx, '10b', 'deactivates only', DEACTIVATE)), await drain(ctx)];
}

/** Scenario 10c's backlog: this many users, each a create:notice then a deactivate, written in one statement. */
const BACKLOG_USERS = 2_500;
const DRAIN_LIMIT_MS = 120_000;

/**
 * 10c, delivery's capacity: a backlog of 5,000 events (2,500 users, each a create and a
 * deactivate) committed at once to the outbox of an organization with one receiver of
 * every event, timed from the commit to the receiver's 5,000th SET, with no other load.
 * The rate is SETs per second; p50 and p99 are each SET's wait from the commit.
 */
async function drain(ctx: Context): Promise<Row> {
  const receiver = new Receiver();
  const arrivals: number[] = [];
  receiver.onSet = (at) => arrivals.push(at);
  const url = await receiver.start();
  const receiverId = cli(ctx, ['receiver', 'add', '--org', BENCH_ORG_SLUG, '--url', url]);
  const total = BACKLOG_USERS * 2;
  const client = new pg.Client({ connectionString: ctx.databaseUrl });
  await client.connect();
  try {
    ctx.monitor.beginWindow();
    await client.query(
      `insert into provisioning_events (organization_id, resource_type, resource_id, event_uris, attributes, txn)
       select o.id, 'User', md5('drain-' || $2 || '-' || u)::uuid, e.uris, e.attributes, 'drain-' || $2 || '-' || u || '-' || e.n
       from organizations o, generate_series(1, $3::int) u,
         (values (1, '["urn:ietf:params:scim:event:prov:create:notice"]'::jsonb, '["userName"]'::jsonb),
                 (2, '["urn:ietf:params:scim:event:prov:patch:notice","urn:ietf:params:scim:event:prov:deactivate"]'::jsonb, '["active"]'::jsonb)) e(n, uris, attributes)
       where o.slug = $1 order by u, e.n`,
      [BENCH_ORG_SLUG, ctx.runId, BACKLOG_USERS],
    );
    const committed = performance.now();
    while (arrivals.length < total && performance.now() - committed < DRAIN_LIMIT_MS && !ctx.aborted()) await sleep(5);
    const seconds = ((arrivals.at(-1) ?? performance.now()) - committed) / 1000;
    const window = ctx.monitor.endWindow();
    const waits = arrivals.map((at) => at - committed).sort((a, b) => a - b);
    const row: Row = {
      key: '10c',
      scenario: 10,
      label: `delivery's capacity: a backlog of ${total.toLocaleString('en-US')} events (${BACKLOG_USERS.toLocaleString('en-US')} users × create, deactivate) committed at once, drained to one 127.0.0.1 receiver of every event; rate = SETs/s`,
      unit: 'req/s',
      rate: arrivals.length / seconds,
      p50: Math.round(percentile(waits, 50)),
      p99: Math.round(percentile(waits, 99)),
      non2xx: 0,
      errors: total - arrivals.length,
      peakRss: window.peakRss,
      cpu: window.cpu,
      problems: arrivals.length < total ? [`${total - arrivals.length} SETs not received within ${DRAIN_LIMIT_MS / 1000} s`] : [],
      statusCounts: { '202': arrivals.length },
      extra: `${arrivals.length.toLocaleString('en-US')} SETs in ${seconds.toFixed(1)} s`,
    };
    ctx.log(`  10c      ${row.rate.toFixed(0)} SETs/s  (${row.extra})`);
    return row;
  } finally {
    await client.end();
    cli(ctx, ['receiver', 'remove', receiverId]);
    await receiver.close();
  }
}

async function deprovision(ctx: Context, key: string, kind: string, events?: string): Promise<Row[]> {
  const receiver = new Receiver();
  const url = await receiver.start();
  const receiverId = cli(ctx, ['receiver', 'add', '--org', BENCH_ORG_SLUG, '--url', url, ...(events ? ['--events', events] : [])]);
  const probed: string[] = [];
  try {
    const problems: string[] = [];
    const samples: number[] = [];
    let lost = 0;
    ctx.monitor.beginWindow();
    const started = performance.now();
    const loading = createLoad(ctx, key, ctx.options.duration);
    let loadDone = false;
    void loading.finally(() => (loadDone = true)).catch(() => undefined);
    while (!loadDone && !ctx.aborted() && spareOffset < SPARE_USERS) {
      const id = spareId(++spareOffset);
      // Active first (untimed: a user already inactive would announce no deactivate).
      const on = await request(`${ctx.rosterUrl}/scim/v2/Users/${id}`, { method: 'PATCH', headers: headers(), body: activePatch(true) });
      const off = await request(`${ctx.rosterUrl}/scim/v2/Users/${id}`, { method: 'PATCH', headers: headers(), body: activePatch(false) });
      const answered = performance.now();
      probed.push(id);
      if (on.status !== 204 || off.status !== 204) {
        problems.push(`PATCH answered ${on.status}/${off.status}: ${off.text.slice(0, 200)}`);
        break;
      }
      const at = await waitFor(receiver, id);
      if (at === undefined) lost += 1;
      // The SET may arrive before the bench has read the 204: that counts as 0 ms.
      else samples.push(Math.max(0, at - answered));
      await sleep(PAUSE_MS);
    }
    const load = await loading;
    const seconds = (performance.now() - started) / 1000;
    const window = ctx.monitor.endWindow();
    if (lost > 0) problems.push(`${lost} deactivate(s) not received within ${GIVE_UP_MS / 1000} s`);
    if (samples.length === 0) problems.push('no deactivate measured');
    const sorted = [...samples].sort((a, b) => a - b);
    const loadRow: Row = {
      key: `${key}-load`,
      scenario: 10,
      label: `background write load of ${key}: POST /Users (unique userNames)`,
      unit: 'req/s',
      rate: load.requestsPerSecond,
      p50: load.p50,
      p99: load.p99,
      non2xx: load.non2xx,
      errors: load.errors,
      peakRss: window.peakRss,
      cpu: window.cpu,
      problems: Object.keys(load.statusCounts).some((code) => !code.startsWith('2'))
        ? [
            `statuses ${Object.entries(load.statusCounts)
              .map(([c, n]) => `${c}×${n}`)
              .join(', ')}`,
          ]
        : [],
      statusCounts: load.statusCounts,
    };
    const row: Row = {
      key,
      scenario: 10,
      label: `time to deprovision: PATCH active false (spare users, one at a time) → the SET with …:prov:deactivate at a 127.0.0.1 receiver of ${kind}, with the creates running`,
      unit: 'req/s',
      rate: samples.length / seconds,
      p50: Math.round(percentile(sorted, 50)),
      p99: Math.round(percentile(sorted, 99)),
      non2xx: 0,
      errors: lost,
      peakRss: window.peakRss,
      cpu: window.cpu,
      problems,
      statusCounts: { '204': probed.length },
      extra: `${samples.length} deactivates timed, max ${Math.round(sorted.at(-1) ?? NaN)} ms; the receiver took ${receiver.received.toLocaleString('en-US')} SETs`,
    };
    ctx.log(
      `  ${key}-load ${loadRow.rate.toFixed(0).padStart(6)} req/s  p50 ${loadRow.p50} ms  p99 ${loadRow.p99} ms\n  ${key}      ${samples.length} deactivates: p50 ${row.p50} ms  p99 ${row.p99} ms  (${row.extra})`,
    );
    return [loadRow, row];
  } finally {
    cli(ctx, ['receiver', 'remove', receiverId]);
    await receiver.close();
    // The spare users as the other scenarios expect them: active.
    for (const id of probed)
      await request(`${ctx.rosterUrl}/scim/v2/Users/${id}`, { method: 'PATCH', headers: headers(), body: activePatch(true) }).catch(() => undefined);
  }
}
