import { randomUUID } from 'node:crypto';
import express, { type Express } from 'express';
import type { Logger } from 'pino';
import type { Roster } from './roster';
import { routeNotFound } from './scim/errors';
import { locals, sendScim } from './scim/http';
import { scimErrorHandler, scimRouter } from './scim/router';

/** The HTTP application: /healthz and the SCIM service under /scim/v2. */
export function createApp(roster: Roster, logger: Logger): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.set('trust proxy', roster.config.trustProxy);

  app.use((req, res, next) => {
    const requestId = randomUUID();
    locals(res).requestId = requestId;
    res.setHeader('X-Request-Id', requestId);
    const started = process.hrtime.bigint();
    res.on('finish', () => {
      const actor = locals(res).actor;
      logger.info(
        {
          requestId,
          method: req.method,
          path: req.baseUrl + req.path,
          status: res.statusCode,
          ms: Number(process.hrtime.bigint() - started) / 1e6,
          credentialId: actor?.credentialId,
          organizationId: actor?.organizationId,
        },
        'request',
      );
    });
    next();
  });

  app.get('/healthz', async (_req, res) => {
    const ok = await roster.database.ping();
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable' });
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
    }),
  );

  app.use((req, res) => {
    sendScim(res, 404, routeNotFound(req.method, req.path));
  });
  app.use(scimErrorHandler(logger));
  return app;
}
