/**
 * The baseline of scenarios 1, 2 and 6: a bare Express handler that answers the same
 * requests with one indexed query each on the same database, through a pg pool of 10,
 * and renders a small SCIM ListResponse. No auth, no ORM, no mapping layers: what the
 * hardware, Node, Express and PostgreSQL alone cost for the request.
 *
 * Run by bench/run.ts as its own process: DATABASE_URL, BENCH_ORG_ID, PORT.
 */
import express from 'express';
import pg from 'pg';

const url = process.env.DATABASE_URL;
const organizationId = process.env.BENCH_ORG_ID;
const port = Number(process.env.PORT);
if (!url || !organizationId || !Number.isInteger(port)) {
  process.stderr.write('baseline: needs DATABASE_URL, BENCH_ORG_ID and PORT\n');
  process.exit(2);
}

const pool = new pg.Pool({ connectionString: url, max: 10 });
const LIST = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const eq = /^\s*(userName|displayName)\s+eq\s+"((?:[^"\\]|\\.)*)"\s*$/i;

type Row = Record<string, unknown>;

function listResponse(resources: unknown[]): string {
  return JSON.stringify({ schemas: [LIST], totalResults: resources.length, startIndex: 1, itemsPerPage: resources.length, Resources: resources });
}

const app = express();
app.disable('x-powered-by');
app.set('etag', false);

app.get('/healthz', (_req, res) => {
  res.json({ status: 'ok' });
});

app.get('/scim/v2/Users', async (req, res) => {
  const match = eq.exec(String(req.query.filter ?? ''));
  if (!match || match[1]?.toLowerCase() !== 'username') {
    res.status(400).json({ detail: 'only userName eq "..."' });
    return;
  }
  const { rows } = await pool.query<Row>('select * from users where lower(user_name) = lower($1) and organization_id = $2', [
    JSON.parse(`"${match[2]}"`) as string,
    organizationId,
  ]);
  const resources = rows.map((u) => ({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    id: u.id,
    externalId: u.external_id,
    userName: u.user_name,
    name: { formatted: u.name_formatted, familyName: u.name_family_name, givenName: u.name_given_name },
    displayName: u.display_name,
    title: u.title,
    active: u.active,
    emails: u.emails,
    meta: { resourceType: 'User', version: `W/"${String(u.version)}"`, location: `/scim/v2/Users/${String(u.id)}` },
  }));
  res.status(200).type('application/scim+json').send(listResponse(resources));
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
