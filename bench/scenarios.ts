import type autocannon from 'autocannon';
import pg from 'pg';
import {
  BENCH_SECRET,
  BIG_GROUP_NAME,
  SMALL_GROUPS,
  SMALL_GROUP_SIZE,
  SPARE_USERS,
  STORM_SECRET,
  groupId,
  groupName,
  resetSpareMemberships,
  seedStormOrganization,
  spareId,
  stormUserId,
  userId,
  userName,
  type SeedInfo,
} from './database';
import { scenario11 } from './console';
import { scenario10 } from './deprovision';
import { scenario12 } from './group-roles';
import { assertLoopback, cannon, keepAliveRequest, percentile, request, type CannonOptions, type LoadResult } from './load';
import type { BenchOptions } from './options';
import { Monitor, type Child, type CpuWindow } from './processes';

/** One line of the results table. */
export interface Row {
  key: string;
  scenario: number;
  label: string;
  unit: 'req/s' | 'users/s';
  rate: number;
  p50: number;
  p99: number;
  non2xx: number;
  errors: number;
  /** The key of the baseline row this one is compared with. */
  baselineKey?: string;
  /** A second baseline it is shown against (scenario 1: bare node:http, B1h). */
  secondBaselineKey?: string;
  peakRss: number;
  cpu: CpuWindow;
  /** A problem the pre-check or the run found with the answers themselves. */
  problems: string[];
  statusCounts: Record<string, number>;
  extra?: string;
}

export interface Context {
  options: BenchOptions;
  seed: SeedInfo;
  databaseUrl: string;
  rosterUrl: string;
  baselineUrl: string | undefined;
  baselinePid: number | undefined;
  /** The bare node:http + pg baseline of scenario 1 (B1h), when scenario 1 runs. */
  httpBaselineUrl?: string;
  httpBaselinePid?: number;
  monitor: Monitor;
  runId: string;
  log: (line: string) => void;
  aborted: () => boolean;
  /** Starts another Roster on the bench database (see run.ts startRoster); the caller stops it. */
  startServer: (overrides: Record<string, string | undefined>, name: string) => Promise<{ child: Child; url: string }>;
}

const SCIM_JSON = 'application/scim+json';
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const USER_SCHEMA = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE_SCHEMA = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const SYNC_USERS = 10_000;
export const SYNC_CONCURRENCY = 8;
const SYNC_TIME_LIMIT_MS = 15 * 60_000;
const WALK_TIME_LIMIT_MS = 15 * 60_000;

// Functions, not shared objects: autocannon writes Content-Length into the headers object it is given.
const authHeaders = (): Record<string, string> => ({ authorization: `Bearer ${BENCH_SECRET}`, accept: SCIM_JSON });
const jsonHeaders = (): Record<string, string> => ({ ...authHeaders(), 'content-type': SCIM_JSON });

const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));
const filterPath = (resource: 'Users' | 'Groups', filter: string, extra = '') => `/scim/v2/${resource}?filter=${encodeURIComponent(filter)}${extra}`;

class Interrupted extends Error {
  constructor() {
    super('interrupted');
  }
}

function check(ctx: Context) {
  if (ctx.aborted()) throw new Interrupted();
}

interface Body {
  totalResults?: number;
  Resources?: Record<string, unknown>[];
  nextCursor?: string;
  detail?: string;
}

async function get(ctx: Context, base: string, path: string): Promise<{ status: number; body: Body; ms: number }> {
  const started = performance.now();
  const response = await request(base + path, { headers: authHeaders() });
  const ms = performance.now() - started;
  let body: Body = {};
  try {
    body = response.json() as Body;
  } catch {
    body = { detail: response.text.slice(0, 200) };
  }
  return { status: response.status, body, ms };
}

async function send(base: string, method: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const response = await request(base + path, { method, headers: jsonHeaders(), body: JSON.stringify(body) });
  return { status: response.status, text: response.text };
}

async function sqlCount(url: string, sql: string, params: unknown[]): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const { rows } = await client.query<{ n: number }>(sql, params);
    return rows[0]?.n ?? 0;
  } finally {
    await client.end();
  }
}

/** Runs one timed load: an untimed warm-up with the same requests, then the measurement. */
export async function measure(
  ctx: Context,
  row: Omit<Row, 'rate' | 'p50' | 'p99' | 'non2xx' | 'errors' | 'peakRss' | 'cpu' | 'statusCounts' | 'unit'>,
  base: string,
  load: () => Omit<CannonOptions, 'url' | 'connections' | 'duration'>,
  reset?: () => Promise<void>,
): Promise<Row> {
  check(ctx);
  const { connections, duration } = ctx.options;
  const warmup = Math.min(2, Math.max(1, Math.round(duration / 5)));
  await cannon({ url: base, connections, duration: warmup, headers: authHeaders(), ...load() });
  if (reset) await reset();
  check(ctx);
  ctx.monitor.beginWindow(base === ctx.baselineUrl ? ctx.baselinePid : base === ctx.httpBaselineUrl ? ctx.httpBaselinePid : undefined);
  const result: LoadResult = await cannon({ url: base, connections, duration, headers: authHeaders(), ...load() });
  const window = ctx.monitor.endWindow();
  // A request autocannon stopped waiting for may still be running in the server: let it finish before the reset,
  // or it lands after it (a spare user left in the big group, which the next scenario then counts).
  if (reset) {
    await new Promise((resolve) => setTimeout(resolve, 250));
    await reset();
  }
  check(ctx);
  const problems = [...row.problems];
  const unexpected = Object.entries(result.statusCounts).filter(([code]) => !code.startsWith('2'));
  if (unexpected.length > 0) problems.push(`statuses ${unexpected.map(([c, n]) => `${c}×${n}`).join(', ')}`);
  const done: Row = {
    ...row,
    unit: 'req/s',
    rate: result.requestsPerSecond,
    p50: result.p50,
    p99: result.p99,
    non2xx: result.non2xx,
    errors: result.errors,
    peakRss: window.peakRss,
    cpu: window.cpu,
    problems,
    statusCounts: result.statusCounts,
  };
  ctx.log(formatProgress(done));
  return done;
}

export function formatProgress(row: Row): string {
  return `  ${row.key.padEnd(9)} ${row.rate.toFixed(0).padStart(6)} ${row.unit}  p50 ${row.p50} ms  p99 ${row.p99} ms  non-2xx ${row.non2xx}  errors ${row.errors}${
    row.problems.length ? `  PROBLEMS: ${row.problems.join('; ')}` : ''
  }`;
}

/* ----------------------------------------------------------------------------------- */

const randomUserName = (ctx: Context) => userName(randomInt(1, ctx.seed.users), ctx.seed.width);
const userLookupPath = (ctx: Context) => filterPath('Users', `userName eq "${randomUserName(ctx)}"`);
const missingLookupPath = () => filterPath('Users', `userName eq "nobody${randomInt(1, 1_000_000_000)}@nowhere.example"`);
const groupLookupPath = () => filterPath('Groups', `displayName eq "${groupName(randomInt(1, SMALL_GROUPS))}"`, '&excludedAttributes=members');

const dynamicGet = (path: () => string): Pick<CannonOptions, 'requests'> => ({
  requests: [{ method: 'GET', setupRequest: (req: autocannon.Request) => ({ ...req, method: 'GET', path: path() }) }],
});

/** Scenario 1 and 2 and 6 requests against the baseline server (or `url`), for the ratio. */
async function baseline(ctx: Context, key: string, scenario: number, label: string, path: () => string, url = ctx.baselineUrl): Promise<Row | undefined> {
  if (!url) return undefined;
  const probe = await get(ctx, url, path());
  const problems = probe.status === 200 ? [] : [`baseline pre-check answered ${probe.status}`];
  return measure(ctx, { key, scenario, label, problems }, url, () => dynamicGet(path));
}

async function scenario1(ctx: Context): Promise<Row[]> {
  const rows: Row[] = [];
  const b = await baseline(ctx, 'B1', 1, 'baseline: bare Express + pg (pool 10), one indexed query; existing userName', () => userLookupPath(ctx));
  if (b) rows.push(b);
  const h = await baseline(
    ctx,
    'B1h',
    1,
    'baseline: bare node:http + pg (pool 10), no Express, the same query and response',
    () => userLookupPath(ctx),
    ctx.httpBaselineUrl,
  );
  if (h) rows.push(h);
  const name = randomUserName(ctx);
  const probe = await get(ctx, ctx.rosterUrl, filterPath('Users', `userName eq "${name}"`));
  const problems: string[] = [];
  if (probe.status !== 200 || probe.body.totalResults !== 1 || probe.body.Resources?.[0]?.userName !== name) {
    problems.push(`pre-check: ${probe.status} totalResults ${probe.body.totalResults} ${probe.body.detail ?? ''}`);
  }
  rows.push(
    await measure(
      ctx,
      {
        key: '1',
        scenario: 1,
        label: 'GET /Users?filter=userName eq "<existing>"',
        problems,
        ...(b ? { baselineKey: b.key } : {}),
        ...(h ? { secondBaselineKey: h.key } : {}),
      },
      ctx.rosterUrl,
      () => dynamicGet(() => userLookupPath(ctx)),
    ),
  );
  return rows;
}

async function scenario2(ctx: Context): Promise<Row[]> {
  const rows: Row[] = [];
  const b = await baseline(ctx, 'B2', 2, 'baseline: the same, userName that does not exist', missingLookupPath);
  if (b) rows.push(b);
  const probe = await get(ctx, ctx.rosterUrl, missingLookupPath());
  const problems = probe.status === 200 && probe.body.totalResults === 0 ? [] : [`pre-check: ${probe.status} totalResults ${probe.body.totalResults}`];
  rows.push(
    await measure(
      ctx,
      { key: '2', scenario: 2, label: 'GET /Users?filter=userName eq "<missing>"', problems, ...(b ? { baselineKey: b.key } : {}) },
      ctx.rosterUrl,
      () => dynamicGet(missingLookupPath),
    ),
  );
  return rows;
}

function newUser(userNameText: string, n: number, kind: string): Record<string, unknown> {
  return {
    schemas: [USER_SCHEMA, ENTERPRISE_SCHEMA],
    externalId: userNameText.replace(/@.*$/, ''),
    userName: userNameText,
    active: true,
    displayName: `New Hire ${n}`,
    name: { formatted: `New Hire ${n}`, givenName: 'New', familyName: `Hire ${n}` },
    title: 'Analyst',
    emails: [{ value: `new.hire.${kind}.${n}@bench.example`, type: 'work', primary: true }],
    [ENTERPRISE_SCHEMA]: { department: 'Threat Research', employeeNumber: `${kind}-${n}` },
  };
}

/**
 * POST /Users with unique userNames against `base` (Roster, or the baseline's single INSERT).
 * Names (`x-<kind>-<run>-<n>@…`) sort after the seeded `user…` ones and are created after
 * them, so scenario 7's offsets and cursors stay where they were; the rows stay (counted in the row's note).
 */
async function creates(ctx: Context, base: string, key: string, kind: 'post' | 'base', label: string, baselineKey?: string): Promise<Row> {
  let n = 0;
  const next = () => {
    n += 1;
    return `x-${kind}-${ctx.runId}-${n}@bench.example`;
  };
  const probe = await send(base, 'POST', '/scim/v2/Users', newUser(next(), n, kind));
  const problems = probe.status === 201 ? [] : [`pre-check: ${probe.status} ${probe.text.slice(0, 200)}`];
  const row = await measure(ctx, { key, scenario: 3, label, problems, ...(baselineKey ? { baselineKey } : {}) }, base, () => ({
    requests: [
      {
        method: 'POST',
        setupRequest: (req: autocannon.Request) => ({
          ...req,
          method: 'POST',
          path: '/scim/v2/Users',
          headers: jsonHeaders(),
          body: JSON.stringify(newUser(next(), n, kind)),
        }),
      },
    ],
  }));
  row.extra = `${n.toLocaleString('en-US')} users created`;
  return row;
}

async function scenario3(ctx: Context): Promise<Row[]> {
  const rows: Row[] = [];
  if (ctx.baselineUrl)
    rows.push(await creates(ctx, ctx.baselineUrl, 'B3', 'base', 'baseline: bare Express + pg, one INSERT of the same row (unique userNames)'));
  rows.push(await creates(ctx, ctx.rosterUrl, '3', 'post', 'POST /Users (unique userNames)', rows[0]?.key));
  return rows;
}

/** Scenario 4's body: `active` set to this (request-log-ab.ts sends the same). */
export const activePatch = (active: boolean) => JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'active', value: active }] });

/** PATCH /Users/{id} active false, then true, of random seeded users, against `base` (Roster, or the baseline's single UPDATE). */
async function activeToggles(ctx: Context, base: string, key: string, label: string, baselineKey?: string): Promise<Row> {
  const probeId = userId(randomInt(1, ctx.seed.users));
  const off = await send(base, 'PATCH', `/scim/v2/Users/${probeId}`, JSON.parse(activePatch(false)));
  const on = await send(base, 'PATCH', `/scim/v2/Users/${probeId}`, JSON.parse(activePatch(true)));
  const problems = off.status === 204 && on.status === 204 ? [] : [`pre-check: ${off.status}/${on.status} ${off.text.slice(0, 200)}`];
  // Each connection disables a random user, then enables the same user again: every PATCH changes something.
  const load = () => ({
    setupClient: (client: autocannon.Client) => {
      let current = '';
      let disable = true;
      client.setRequests([
        {
          method: 'PATCH',
          setupRequest: (req: autocannon.Request) => {
            if (disable) current = userId(randomInt(1, ctx.seed.users));
            const body = activePatch(!disable);
            disable = !disable;
            return { ...req, method: 'PATCH', path: `/scim/v2/Users/${current}`, headers: jsonHeaders(), body };
          },
        },
      ]);
    },
  });
  return measure(ctx, { key, scenario: 4, label, problems, ...(baselineKey ? { baselineKey } : {}) }, base, load);
}

async function scenario4(ctx: Context): Promise<Row[]> {
  const rows: Row[] = [];
  if (ctx.baselineUrl)
    rows.push(await activeToggles(ctx, ctx.baselineUrl, 'B4', 'baseline: bare Express + pg, one UPDATE of active and the version (random users)'));
  rows.push(await activeToggles(ctx, ctx.rosterUrl, '4', 'PATCH /Users/{id} active false, then true (random users)', rows[0]?.key));
  return rows;
}

type RemoveForm = 'value' | 'filter';

function memberPatch(op: 'add' | 'remove', user: string, form: RemoveForm): string {
  if (op === 'add') return JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: user }] }] });
  if (form === 'value') return JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'remove', path: 'members', value: [{ value: user }] }] });
  return JSON.stringify({ schemas: [PATCH_OP], Operations: [{ op: 'remove', path: `members[value eq "${user}"]` }] });
}

async function scenario5(ctx: Context): Promise<Row[]> {
  const rows: Row[] = [];
  const groups = [
    { tag: 'big', id: ctx.seed.bigGroupId, label: `${ctx.seed.bigGroupSize.toLocaleString('en-US')}-member group "${BIG_GROUP_NAME}"` },
    { tag: 'small', id: groupId(1), label: `${SMALL_GROUP_SIZE}-member group "${groupName(1)}"` },
  ];
  const forms: { form: RemoveForm; key: string; label: string }[] = [
    { form: 'value', key: '5a', label: 'remove with a value list, as Entra ID sends it' },
    { form: 'filter', key: '5b', label: 'remove by path members[value eq "…"], as Okta sends it' },
  ];
  const reset = () => resetSpareMemberships(ctx.databaseUrl);
  await reset();
  for (const { form, key, label } of forms) {
    for (const group of groups) {
      check(ctx);
      const spare = spareId(1);
      const path = `/scim/v2/Groups/${group.id}`;
      const problems: string[] = [];
      const added = await send(ctx.rosterUrl, 'PATCH', path, JSON.parse(memberPatch('add', spare, form)));
      const inAfterAdd = await sqlCount(ctx.databaseUrl, 'select count(*)::int as n from group_members where group_id = $1 and user_id = $2', [
        group.id,
        spare,
      ]);
      const removed = await send(ctx.rosterUrl, 'PATCH', path, JSON.parse(memberPatch('remove', spare, form)));
      const inAfterRemove = await sqlCount(ctx.databaseUrl, 'select count(*)::int as n from group_members where group_id = $1 and user_id = $2', [
        group.id,
        spare,
      ]);
      if (added.status !== 204 || removed.status !== 204 || inAfterAdd !== 1 || inAfterRemove !== 0) {
        problems.push(
          `pre-check: add ${added.status} (member: ${inAfterAdd}), remove ${removed.status} (member: ${inAfterRemove}) ${added.text.slice(0, 120)}${removed.text.slice(0, 120)}`,
        );
      }
      // Each connection owns one spare user (in no group) and adds it, removes it, adds it…
      const load = () => {
        let clients = 0;
        return {
          setupClient: (client: autocannon.Client) => {
            const user = spareId((clients++ % SPARE_USERS) + 1);
            client.setRequests([
              { method: 'PATCH', path, headers: jsonHeaders(), body: memberPatch('add', user, form) },
              { method: 'PATCH', path, headers: jsonHeaders(), body: memberPatch('remove', user, form) },
            ]);
          },
        };
      };
      rows.push(
        await measure(
          ctx,
          { key: `${key}-${group.tag}`, scenario: 5, label: `PATCH /Groups/{id} add + remove one member, ${group.label}; ${label}`, problems },
          ctx.rosterUrl,
          load,
          reset,
        ),
      );
    }
  }
  return rows;
}

async function scenario6(ctx: Context): Promise<Row[]> {
  const rows: Row[] = [];
  const b = await baseline(ctx, 'B6', 6, 'baseline: the same for GET /Groups?filter=displayName eq', groupLookupPath);
  if (b) rows.push(b);
  const probe = await get(ctx, ctx.rosterUrl, groupLookupPath());
  const problems =
    probe.status === 200 && probe.body.totalResults === 1 && probe.body.Resources?.[0]?.members === undefined
      ? []
      : [`pre-check: ${probe.status} totalResults ${probe.body.totalResults}`];
  rows.push(
    await measure(
      ctx,
      {
        key: '6',
        scenario: 6,
        label: 'GET /Groups?filter=displayName eq "<group>"&excludedAttributes=members',
        problems,
        ...(b ? { baselineKey: b.key } : {}),
      },
      ctx.rosterUrl,
      () => dynamicGet(groupLookupPath),
    ),
  );
  return rows;
}

/** Where scenario 7 reads: startIndex 500,001, or N - 100 for smaller seeds. */
export function deepIndex(users: number): number {
  return users >= 500_100 ? 500_001 : users - 100;
}

async function scenario7(ctx: Context): Promise<Row[]> {
  const rows: Row[] = [];
  const start = deepIndex(ctx.seed.users);
  const offsetPath = `/scim/v2/Users?sortBy=userName&startIndex=${start}&count=100`;
  const probe = await get(ctx, ctx.rosterUrl, offsetPath);
  const expected = userName(start, ctx.seed.width);
  const offsetProblems =
    probe.status === 200 && probe.body.Resources?.length === 100
      ? probe.body.Resources[0]?.userName === expected
        ? []
        : [`first userName ${String(probe.body.Resources[0]?.userName)} (expected ${expected})`]
      : [`pre-check: ${probe.status} ${probe.body.Resources?.length ?? 0} resources ${probe.body.detail ?? ''}`];
  ctx.log(`  7a pre-check: one request took ${probe.ms.toFixed(0)} ms`);
  rows.push(
    await measure(
      ctx,
      { key: '7a', scenario: 7, label: `GET /Users?sortBy=userName&startIndex=${start.toLocaleString('en-US')}&count=100`, problems: offsetProblems },
      ctx.rosterUrl,
      () => ({ requests: [{ method: 'GET', path: offsetPath }] }),
    ),
  );

  // Walk to the same depth in the default order with cursors, 1,000 at a time, untimed.
  check(ctx);
  const walkStarted = performance.now();
  let cursor = '';
  let skipped = 0;
  const skip = start - 1;
  const walkProblems: string[] = [];
  for (let page = 0; skipped < skip; page++) {
    check(ctx);
    if (page > Math.ceil(skip / 1000) + 1 || performance.now() - walkStarted > WALK_TIME_LIMIT_MS) {
      walkProblems.push(`cursor walk stopped after ${skipped} rows`);
      break;
    }
    const count = Math.min(1000, skip - skipped);
    const result = await get(ctx, ctx.rosterUrl, `/scim/v2/Users?cursor=${encodeURIComponent(cursor)}&count=${count}&attributes=id`);
    if (result.status !== 200 || !result.body.nextCursor || !result.body.Resources) {
      walkProblems.push(`cursor walk: ${result.status} at row ${skipped} ${result.body.detail ?? ''}`);
      break;
    }
    skipped += result.body.Resources.length;
    cursor = result.body.nextCursor;
  }
  const walkSeconds = (performance.now() - walkStarted) / 1000;
  ctx.log(`  7b cursor walk to row ${skipped.toLocaleString('en-US')}: ${walkSeconds.toFixed(1)} s (${Math.ceil(skip / 1000)} pages of up to 1,000)`);
  const cursorPath = `/scim/v2/Users?cursor=${encodeURIComponent(cursor)}&count=100`;
  const cursorProbe = await get(ctx, ctx.rosterUrl, cursorPath);
  if (cursorProbe.status !== 200 || cursorProbe.body.Resources?.length !== 100) {
    walkProblems.push(`pre-check: ${cursorProbe.status} ${cursorProbe.body.Resources?.length ?? 0} resources ${cursorProbe.body.detail ?? ''}`);
  } else if (cursorProbe.body.Resources[0]?.userName !== expected) {
    walkProblems.push(`first userName ${String(cursorProbe.body.Resources[0]?.userName)} (expected ${expected})`);
  }
  const row = await measure(
    ctx,
    { key: '7b', scenario: 7, label: `GET /Users?cursor=<after row ${skip.toLocaleString('en-US')}>&count=100 (default order)`, problems: walkProblems },
    ctx.rosterUrl,
    () => ({ requests: [{ method: 'GET', path: cursorPath }] }),
  );
  row.extra = `walk of ${Math.ceil(skip / 1000)} pages of up to 1,000: ${walkSeconds.toFixed(1)} s`;
  rows.push(row);
  return rows;
}

/**
 * An Entra-style initial sync: for each of SYNC_USERS new users, GET filter userName eq
 * (expecting none), then POST; SYNC_CONCURRENCY users at a time. Not autocannon: the
 * unit is a user (two requests), and the run ends when all are created.
 */
async function scenario8(ctx: Context): Promise<Row[]> {
  const latencies: number[] = [];
  const statusCounts: Record<string, number> = {};
  let non2xx = 0;
  let errors = 0;
  let next = 0;
  let created = 0;
  const problems: string[] = [];
  const deadline = performance.now() + SYNC_TIME_LIMIT_MS;
  const count = (status: number) => {
    statusCounts[status] = (statusCounts[status] ?? 0) + 1;
    if (status < 200 || status > 299) non2xx++;
  };
  ctx.monitor.beginWindow();
  const started = performance.now();
  const worker = async () => {
    while (!ctx.aborted() && performance.now() < deadline) {
      const n = ++next;
      if (n > SYNC_USERS) return;
      const name = `x-sync-${ctx.runId}-${n}@bench.example`;
      const t0 = performance.now();
      try {
        const lookup = await keepAliveRequest(ctx.rosterUrl + filterPath('Users', `userName eq "${name}"`), { headers: authHeaders() });
        count(lookup.status);
        const found = lookup.status === 200 ? (JSON.parse(lookup.text) as Body).totalResults : 0;
        if (found !== 0 && problems.length < 5) problems.push(`lookup of ${name} found ${found}`);
        const post = await keepAliveRequest(ctx.rosterUrl + '/scim/v2/Users', {
          method: 'POST',
          headers: jsonHeaders(),
          body: JSON.stringify(newUser(name, n, 'sync')),
        });
        count(post.status);
        if (post.status === 201) created++;
        else if (problems.length < 5) problems.push(`POST ${post.status} ${post.text.slice(0, 120)}`);
      } catch (error) {
        errors++;
        if (problems.length < 5) problems.push(`error ${error instanceof Error ? error.message : String(error)}`);
      }
      latencies.push(performance.now() - t0);
    }
  };
  await Promise.all(Array.from({ length: SYNC_CONCURRENCY }, worker));
  const seconds = (performance.now() - started) / 1000;
  const window = ctx.monitor.endWindow();
  check(ctx);
  if (next <= SYNC_USERS) problems.push(`time limit: stopped after ${latencies.length} users`);
  latencies.sort((a, b) => a - b);
  const row: Row = {
    key: '8',
    scenario: 8,
    label: `Entra-style initial sync: ${SYNC_USERS.toLocaleString('en-US')} new users, GET filter userName eq then POST, ${SYNC_CONCURRENCY} at a time`,
    unit: 'users/s',
    rate: created / seconds,
    p50: Math.round(percentile(latencies, 50)),
    p99: Math.round(percentile(latencies, 99)),
    non2xx,
    errors,
    peakRss: window.peakRss,
    cpu: window.cpu,
    problems,
    statusCounts,
    extra: `${created.toLocaleString('en-US')} users in ${seconds.toFixed(1)} s; latency per user (both requests)`,
  };
  ctx.log(formatProgress(row));
  return [row];
}

/* ----------------------------------------------------------------------------------- */

/** Scenario 9: the Bulk requests the storming organization keeps going at once, and the operations of each (one user each). */
export const STORM_BULKS = 32;
export const STORM_OPERATIONS = 100;
/** The other organization's pace: well under its own rate limit (100 requests/s by default). */
const VICTIM_READS_PER_SECOND = 50;
const HEALTHZ_EVERY_MS = 200;
const VICTIM_PASSWORD_EVERY_MS = 1_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

interface Sample {
  ms: number;
  status: number | 'error';
}

/** Open-loop: starts a request every `everyMs` whether or not the previous ones answered, until `stop`. */
async function paced(everyMs: number, stopped: () => boolean, fire: () => Promise<Sample>, into: Sample[]): Promise<void> {
  const inflight = new Set<Promise<void>>();
  let next = performance.now();
  while (!stopped()) {
    const p: Promise<void> = fire().then((sample) => {
      into.push(sample);
      inflight.delete(p);
    });
    inflight.add(p);
    next += everyMs;
    const wait = next - performance.now();
    if (wait > 0) await sleep(wait);
  }
  await Promise.all(inflight);
}

async function timedFetch(url: string, init: RequestInit & { timeoutMs?: number }): Promise<Sample> {
  assertLoopback(url);
  const started = performance.now();
  try {
    const response = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(init.timeoutMs ?? 30_000) });
    await response.arrayBuffer();
    return { ms: performance.now() - started, status: response.status };
  } catch {
    return { ms: performance.now() - started, status: 'error' };
  }
}

function sampleRow(
  key: string,
  label: string,
  samples: Sample[],
  seconds: number,
  window: { peakRss: number; cpu: CpuWindow },
  expected: (status: number) => boolean,
): Row {
  const latencies = samples.map((s) => s.ms).sort((a, b) => a - b);
  const statusCounts: Record<string, number> = {};
  for (const s of samples) statusCounts[String(s.status)] = (statusCounts[String(s.status)] ?? 0) + 1;
  const errors = samples.filter((s) => s.status === 'error').length;
  const unexpected = samples.filter((s) => s.status !== 'error' && !expected(s.status)).length;
  const problems =
    unexpected > 0 || errors > 0
      ? [
          `statuses ${Object.entries(statusCounts)
            .map(([c, n]) => `${c}×${n}`)
            .join(', ')}`,
        ]
      : [];
  return {
    key,
    scenario: 9,
    label,
    unit: 'req/s',
    rate: samples.length / seconds,
    p50: Math.round(percentile(latencies, 50)),
    p99: Math.round(percentile(latencies, 99)),
    non2xx: unexpected,
    errors,
    peakRss: window.peakRss,
    cpu: window.cpu,
    problems,
    statusCounts,
  };
}

/**
 * One organization's token sends STORM_BULKS concurrent Bulk requests of password
 * PATCHes (each worker sends its next Bulk when the last one answers, and waits out a
 * 429's Retry-After, as a provisioning client does), while another organization reads
 * users by userName at VICTIM_READS_PER_SECOND, changes a password now and then, and
 * /readyz (the database ping) is polled. Runs on a Roster of its own with the default limits (rate limit,
 * pool, hashing), which is stopped afterwards: Bulk requests cut off by the client run on.
 */
async function scenario9(ctx: Context): Promise<Row[]> {
  const stormUsers = STORM_BULKS * STORM_OPERATIONS;
  const storm = await seedStormOrganization(ctx.databaseUrl, stormUsers);
  check(ctx);
  const server = await ctx.startServer({ ROSTER_RATE_LIMIT_PER_SECOND: undefined }, 'roster-storm');
  const monitor = new Monitor(server.child.pid);
  monitor.start();
  const base = server.url;
  const stormHeaders = { authorization: `Bearer ${STORM_SECRET}`, accept: SCIM_JSON, 'content-type': SCIM_JSON };
  const passwordPatch = () => ({
    schemas: [PATCH_OP],
    Operations: [{ op: 'replace', path: 'password', value: `Storm-${Math.random().toString(36).slice(2)}-9a` }],
  });
  const bulkBody = (worker: number) =>
    JSON.stringify({
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: Array.from({ length: STORM_OPERATIONS }, (_, j) => ({
        method: 'PATCH',
        path: `/Users/${stormUserId(worker * STORM_OPERATIONS + j + 1)}`,
        data: passwordPatch(),
      })),
    });
  try {
    // Pre-checks: the storming token can change a password through Bulk; the other organization reads.
    const problems: string[] = [];
    const probe = await request(`${base}/scim/v2/Bulk`, {
      method: 'POST',
      headers: stormHeaders,
      body: JSON.stringify({
        schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
        Operations: [{ method: 'PATCH', path: `/Users/${stormUserId(1)}`, data: passwordPatch() }],
      }),
    });
    const probeStatus = probe.status === 200 ? (probe.json() as { Operations?: { status: string }[] }).Operations?.[0]?.status : undefined;
    if (probeStatus !== '200') problems.push(`pre-check: Bulk ${probe.status}, operation ${String(probeStatus)} ${probe.text.slice(0, 200)}`);
    const read = await get(ctx, base, userLookupPath(ctx));
    if (read.status !== 200 || read.body.totalResults !== 1) problems.push(`pre-check: read ${read.status} totalResults ${read.body.totalResults}`);
    // Untimed warm-up, as the other scenarios have: a server that has been serving, its pool's
    // connections open and the Bulk and PATCH code compiled. The same Bulk requests, changing a
    // title instead of the password (a warm-up storm of passwords would still be hashing when the
    // timed one starts) in 5 operations each (within the rate limit's burst of 200, even counting
    // every operation), then the other organization's reads, then a pause for the limit's window.
    const warmups = await Promise.all(
      Array.from({ length: STORM_BULKS }, (_, w) =>
        request(`${base}/scim/v2/Bulk`, {
          method: 'POST',
          headers: stormHeaders,
          body: JSON.stringify({
            schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
            Operations: Array.from({ length: 5 }, (_, j) => ({
              method: 'PATCH',
              path: `/Users/${stormUserId(w * STORM_OPERATIONS + j + 1)}`,
              data: { schemas: [PATCH_OP], Operations: [{ op: 'replace', path: 'title', value: `Warm ${ctx.runId} ${j}` }] },
            })),
          }),
          timeoutMs: 120_000,
        }),
      ),
    );
    if (warmups.some((r) => r.status !== 200)) problems.push(`warm-up: Bulk ${warmups.map((r) => r.status).join(',')}`);
    for (let round = 0; round < 3; round++) await Promise.all(Array.from({ length: 20 }, () => get(ctx, base, userLookupPath(ctx))));
    await sleep(2_000);
    check(ctx);

    const abort = new AbortController();
    let stopped = false;
    const bulkStatuses: Record<string, number> = {};
    const operationStatuses: Record<string, number> = {};
    let bulkErrors = 0;
    const worker = async (w: number) => {
      while (!stopped) {
        try {
          const response = await fetch(`${base}/scim/v2/Bulk`, { method: 'POST', headers: stormHeaders, body: bulkBody(w), signal: abort.signal });
          bulkStatuses[response.status] = (bulkStatuses[response.status] ?? 0) + 1;
          const text = await response.text();
          if (response.status === 200) {
            for (const op of (JSON.parse(text) as { Operations: { status: string }[] }).Operations) {
              operationStatuses[op.status] = (operationStatuses[op.status] ?? 0) + 1;
            }
          } else if (response.status === 429 || response.status === 503) {
            await sleep(Number(response.headers.get('retry-after') ?? '1') * 1000);
          }
        } catch {
          if (!stopped) {
            bulkErrors++;
            await sleep(100);
          }
        }
      }
    };

    const reads: Sample[] = [];
    const health: Sample[] = [];
    const passwords: Sample[] = [];
    const victimHeaders = jsonHeaders();
    let victimPasswords = 0;
    const stormVersions = () =>
      sqlCount(ctx.databaseUrl, 'select coalesce(sum(version), 0)::int as n from users where organization_id = $1', [storm.organizationId]);
    const versionsBefore = await stormVersions();
    monitor.beginWindow();
    const started = performance.now();
    const workers = Array.from({ length: STORM_BULKS }, (_, w) => worker(w));
    const until = () => performance.now() - started >= ctx.options.duration * 1000 || ctx.aborted();
    await Promise.all([
      paced(1000 / VICTIM_READS_PER_SECOND, until, () => timedFetch(base + userLookupPath(ctx), { headers: authHeaders() }), reads),
      paced(HEALTHZ_EVERY_MS, until, () => timedFetch(`${base}/readyz`, {}), health),
      paced(
        VICTIM_PASSWORD_EVERY_MS,
        until,
        () =>
          timedFetch(`${base}/scim/v2/Users/${spareId((victimPasswords++ % SPARE_USERS) + 1)}`, {
            method: 'PATCH',
            headers: victimHeaders,
            body: JSON.stringify(passwordPatch()),
          }),
        passwords,
      ),
    ]);
    const seconds = (performance.now() - started) / 1000;
    const window = monitor.endWindow();
    const stored = (await stormVersions()) - versionsBefore;
    stopped = true;
    abort.abort();
    await Promise.all(workers);
    check(ctx);

    const fmtCounts = (counts: Record<string, number>) =>
      Object.entries(counts)
        .map(([c, n]) => `${c}×${n}`)
        .join(', ') || 'none';
    const stormRow: Row = {
      key: '9-storm',
      scenario: 9,
      label: `organization A: ${STORM_BULKS} concurrent Bulk requests of ${STORM_OPERATIONS} password PATCHes each, back to back (default limits); rate: password changes stored`,
      unit: 'req/s',
      rate: stored / seconds,
      p50: 0,
      p99: 0,
      non2xx: Object.entries(operationStatuses)
        .filter(([c]) => !c.startsWith('2'))
        .reduce((a, [, n]) => a + n, 0),
      errors: bulkErrors,
      peakRss: window.peakRss,
      cpu: window.cpu,
      problems,
      statusCounts: operationStatuses,
      extra: `${stored.toLocaleString('en-US')} password changes stored in ${seconds.toFixed(1)} s; operations answered: ${fmtCounts(operationStatuses)}; Bulk responses: ${fmtCounts(bulkStatuses)} (a Bulk still running at the end is cut off; latency not measured)`,
    };
    const rows = [
      stormRow,
      sampleRow(
        '9-read',
        `organization B meanwhile: GET /Users?filter=userName eq "<existing>", ${VICTIM_READS_PER_SECOND}/s open loop`,
        reads,
        seconds,
        window,
        (s) => s === 200,
      ),
      sampleRow('9-health', `/readyz meanwhile, every ${HEALTHZ_EVERY_MS} ms`, health, seconds, window, (s) => s === 200),
      sampleRow('9-pw', 'organization B meanwhile: PATCH /Users/{id} password, once a second', passwords, seconds, window, (s) => s === 204),
    ];
    for (const row of rows) ctx.log(formatProgress(row) + (row.extra ? `  [${row.extra}]` : ''));
    return rows;
  } finally {
    monitor.stop();
    await server.child.stop(5_000);
  }
}

/** The soak's mix per connection: 7 lookups, 2 PATCHes that toggle a user, 1 create. */
export const SOAK_REQUESTS = (ctx: Context): autocannon.Request[] => {
  let n = 0;
  let current = '';
  let disable = true;
  const lookup = {
    method: 'GET' as const,
    setupRequest: (req: autocannon.Request) => ({ ...req, method: 'GET' as const, headers: authHeaders(), path: userLookupPath(ctx) }),
  };
  const patch = {
    method: 'PATCH' as const,
    setupRequest: (req: autocannon.Request) => {
      if (disable) current = userId(randomInt(1, ctx.seed.users));
      const body = activePatch(!disable);
      disable = !disable;
      return { ...req, method: 'PATCH' as const, path: `/scim/v2/Users/${current}`, headers: jsonHeaders(), body };
    },
  };
  const create = {
    method: 'POST' as const,
    setupRequest: (req: autocannon.Request) => {
      n += 1;
      const name = `x-soak-${ctx.runId}-${Math.random().toString(36).slice(2)}-${n}@bench.example`;
      return { ...req, method: 'POST' as const, path: '/scim/v2/Users', headers: jsonHeaders(), body: JSON.stringify(newUser(name, n, 'soak')) };
    },
  };
  return [lookup, lookup, lookup, patch, lookup, lookup, patch, lookup, lookup, create];
};

export const SCENARIOS: Record<number, { title: string; run: (ctx: Context) => Promise<Row[]> }> = {
  1: { title: 'filter userName eq, existing users', run: scenario1 },
  2: { title: 'filter userName eq, users that do not exist', run: scenario2 },
  3: { title: 'POST /Users', run: scenario3 },
  4: { title: 'PATCH /Users active', run: scenario4 },
  5: { title: 'PATCH /Groups membership, big and small group', run: scenario5 },
  6: { title: 'filter displayName eq on Groups, members excluded', run: scenario6 },
  7: { title: 'deep page: startIndex with sortBy, and cursor', run: scenario7 },
  8: { title: 'Entra-style initial sync', run: scenario8 },
  9: { title: 'one organization storms Bulk password changes, another reads', run: scenario9 },
  10: { title: "time to deprovision: PATCH active false to the receiver's SET, with creates running", run: scenario10 },
  11: { title: "the console: the Users list and a page of a big group's members", run: scenario11 },
  12: { title: 'roles from groups: member add A/B mapped vs unmapped, mapping set/remove on the big group', run: scenario12 },
};

export { Interrupted };
