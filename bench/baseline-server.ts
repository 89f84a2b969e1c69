/**
 * The baseline of scenarios 1, 2, 3, 4 and 6: a bare Express handler that answers the
 * same requests with one statement each on the same database, through a pg pool of 10,
 * and renders a small SCIM resource or ListResponse. No auth, no ORM, no mapping layers,
 * no transaction around the statement: what the hardware, Node, Express and PostgreSQL
 * alone cost for the request.
 *
 * - GET /Users?filter=userName eq, GET /Groups?filter=displayName eq: one indexed query.
 * - POST /Users: one INSERT of the row Roster stores for scenario 3's body (the same
 *   columns and values; the users table's triggers run as they do for Roster's), 201
 *   with the stored user.
 * - PATCH /Users/:id: one UPDATE of `active` with the version bump, as Roster's PATCH
 *   of scenario 4 stores it, 204.
 *
 * Run by bench/run.ts as its own process: DATABASE_URL, BENCH_ORG_ID, PORT.
 */
import { randomUUID } from 'node:crypto';
import express from 'express';
import pg from 'pg';
import { USER_BY_NAME, eq, listResponse, userNameFilter, userResource, type Row } from './baseline-render';

const url = process.env.DATABASE_URL;
const organizationId = process.env.BENCH_ORG_ID;
const port = Number(process.env.PORT);
if (!url || !organizationId || !Number.isInteger(port)) {
  process.stderr.write('baseline: needs DATABASE_URL, BENCH_ORG_ID and PORT\n');
  process.exit(2);
}

const pool = new pg.Pool({ connectionString: url, max: 10 });
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
/** The columns Roster fills for scenario 3's body (the rest keep their defaults, as in Roster's row). */
const INSERT_USER = `insert into users (id, organization_id, user_name, external_id, display_name, title, name_formatted,
  name_family_name, name_given_name, active, emails, enterprise, system_role, organization_role)
  values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, 'User', 'Standard User') returning *`;
const UPDATE_ACTIVE = 'update users set active = $1, version = version + 1, updated_at = clock_timestamp() where id = $2 and organization_id = $3';

const app = express();
app.disable('x-powered-by');
app.set('etag', false);
app.use(express.json({ type: ['application/json', 'application/scim+json'] }));

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

app.get('/scim/v2/Users', async (req, res) => {
  const name = userNameFilter(String(req.query.filter ?? ''));
  if (name === undefined) {
    res.status(400).json({ detail: 'only userName eq "..."' });
    return;
  }
  const { rows } = await pool.query<Row>(USER_BY_NAME, [name, organizationId]);
  res
    .status(200)
    .type('application/scim+json')
    .send(listResponse(rows.map(userResource)));
});

app.post('/scim/v2/Users', async (req, res) => {
  const body = (req.body ?? {}) as Record<string, unknown>;
  const name = (body.name ?? {}) as Record<string, unknown>;
  if (typeof body.userName !== 'string' || body.userName === '') {
    res.status(400).json({ detail: 'userName is required' });
    return;
  }
  try {
    const { rows } = await pool.query<Row>(INSERT_USER, [
      randomUUID(),
      organizationId,
      body.userName,
      body.externalId ?? null,
      body.displayName ?? null,
      body.title ?? null,
      name.formatted ?? null,
      name.familyName ?? null,
      name.givenName ?? null,
      body.active ?? true,
      JSON.stringify(body.emails ?? []),
      body[ENTERPRISE] === undefined ? null : JSON.stringify(body[ENTERPRISE]),
    ]);
    res
      .status(201)
      .type('application/scim+json')
      .send(JSON.stringify(userResource(rows[0] as Row)));
  } catch (error) {
    const uniqueViolation = (error as { code?: string }).code === '23505';
    res.status(uniqueViolation ? 409 : 500).json({ detail: uniqueViolation ? 'userName taken' : 'insert failed' });
  }
});

app.patch('/scim/v2/Users/:id', async (req, res) => {
  const operations = ((req.body ?? {}) as { Operations?: { op?: string; path?: string; value?: unknown }[] }).Operations ?? [];
  const active = operations.length === 1 && operations[0]?.op?.toLowerCase() === 'replace' && operations[0].path === 'active' ? operations[0].value : undefined;
  if (typeof active !== 'boolean') {
    res.status(400).json({ detail: 'only one replace of active' });
    return;
  }
  const id = req.params.id;
  const { rowCount } = UUID.test(id) ? await pool.query(UPDATE_ACTIVE, [active, id, organizationId]) : { rowCount: 0 };
  if (rowCount === 0) res.status(404).json({ detail: 'no such user' });
  else res.status(204).end();
});

app.get('/scim/v2/Groups', async (req, res) => {
  const match = eq.exec(String(req.query.filter ?? ''));
  if (!match || match[1]?.toLowerCase() !== 'displayname') {
    res.status(400).json({ detail: 'only displayName eq "..."' });
    return;
  }
  const { rows } = await pool.query<Row>('select * from groups where organization_id = $1 and lower(display_name) = lower($2)', [
    organizationId,
    JSON.parse(`"${match[2]}"`) as string,
  ]);
  const resources = rows.map((g) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    id: g.id,
    displayName: g.display_name,
    externalId: g.external_id,
    meta: { resourceType: 'Group', version: `W/"${String(g.version)}"`, location: `/scim/v2/Groups/${String(g.id)}` },
  }));
  res.status(200).type('application/scim+json').send(listResponse(resources));
});

const server = app.listen(port, '127.0.0.1');
server.once('listening', () => process.stdout.write(`baseline listening on ${port}\n`));
const stop = () => {
  server.close(() => void pool.end().finally(() => process.exit(0)));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
