import fs from 'node:fs';
import path from 'node:path';
import express, { type Request, type Router } from 'express';
import type { Logger } from 'pino';
import type { ConsoleAdminService } from '../domain/console-admins';
import type { CredentialService } from '../domain/credential.service';
import type { GroupService } from '../domain/group.service';
import type { OrganizationService } from '../domain/organization.service';
import type { ReceiverStore } from '../domain/receivers';
import type { RequestLogReader } from '../domain/request-log';
import type { UserService } from '../domain/user.service';
import { ConsoleError, consoleLocals, sendError } from './http';
import { addOrganizationRoutes } from './organization.routes';
import { addRequestRoutes } from './requests.routes';
import { addSessionRoutes, csrfMiddleware, organizationMiddleware, sessionMiddleware } from './session';
import type { SignInLimits } from './sign-in-limits';
import { addUserRoutes } from './users.routes';

export interface ConsoleDeps {
  admins: ConsoleAdminService;
  signInLimits: SignInLimits;
  users: UserService;
  groups: GroupService;
  credentials: CredentialService;
  organizations: OrganizationService;
  receivers: ReceiverStore;
  /** The request log's read port (every read scoped by organization). */
  requestLog: RequestLogReader;
  scimBaseUrl: (req: Request) => string;
  /** ROSTER_PUBLIC_URL: its origin is this console's too (a proxy in front may change the Host). */
  publicBaseUrl?: string;
  /** The built pages (dist/console, `npm run build`); without them /admin/ answers 503. */
  assetsDir: string;
  logger: Logger;
}

/**
 * The console's content-security policy: everything from this origin only, no inline
 * script or style, no framing, forms and base URLs pinned.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "connect-src 'self'",
  "font-src 'self'",
  "manifest-src 'self'",
  "form-action 'self'",
  "base-uri 'none'",
  "frame-ancestors 'none'",
].join('; ');

/** The web console, mounted at /admin: its JSON API under /admin/api and its pages. */
export function consoleRouter(deps: ConsoleDeps): Router {
  const router = express.Router();
  router.use((_req, res, next) => {
    res.setHeader('Content-Security-Policy', CONSOLE_CSP);
    next();
  });
  router.use('/api', apiRouter(deps));
  router.get('/', (req, res, next) => {
    if (req.originalUrl.split('?')[0].endsWith('/')) return next();
    res.redirect(301, '/admin/');
  });
  const index = path.join(deps.assetsDir, 'index.html');
  router.use(
    express.static(deps.assetsDir, {
      index: false,
      fallthrough: true,
      setHeaders: (res, file) => res.setHeader('Cache-Control', /-[A-Z0-9]{8}\.(js|css)$/.test(file) ? 'public, max-age=31536000, immutable' : 'no-cache'),
    }),
  );
  router.get('/', (_req, res) => {
    consoleLocals(res).route = '/admin/';
    if (!fs.existsSync(index)) {
      res.status(503).type('text/plain').send('The console has not been built: run `npm run build` (npm start does).\n');
      return;
    }
    res.setHeader('Cache-Control', 'no-cache');
    res.sendFile(index);
  });
  return router;
}

function apiRouter(deps: ConsoleDeps): Router {
  const api = express.Router();
  const sessionDeps = { admins: deps.admins, organizations: deps.organizations, signInLimits: deps.signInLimits, logger: deps.logger };
  api.use(express.json({ limit: '16kb', type: ['application/json'] }));
  api.use(sessionMiddleware(sessionDeps));
  api.use(csrfMiddleware(deps.logger, deps.publicBaseUrl));
  addSessionRoutes(api, sessionDeps);
  api.use('/orgs/:org', organizationMiddleware(sessionDeps));
  addUserRoutes(api, { users: deps.users, organizations: deps.organizations, logger: deps.logger });
  addOrganizationRoutes(api, deps);
  addRequestRoutes(api, { requestLog: deps.requestLog, logger: deps.logger });
  api.use((req, res) => sendError(res, new ConsoleError(404, 'console.not_found', `no console API at ${req.method} ${req.path}`), deps.logger));
  api.use((error: unknown, _req: Request, res: express.Response, _next: express.NextFunction) => sendError(res, error, deps.logger));
  return api;
}
