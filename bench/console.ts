/**
 * Scenario 11: the console's Users list (#17 item 8: under 100 ms at 1,000,000 users),
 * and a page of the big group's members. An instance administrator is written into the
 * bench database (argon2id, as `roster admin create` makes one), signs in over HTTP, and
 * its session cookie goes with every request; it is deleted afterwards.
 */
import argon2 from 'argon2';
import type autocannon from 'autocannon';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { BENCH_ORG_SLUG, userName } from './database';
import { assertLoopback } from './load';
import { measure, type Context, type Row } from './scenarios';

const randomInt = (min: number, max: number) => min + Math.floor(Math.random() * (max - min + 1));

async function withClient<T>(url: string, work: (c: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

/** Signs a fresh instance administrator in; returns its cookie and what deletes it. */
async function consoleSession(ctx: Context): Promise<{ cookie: string; remove: () => Promise<void> }> {
  const email = `bench-${ctx.runId}@bench.example`;
  const password = `Bench-${randomBytes(12).toString('hex')}-1`;
  const hash = await argon2.hash(password, { type: argon2.argon2id, memoryCost: 65_536, timeCost: 3, parallelism: 1 });
  await withClient(ctx.databaseUrl, (c) =>
    c.query(
      `insert into console_admins (email, password_hash, organization_id, system_role, organization_role) values ($1, $2, null, 'Administrator', 'Organization Administrator')`,
      [email, hash],
    ),
  );
  const remove = () => withClient(ctx.databaseUrl, (c) => c.query('delete from console_admins where email = $1', [email])).then(() => undefined);
  const url = `${ctx.rosterUrl}/admin/api/session`;
  assertLoopback(url);
  const response = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ email, password }) });
  const cookie = /^(roster_console=[^;]+)/.exec(response.headers.get('set-cookie') ?? '')?.[1];
  if (response.status !== 200 || !cookie) {
    await remove();
    throw new Error(`console sign-in answered ${response.status}`);
  }
  return { cookie, remove };
}

export async function scenario11(ctx: Context): Promise<Row[]> {
  const { cookie, remove } = await consoleSession(ctx);
  const headers = () => ({ cookie, accept: 'application/json' });
  const api = `/admin/api/orgs/${BENCH_ORG_SLUG}`;
  const load = (path: () => string) => () => ({
    headers: headers(),
    requests: [{ method: 'GET' as const, setupRequest: (req: autocannon.Request) => ({ ...req, method: 'GET' as const, path: path(), headers: headers() }) }],
  });
  const users = ctx.seed.users;
  const probe = async (path: string, check: (body: Record<string, unknown>) => boolean): Promise<string[]> => {
    const response = await fetch(ctx.rosterUrl + path, { headers: headers() });
    const body = (await response.json().catch(() => ({}))) as Record<string, unknown>;
    return response.status === 200 && check(body) ? [] : [`pre-check: ${response.status} ${JSON.stringify(body).slice(0, 200)}`];
  };
  const cases: { key: string; label: string; path: () => string; check: (body: Record<string, unknown>) => boolean }[] = [
    {
      key: '11a',
      label: 'console Users list, first page (25, by userName, with groups)',
      path: () => `${api}/users?count=25&sortBy=userName`,
      // The seed's users and its spare users.
      check: (b) => (b.total as number) >= users && (b.users as unknown[]).length === 25,
    },
    {
      key: '11b',
      label: 'console Users list, a random page (startIndex up to the last)',
      path: () => `${api}/users?count=25&sortBy=userName&startIndex=${randomInt(1, users - 25)}`,
      check: (b) => (b.total as number) >= users,
    },
    {
      key: '11c',
      label: 'console Users list, SCIM filter userName eq "<existing>"',
      path: () => `${api}/users?filter=${encodeURIComponent(`userName eq "${userName(randomInt(1, users), ctx.seed.width)}"`)}`,
      check: (b) => b.total === 1,
    },
    {
      key: '11d',
      label: `console group page: a random page of the big group's members (${ctx.seed.bigGroupSize.toLocaleString('en-US')})`,
      path: () => `${api}/groups/${ctx.seed.bigGroupId}?count=50&startIndex=${randomInt(1, Math.max(1, ctx.seed.bigGroupSize - 50))}`,
      check: (b) => (b.members as { total: number }).total === ctx.seed.bigGroupSize,
    },
  ];
  const rows: Row[] = [];
  try {
    for (const c of cases) {
      const problems = await probe(c.path(), c.check);
      rows.push(await measure(ctx, { key: c.key, scenario: 11, label: c.label, problems }, ctx.rosterUrl, load(c.path)));
    }
  } finally {
    await remove();
  }
  return rows;
}
