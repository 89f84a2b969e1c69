/**
 * The second baseline of scenario 1 (#16 item 2): bare `node:http` and `pg`, no Express,
 * answering GET /scim/v2/Users?filter=userName eq "…" with the same query through a pg
 * pool of 10 and the same ListResponse as `baseline-server.ts`. Set beside that one it
 * shows what Express itself costs per request.
 *
 * Run by bench/run.ts as its own process: DATABASE_URL, BENCH_ORG_ID, PORT.
 */
import http from 'node:http';
import pg from 'pg';
import { USER_BY_NAME, listResponse, userNameFilter, userResource, type Row } from './baseline-render';

const url = process.env.DATABASE_URL;
const organizationId = process.env.BENCH_ORG_ID;
const port = Number(process.env.PORT);
if (!url || !organizationId || !Number.isInteger(port)) {
  process.stderr.write('baseline-http: needs DATABASE_URL, BENCH_ORG_ID and PORT\n');
  process.exit(2);
}

const pool = new pg.Pool({ connectionString: url, max: 10 });

function send(res: http.ServerResponse, status: number, type: string, body: string) {
  res.writeHead(status, { 'content-type': type, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
  const target = req.url ?? '/';
  const question = target.indexOf('?');
  const path = question < 0 ? target : target.slice(0, question);
  if (req.method === 'GET' && path === '/healthz') return send(res, 200, 'application/json', '{"status":"ok"}');
  if (req.method !== 'GET' || path !== '/scim/v2/Users') return send(res, 404, 'application/json', '{"detail":"not found"}');
  const name = userNameFilter(new URLSearchParams(question < 0 ? '' : target.slice(question + 1)).get('filter') ?? '');
  if (name === undefined) return send(res, 400, 'application/json', '{"detail":"only userName eq \\"...\\""}');
  const { rows } = await pool.query<Row>(USER_BY_NAME, [name, organizationId]);
  send(res, 200, 'application/scim+json; charset=utf-8', listResponse(rows.map(userResource)));
}

const server = http.createServer((req, res) => {
  handle(req, res).catch(() => {
    if (!res.headersSent) send(res, 500, 'application/json', '{"detail":"query failed"}');
    else res.destroy();
  });
});
server.listen(port, '127.0.0.1', () => process.stdout.write(`baseline-http listening on ${port}\n`));
const stop = () => {
  server.close(() => void pool.end().finally(() => process.exit(0)));
  server.closeAllConnections();
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
