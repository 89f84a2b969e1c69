import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import express, { type Express } from 'express';
import helmet from 'helmet';
import type { Logger } from 'pino';
import { Metrics } from './metrics';
import type { Roster } from './roster';
import { routeNotFound } from './scim/errors';
import { locals, sendScim } from './scim/http';
import { RateLimiter } from './scim/rate-limit';
import { scimErrorHandler, scimRouter } from './scim/router';

/** Constant-time comparison of two secrets of any length. */
function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** The HTTP application: /healthz and the SCIM service under /scim/v2. */
export function createApp(roster: Roster, logger: Logger, metrics: Metrics = new Metrics()): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', roster.config.trustProxy);
  app.use(helmet({ contentSecurityPolicy: { directives: { defaultSrc: ["'none'"], frameAncestors: ["'none'"] } } }));

  app.use((req, res, next) => {
    const requestId = randomUUID();
    locals(res).requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const { actor, route = 'unmatched' } = locals(res);
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      metrics.requests.inc({ method: req.method, route, status: String(res.statusCode) });
      metrics.latency.observe({ method: req.method, route }, ms / 1000);
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
        },
        'request',
      );
    });
    next();
  });

  // Liveness: the process answers and so does its database.
  app.get('/healthz', async (_req, res) => {
    const ok = await roster.database.ping();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable' });
  });

  // Readiness: the database answers and every migration is applied.
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
    res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
  });

  app.use(
    '/scim/v2',
    scimRouter({
      users: roster.users,
      groups: roster.groups,
      credentials: roster.credentials,
      publicBaseUrl: roster.config.publicBaseUrl,
      maxBodyBytes: roster.config.maxBodyBytes,
      logger,
      rateLimiter: new RateLimiter(roster.config.rateLimitPerSecond, roster.config.rateLimitBurst),
      onRateLimited: () => metrics.rateLimited.inc(),
    }),
  );

  app.use((req, res) => {
    sendScim(res, 404, routeNotFound(req.method, req.path));
  });
  app.use(scimErrorHandler(logger));
  return app;
}
