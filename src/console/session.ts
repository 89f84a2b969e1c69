import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, Response, Router } from 'express';
import type { Logger } from 'pino';
import { assertMayCreateOrganizations, consoleActor, csrfTokenOf, type ConsoleAdmin, type ConsoleAdminService } from '../domain/console-admins';
import { DomainError } from '../domain/errors';
import type { OrganizationService } from '../domain/organization.service';
import { clientAddress } from '../scim/http/rate-limit';
import { bodyText, ConsoleError, consoleLocals, cookieValue, handler, sendError } from './http';
import type { SignInLimits } from './sign-in-limits';

export const COOKIE = 'roster_console';
export const CSRF_HEADER = 'X-CSRF-Token';

export interface SessionDeps {
  admins: ConsoleAdminService;
  organizations: OrganizationService;
  signInLimits: SignInLimits;
  logger: Logger;
}

/**
 * The session cookie: HttpOnly (no script reads it), SameSite=Strict (no other site's
 * page sends it), Secure when the request came over https (req.secure follows
 * X-Forwarded-Proto only with ROSTER_TRUST_PROXY), scoped to /admin, and with no
 * expiry of its own: the server ends an idle session.
 */
function setCookie(req: Request, res: Response, value: string, clear = false): void {
  const parts = [`${COOKIE}=${value}`, 'Path=/admin', 'HttpOnly', 'SameSite=Strict'];
  if (req.secure) parts.push('Secure');
  if (clear) parts.push('Max-Age=0');
  res.append('Set-Cookie', parts.join('; '));
}

const unauthenticated = () => new ConsoleError(401, 'console.signed_out', 'sign in to use the console');

function sameSecret(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/** What the page learns of the signed-in administrator: who, which roles, which organizations. */
async function sessionView(admin: ConsoleAdmin, session: string, organizations: OrganizationService) {
  const all = await organizations.list();
  const visible = admin.organizationId === null ? all : all.filter((o) => o.id === admin.organizationId);
  return {
    admin: { email: admin.email, systemRole: admin.systemRole, organizationRole: admin.organizationRole, instance: admin.organizationId === null },
    csrfToken: csrfTokenOf(session),
    organizations: visible.map((o) => ({ slug: o.slug, name: o.name })),
  };
}

/** POST /session (sign in), GET /session (who am I), DELETE /session (sign out). */
export function addSessionRoutes(router: Router, deps: SessionDeps): void {
  const { admins, logger } = deps;
  router.post(
    '/session',
    handler(logger, async (req, res) => {
      const email = bodyText(req, 'email', 254) ?? '';
      const password = bodyText(req, 'password', 1024) ?? '';
      if (email === '' || password === '') throw new ConsoleError(400, 'console.sign_in_incomplete', 'enter your email and password');
      const address = clientAddress(req);
      const wait = await deps.signInLimits.attempt(email, address);
      if (wait > 0) {
        throw new ConsoleError(429, 'console.sign_in_limited', `too many failed sign-ins; try again in ${Math.ceil(wait / 60)} minute(s)`, wait);
      }
      const signedIn = await admins.signIn(email, password);
      if (!signedIn) throw new ConsoleError(401, 'console.sign_in_failed', 'wrong email or password, or the account is disabled');
      await deps.signInLimits.succeeded(email, address);
      setCookie(req, res, signedIn.session);
      return sessionView(signedIn.admin, signedIn.session, deps.organizations);
    }),
  );
  // The first-run setup link's form: creates the instance administrator and signs it in.
  router.post(
    '/setup',
    handler(logger, async (req, res) => {
      const token = bodyText(req, 'token', 64) ?? '';
      const email = bodyText(req, 'email', 254) ?? '';
      const password = bodyText(req, 'password', 1024) ?? '';
      if (email === '' || password === '') throw new ConsoleError(400, 'console.setup_incomplete', 'enter an email and a password');
      const signedIn = await admins.completeSetup(token, email, password);
      setCookie(req, res, signedIn.session);
      return sessionView(signedIn.admin, signedIn.session, deps.organizations);
    }),
  );
  router.get(
    '/session',
    handler(logger, async (_req, res) => {
      const { admin, session } = consoleLocals(res);
      if (!admin || !session) throw unauthenticated();
      return sessionView(admin, session, deps.organizations);
    }),
  );
  // A new organization (an instance administrator's, see assertMayCreateOrganizations).
  router.post(
    '/orgs',
    handler(logger, async (req, res) => {
      assertMayCreateOrganizations(consoleLocals(res).admin as ConsoleAdmin);
      const organization = await deps.organizations.create(bodyText(req, 'slug', 64) ?? '', bodyText(req, 'name', 200));
      return { organization: { slug: organization.slug, name: organization.name } };
    }),
  );
  router.delete(
    '/session',
    handler(logger, async (req, res) => {
      const { session } = consoleLocals(res);
      if (session) await admins.signOut(session);
      setCookie(req, res, '', true);
    }),
  );
}

/**
 * Reads the session cookie: a live session puts its administrator in the request's
 * locals (and restarts its idle clock). Every route but signing in needs one (401).
 */
export function sessionMiddleware(deps: SessionDeps) {
  return async (req: Request, res: Response, next: NextFunction) => {
    try {
      const session = cookieValue(req, COOKIE);
      const admin = session ? await deps.admins.resume(session) : null;
      if (admin && session) Object.assign(consoleLocals(res), { admin, session });
      const signingIn = req.method === 'POST' && (req.path === '/session' || req.path === '/setup');
      if (!admin && !signingIn) {
        if (session) setCookie(req, res, '', true);
        throw unauthenticated();
      }
      next();
    } catch (error) {
      sendError(res, error, deps.logger);
    }
  };
}

/**
 * CSRF protection for every change: a request other than GET or HEAD must come from
 * this origin (the Origin header, when the browser sends it: its host is the request's
 * Host, or it is ROSTER_PUBLIC_URL's origin) and, once signed in,
 * carry the session's token in X-CSRF-Token (a synchronizer token another site's page
 * cannot read). The body must be JSON, which a plain HTML form cannot send.
 */
export function csrfMiddleware(logger: Logger, publicBaseUrl?: string) {
  const publicOrigin = publicBaseUrl ? new URL(publicBaseUrl).origin : undefined;
  /** This origin: the host the request was sent to (a TLS proxy in front may change the scheme), or ROSTER_PUBLIC_URL's. */
  const sameOrigin = (origin: string, req: Request) => {
    if (origin === publicOrigin) return true;
    try {
      return new URL(origin).host === req.get('host');
    } catch {
      return false;
    }
  };
  return (req: Request, res: Response, next: NextFunction) => {
    if (req.method === 'GET' || req.method === 'HEAD') return next();
    const refuse = (message: string) => sendError(res, new ConsoleError(403, 'console.csrf_refused', message), logger);
    const origin = req.get('origin');
    if (origin !== undefined && !sameOrigin(origin, req)) return refuse('the request came from another origin');
    if (req.method !== 'DELETE' && !req.is('application/json')) {
      return sendError(res, new ConsoleError(415, 'console.json_required', 'the request body must be JSON (Content-Type: application/json)'), logger);
    }
    const { session } = consoleLocals(res);
    if (session === undefined) return next(); // signing in: no session yet
    const token = req.get(CSRF_HEADER) ?? '';
    if (!sameSecret(token, csrfTokenOf(session))) return refuse('the CSRF token is missing or wrong; reload the page');
    next();
  };
}

function notFoundAsUndefined(error: unknown): undefined {
  if (error instanceof DomainError && error.kind === 'not_found') return undefined;
  throw error;
}

/**
 * `/orgs/:org/...`: the organization by slug, and the administrator's actor in it. An
 * organization administrator asking for another organization gets the same 404 as for
 * one that does not exist: nothing tells them apart.
 */
export function organizationMiddleware(deps: SessionDeps) {
  return async (req: Request, res: Response, next: NextFunction) => {
    const locals = consoleLocals(res);
    try {
      const slug = String(req.params.org ?? '');
      const admin = locals.admin as ConsoleAdmin;
      const organization = /^[a-z0-9-]{1,64}$/.test(slug) ? await deps.organizations.bySlug(slug).catch(notFoundAsUndefined) : undefined;
      if (!organization || (admin.organizationId !== null && admin.organizationId !== organization.id)) {
        throw new ConsoleError(404, 'organization.not_found', 'Organization not found');
      }
      locals.organization = organization;
      locals.consoleActor = consoleActor(admin, organization.id, locals.requestId);
      next();
    } catch (error) {
      sendError(res, error, deps.logger);
    }
  };
}
