import express, { Router, type NextFunction, type Request, type Response } from 'express';
import type { Logger } from 'pino';
import type { CredentialService } from '../../domain/credential.service';
import type { GroupService } from '../../domain/group.service';
import type { UserService } from '../../domain/user.service';
import { bearerAuth } from './auth';
import { discoveryRouter } from '../resources/discovery.routes';
import { bulkRouter } from '../resources/bulk';
import { eventPollRouter } from '../resources/event-poll.routes';
import { POLL_PATH, type SetPoller } from '../../events/poll';
import { inputGuard, utf8Body } from './input-guard';
import { invalidSyntax, notImplemented, payloadTooLarge, routeNotFound, toScimError, unsupportedMediaType, type ScimError } from './errors';
import { groupsRouter } from '../resources/groups.routes';
import { locals, sendScimError } from './http';
import { requestLogging, type RequestLogSink } from './request-log';
import { configureScimmy } from '../schema/scimmy';
import { rootSearchRouter } from '../list/root-search';
import { usersRouter } from '../resources/users.routes';
import type { AuthFailureLimiter, RateLimiter } from './rate-limit';

export interface ScimDeps {
  rateLimiter: RateLimiter;
  onRateLimited?: () => void;
  /** Failed authentications per client address; undefined: not limited. */
  authFailures?: AuthFailureLimiter;
  /** A request refused by authentication: 401, or 429 for an address over its failure budget. */
  onAuthRefused?: (reason: 'unauthorized' | 'blocked') => void;
  users: UserService;
  groups: GroupService;
  credentials: CredentialService;
  /** Poll delivery of security events (RFC 8936) at POLL_PATH; undefined: not served. */
  setPoller?: SetPoller;
  publicBaseUrl: string | undefined;
  maxBodyBytes: number;
  logger: Logger;
  /** The request log (ROSTER_REQUEST_LOG); undefined: off. */
  requestLog?: RequestLogSink;
}

const JSON_TYPES = ['application/scim+json', 'application/json', 'application/*+json'];

/** The SCIM 2.0 service, mounted at /scim/v2. Every answer, errors included, is SCIM JSON. */
export function scimRouter(deps: ScimDeps): Router {
  configureScimmy();
  const router = Router();
  if (deps.requestLog) router.use(requestLogging(deps.requestLog));
  router.use(bearerAuth(deps.credentials, { failures: deps.authFailures, onRefused: deps.onAuthRefused }));
  router.use(deps.rateLimiter.middleware(deps.onRateLimited));
  // Bulk parses its own body, up to the maxPayloadSize it advertises. Mounted at its
  // path, so other requests pass it by one path test instead of walking its routes.
  router.use('/Bulk', bulkRouter(deps));
  // Poll delivery (RFC 8936) reads its own body and answers RFC 8936 JSON, not SCIM.
  if (deps.setPoller) router.use(POLL_PATH, eventPollRouter(deps.setPoller, deps.maxBodyBytes, deps.publicBaseUrl));
  router.use(express.json({ type: JSON_TYPES, limit: deps.maxBodyBytes, strict: true, verify: utf8Body }));
  router.use(inputGuard);
  // The resources first: they take nearly every request (no path is served twice).
  router.use('/Users', usersRouter(deps.users, deps.publicBaseUrl));
  router.use('/Groups', groupsRouter(deps.groups, deps.publicBaseUrl));
  router.use(discoveryRouter(deps.publicBaseUrl));
  router.use(rootSearchRouter(deps.users, deps.groups, deps.publicBaseUrl));
  router.all(['/Me', '/Me/*rest'], () => {
    throw notImplemented('request.me_unsupported', '/Me is not supported: a provisioning token is not a user');
  });
  router.use((req: Request) => {
    throw routeNotFound(req.method, req.baseUrl + req.path);
  });
  router.use(scimErrorHandler(deps.logger));
  return router;
}

/** The one place an error becomes a response: SCIM body, right status, no internals. */
export function scimErrorHandler(logger: Logger) {
  return (error: unknown, req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(error);
    const requestId = locals(res).requestId;
    const scimError = toScimError(bodyParserError(error) ?? error, requestId);
    if (scimError.status >= 500 && scimError.status !== 503 && scimError.status !== 501) {
      logger.error({ err: error, requestId, method: req.method, path: req.baseUrl + req.path }, 'request failed');
    }
    sendScimError(res, scimError);
  };
}

/**
 * express.json's errors (malformed JSON, bytes that are not UTF-8, too large, bad
 * charset) as SCIM errors, and the router's for a path segment that does not decode
 * (`/Users/%FF`: a URIError it marks 400).
 */
function bodyParserError(error: unknown): ScimError | undefined {
  const e = error as { type?: string; status?: number } | undefined;
  if (error instanceof URIError && e?.status === 400) {
    return invalidSyntax('request.path_not_utf8', 'the request path is not valid UTF-8 once percent-decoded');
  }
  switch (e?.type) {
    case 'entity.parse.failed':
      return invalidSyntax('request.body_not_json', 'the request body is not valid JSON');
    case 'entity.not.utf8':
      return invalidSyntax('request.body_not_utf8', 'the request body is not valid UTF-8');
    case 'entity.too.large':
      return payloadTooLarge('request.body_too_large', 'the request body is larger than this server accepts');
    case 'encoding.unsupported':
      return unsupportedMediaType('request.encoding_unsupported', 'the request body must be UTF-8 JSON');
    case 'charset.unsupported':
      return unsupportedMediaType('request.charset_unsupported', 'the request body must be UTF-8 JSON');
    case 'request.aborted':
      return invalidSyntax('request.body_aborted', 'the request body was cut short');
    default:
      return undefined;
  }
}
