import type { NextFunction, Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Actor } from '../domain/actor';
import type { ConsoleAdmin } from '../domain/console-admins';
import { DomainError, type DomainErrorKind } from '../domain/errors';
import type { Organization } from '../domain/organization';

/** What a console request carries once its session (and, under /orgs/:org, its organization) is known. */
export interface ConsoleLocals {
  requestId: string;
  route?: string;
  errorCode?: string;
  admin?: ConsoleAdmin;
  session?: string;
  organization?: Organization;
  consoleActor?: Actor;
}

export const consoleLocals = (res: Response) => res.locals as ConsoleLocals;

/** A console API refusal: its status, a stable dotted code and a sentence for the page. */
export class ConsoleError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
  }
}

export const badRequest = (code: string, message: string) => new ConsoleError(400, code, message);

const STATUS: Record<DomainErrorKind, number> = {
  invalid_value: 400,
  invalid_filter: 400,
  invalid_syntax: 400,
  invalid_path: 400,
  no_target: 400,
  mutability: 400,
  uniqueness: 409,
  forbidden: 403,
  not_found: 404,
  precondition_failed: 412,
  too_many: 429,
  unavailable: 503,
};

/**
 * Every console API answer that is not a success: `{ error: { status, code, message } }`.
 * A domain refusal keeps its words (a 403 names the rule); anything unexpected is a 500
 * that says only the request id, and is logged.
 */
export function sendError(res: Response, error: unknown, logger: Logger): void {
  const locals = consoleLocals(res);
  let status = 500;
  let code = 'console.internal';
  let message = `internal error; request id ${locals.requestId}`;
  if (error instanceof ConsoleError) {
    ({ status, code, message } = error);
    if (error.retryAfterSeconds !== undefined) res.setHeader('Retry-After', String(error.retryAfterSeconds));
  } else if (error instanceof DomainError) {
    status = STATUS[error.kind];
    code = error.code;
    message = error.message;
  } else if (isClientError(error)) {
    status = error.status === 413 ? 413 : 400;
    code = status === 413 ? 'console.body_too_large' : 'console.request_invalid';
    message = status === 413 ? 'the request body is too large' : 'the request could not be read (a body that is not JSON, or a path that is not UTF-8)';
  } else {
    logger.error({ err: error, requestId: locals.requestId }, 'console request failed');
  }
  locals.errorCode = code;
  res.setHeader('Cache-Control', 'no-store');
  res.status(status).json({ error: { status, code, message } });
}

/** What Express and its body parser refuse before a route runs (a 4xx status: http-errors, or a path segment that does not decode). */
function isClientError(error: unknown): error is { status: number } {
  const e = error as { status?: number; expose?: boolean } | undefined;
  return typeof e?.status === 'number' && e.status >= 400 && e.status < 500 && (e.expose === true || error instanceof URIError);
}

/** Text PostgreSQL cannot hold (NUL) or that is not Unicode (a lone surrogate): refused before any query. */
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function storable(value: string, name: string): string {
  if (value.includes('\u0000') || LONE_SURROGATE.test(value))
    throw badRequest('console.parameter_invalid', `${name} contains a NUL character or is not valid Unicode`);
  return value;
}

/** An async route handler whose failures become console errors. */
export function handler(logger: Logger, work: (req: Request, res: Response) => Promise<unknown>) {
  return async (req: Request, res: Response, _next: NextFunction) => {
    consoleLocals(res).route = `/admin/api${String((req.route as { path?: string } | undefined)?.path ?? '')}`;
    try {
      const body = await work(req, res);
      if (res.headersSent) return;
      res.setHeader('Cache-Control', 'no-store');
      if (body === undefined) res.status(204).end();
      else res.status(200).json(body);
    } catch (error) {
      sendError(res, error, logger);
    }
  };
}

/** One query parameter as a string (a repeated or nested one is refused). */
export function queryText(req: Request, name: string, maxLength = 4096): string | undefined {
  const value = (req.query as Record<string, unknown>)[name];
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw badRequest('console.parameter_invalid', `${name} must be given once`);
  if (value.length > maxLength) throw badRequest('console.parameter_too_long', `${name} must be at most ${maxLength} characters`);
  return storable(value, name);
}

/** A whole number query parameter from `min` to `max`, or `fallback` when absent. */
export function queryInteger(req: Request, name: string, fallback: number, min: number, max: number): number {
  const text = queryText(req, name, 20);
  if (text === undefined || text === '') return fallback;
  if (!/^\d+$/.test(text) || Number(text) < min || Number(text) > max) {
    throw badRequest('console.parameter_invalid', `${name} must be a whole number from ${min} to ${max}`);
  }
  return Number(text);
}

/** A JSON body's field as a string (absent: undefined; another type: refused). */
export function bodyText(req: Request, name: string, maxLength = 256): string | undefined {
  const body = req.body as Record<string, unknown> | undefined;
  const value = body && typeof body === 'object' && !Array.isArray(body) ? body[name] : undefined;
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'string') throw badRequest('console.body_invalid', `${name} must be a string`);
  if (value.length > maxLength) throw badRequest('console.body_invalid', `${name} must be at most ${maxLength} characters`);
  return storable(value, name);
}

/** The session cookie's value, read from the Cookie header (no other cookie is looked at). */
export function cookieValue(req: Request, name: string): string | undefined {
  const header = req.headers.cookie;
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
