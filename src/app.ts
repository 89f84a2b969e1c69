import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import path from 'node:path';
import express, { type Express, type RequestHandler } from 'express';
import helmet, { type HelmetOptions } from 'helmet';
import type { Logger } from 'pino';
import { consoleRouter } from './console/router';
import { jwksRouter } from './events/jwks.routes';
import { Metrics } from './metrics';
import type { Roster } from './roster';
import { routeNotFound } from './scim/http/errors';
import { locals, scimBaseUrl, sendScim } from './scim/http/http';
import { scimErrorHandler, scimRouter } from './scim/http/router';

/** Constant-time comparison of two secrets of any length. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The security headers a JSON API needs, chosen with helmet: no framing, no MIME
 * sniffing, no referrer, HTTPS only, and a CSP that lets a response load nothing.
 * (The headers for HTML documents, such as COOP, Origin-Agent-Cluster or the
 * legacy IE and Flash ones, are left out.)
 */
const SECURITY_HEADERS: Readonly<HelmetOptions> = {
  contentSecurityPolicy: { useDefaults: false, directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } },
  crossOriginOpenerPolicy: false,
  crossOriginResourcePolicy: { policy: 'same-origin' },
  originAgentCluster: false,
  referrerPolicy: { policy: 'no-referrer' },
  strictTransportSecurity: { maxAge: 31_536_000, includeSubDomains: true },
  xContentTypeOptions: true,
  xDnsPrefetchControl: false,
  xDownloadOptions: false,
  xFrameOptions: { action: 'deny' },
  xPermittedCrossDomainPolicies: false,
  xXssProtection: false,
};

/**
 * helmet's headers, worked out once: they depend on nothing in the request, so each
 * response gets the same list, set with the request id instead of through helmet's
 * chain of one middleware per header.
 */
export function securityHeaders(options: Readonly<HelmetOptions> = SECURITY_HEADERS): [string, string][] {
  const headers: [string, string][] = [];
  let done = false;
  const recorder = {
    setHeader: (name: string, value: unknown) => headers.push([name, String(value)]),
    removeHeader: () => undefined,
  };
  helmet(options)({} as never, recorder as never, () => {
    done = true;
  });
  if (!done) throw new Error('helmet did not set its headers at once');
  return headers;
}

/**
 * Where the built console pages are (`npm run build` writes them): dist/console at the
 * project's root, whether this file runs from src/ (tsx, tests) or from dist/src/.
 */
export const CONSOLE_ASSETS = path.resolve(__dirname, __dirname.endsWith(path.join('dist', 'src')) ? '..' : path.join('..', 'dist'), 'console');

/**
 * The HTTP application: the SCIM service under /scim/v2, the web console under /admin,
 * /healthz, /readyz, /metrics and the JWKS of the event signing keys.
 */
export function createApp(roster: Roster, logger: Logger, metrics: Metrics = new Metrics(), options: { consoleAssets?: string } = {}): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', roster.config.trustProxy);
  app.use(requestContext(logger, metrics));
  const writer = roster.requestLog.writer;
  writer?.observe({
    written: (count) => metrics.requestLogWritten.inc(count),
    dropped: (count, reason) => metrics.requestLogDropped.inc({ reason }, count),
    failed: warnAtMostEveryMinute(logger),
  });

  // The SCIM service first: it takes nearly every request.
  app.use(
    '/scim/v2',
    scimRouter({
      users: roster.users,
      groups: roster.groups,
      credentials: roster.credentials,
      setPoller: roster.setPoller,
      publicBaseUrl: roster.config.publicBaseUrl,
      maxBodyBytes: roster.config.maxBodyBytes,
      logger,
      rateLimiter: roster.rateLimits.requests,
      onRateLimited: () => metrics.rateLimited.inc(),
      authFailures: roster.rateLimits.authFailures,
      onAuthRefused: (reason) => metrics.authRefused.inc({ reason }),
      ...(writer ? { requestLog: writer } : {}),
    }),
  );
  addOperationsRoutes(app, roster, metrics);
  app.use(jwksRouter(roster.signingKeys));
  app.use(
    '/admin',
    consoleRouter({
      admins: roster.consoleAdmins,
      signInLimits: roster.signInLimits,
      users: roster.users,
      groups: roster.groups,
      credentials: roster.credentials,
      organizations: roster.organizations,
      receivers: roster.receivers,
      requestLog: roster.requestLog.reader,
      scimBaseUrl: (req) => scimBaseUrl(req, roster.config.publicBaseUrl),
      publicBaseUrl: roster.config.publicBaseUrl,
      assetsDir: options.consoleAssets ?? CONSOLE_ASSETS,
      logger,
    }),
  );

  app.use((req, res) => {
    sendScim(res, 404, routeNotFound(req.method, req.path));
  });
  app.use(scimErrorHandler(logger));
  return app;
}

/**
 * Every request's first step: the security headers and a request id, then, when the
 * response is finished, the request log's entry, its metrics and one log line (one
 * `finish` listener for all three).
 */
function requestContext(logger: Logger, metrics: Metrics): RequestHandler {
  const headers = securityHeaders();
  return (req, res, next) => {
    for (const [name, value] of headers) res.setHeader(name, value);
    // Express 5 parses the query string again on every read of req.query: once is enough.
    Object.defineProperty(req, 'query', { value: req.query, configurable: true, enumerable: true, writable: true });
    const requestId = randomUUID();
    locals(res).requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const { actor, route = 'unmatched', errorCode, log } = locals(res);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // The request log's entry (a SCIM request, when the log is on: src/scim/http/request-log.ts).
      log?.finished(ms);
      metrics.requests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.latency.observe({ method: req.method, route }, ms / 1000);
      if (!logger.isLevelEnabled('info')) return;
      // No query string and no body: filters and bodies carry personal data.
      logger.info(
        {
          requestId,
          method: req.method,
          route,
          status: res.statusCode,
          ms: Math.round(ms * 10) / 10,
          credentialId: actor?.credentialId,
          organizationId: actor?.organizationId,
          // The dotted code of a refusal (`patch.op_invalid`); absent on success.
          errorCode,
        },
        'request',
      );
    });
    next();
  };
}

/** A request log batch that failed (the database is away): a warning, at most one a minute. */
function warnAtMostEveryMinute(logger: Logger): (error: unknown) => void {
  let warnedAt = 0;
  return (error) => {
    if (Date.now() - warnedAt < 60_000) return;
    warnedAt = Date.now();
    logger.warn({ err: error, source: 'request-log' }, 'request log entries dropped: storing them failed');
  };
}

/** The operator's routes beside the SCIM service: liveness, readiness and metrics. */
function addOperationsRoutes(app: Express, roster: Roster, metrics: Metrics): void {
  // Liveness: the process answers. It never touches the database: an outage there makes
  // the instance unready (/readyz), and restarting it would not bring the database back.
  app.get('/healthz', (_req, res) => {
    res.status(200).json({ status: 'ok' });
  });

  // Readiness: the database answers (within 2 s) and holds every migration this build
  // knows; once the migrations have been found applied, only the ping is repeated.
  app.get('/readyz', async (_req, res) => {
    const database = await roster.database.ping();
    const migrations = database && (await roster.database.migrated());
    const ok = database && migrations;
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not ready', database, migrations });
  });

  app.get('/metrics', async (req, res) => {
    const token = roster.config.metricsToken;
    if (token !== undefined && !sameSecret(req.get('authorization') ?? '', `Bearer ${token}`)) {
      res.setHeader('WWW-Authenticate', 'Bearer realm="roster-metrics"');
      res.status(401).type('text/plain').send('a valid metrics token is required\n');
      return;
    }
    const pool = roster.database.poolStats();
    metrics.poolUsed.set(pool.used);
    metrics.poolFree.set(pool.free);
    metrics.poolPending.set(pool.pending);
    metrics.requestLogPending.set(roster.requestLog.writer?.pending ?? 0);
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });
}

/**
 * The HTTP server for an app, listening. Idle keep-alive connections stay open for
 * `keepAliveTimeoutMs` (ROSTER_KEEP_ALIVE_TIMEOUT_MS, 65 s by default): longer than a
 * load balancer's idle timeout (60 s on AWS ALB, nginx, HAProxy setups), so the
 * balancer, not Roster, closes an idle connection, and never sends a request on one
 * Roster has just closed (a 502). `headersTimeout` is one second more, as Node's
 * documentation advises, so the header timer never cuts a connection the keep-alive
 * timer would still keep.
 */
export async function startServer(app: Express, options: { port: number; host: string; keepAliveTimeoutMs: number }): Promise<Server> {
  const server = createServer(app);
  server.keepAliveTimeout = options.keepAliveTimeoutMs;
  server.headersTimeout = options.keepAliveTimeoutMs + 1_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return server;
}
