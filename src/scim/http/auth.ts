import type { NextFunction, Request, Response } from 'express';
import passport from 'passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import type { Actor } from '../../domain/actor';
import { hashSecret, type CredentialService } from '../../domain/credential.service';
import { toScimError, unauthorized } from './errors';
import { locals, sendScimError } from './http';
import { clientAddress, refuseTooMany, type AuthFailureLimiter } from './rate-limit';

/**
 * `Authorization: Bearer <token>`, strictly: the scheme (in any letter case), one space,
 * and one run of printable ASCII without spaces. Anything else (a tab, two words, a
 * trailing comma-separated second credential) is no token at all.
 */
const BEARER = /^bearer ([\x21-\x7e]+)$/i;

/** The token of a request's Authorization header, or undefined when the header is missing or malformed. */
export function bearerToken(header: string | undefined): string | undefined {
  return header === undefined ? undefined : BEARER.exec(header)?.[1];
}

/** Tokens that authenticated lately: they skip an address's failure block (they are still looked up). */
const KNOWN_GOOD_TTL_MS = 15 * 60_000;
const KNOWN_GOOD_MAX = 10_000;

/** The hashes of tokens that authenticated lately, each for KNOWN_GOOD_TTL_MS, at most KNOWN_GOOD_MAX (the oldest go first). */
class KnownGoodTokens {
  private readonly until = new Map<string, number>();

  remember(hash: string): void {
    this.until.delete(hash);
    this.until.set(hash, Date.now() + KNOWN_GOOD_TTL_MS);
    if (this.until.size > KNOWN_GOOD_MAX) this.until.delete(this.until.keys().next().value as string);
  }

  has(hash: string): boolean {
    const until = this.until.get(hash);
    if (until === undefined) return false;
    if (until > Date.now()) return true;
    this.until.delete(hash);
    return false;
  }

  forget(hash: string): void {
    this.until.delete(hash);
  }
}

/** A lookup that could not run (the database is away): 503 with Retry-After, as every 503. */
function sendAuthError(res: Response, error: unknown): void {
  // A 503 carries its Retry-After (1 s): the error table gives it.
  sendScimError(res, toScimError(error, locals(res).requestId));
}

export interface BearerAuthOptions {
  /** Failed lookups per client address; undefined: not limited. */
  failures?: AuthFailureLimiter;
  /** A request refused: 401 (no valid token) or 429 (its address is over its failure budget). */
  onRefused?: (reason: 'unauthorized' | 'blocked') => void;
}

/**
 * Passport decides who is calling; every failure (no header, a malformed one, an
 * unknown, revoked or expired token, a token in the query string) gives the same 401
 * with a SCIM body and `WWW-Authenticate: Bearer`. A database that does not answer is
 * a 503, not a 401.
 *
 * Only the Authorization header carries a token. passport-http-bearer would also take
 * `access_token` from the body or the query string; it is handed a view of the request
 * with the header alone, and a request with `access_token` in its query string is
 * refused outright (RFC 6750 section 2: one method per request; the query string ends
 * up in logs and browser histories).
 *
 * A client address whose tokens failed `ROSTER_AUTH_FAILURES_PER_MINUTE` times this
 * minute gets 429 (with `Retry-After`) without a lookup, except for a token that is
 * one of the active credentials (an in-memory set of their hashes, `mayBeActive`) or
 * that authenticated in this process within the last 15 minutes: an identity provider
 * that shares its addresses with a misconfigured or hostile client keeps working.
 */
export function bearerAuth(credentials: CredentialService, options: BearerAuthOptions = {}) {
  const { failures, onRefused = () => undefined } = options;
  const authenticator = new passport.Passport();
  authenticator.use(
    'scim-bearer',
    new BearerStrategy((token, done) => {
      credentials.authenticate(token).then(
        (actor) => done(null, actor ?? false),
        (error) => done(error),
      );
    }),
  );
  const knownGood = new KnownGoodTokens();
  /** 401; `code` says why: no usable header, a token in the query string, or a token that does not authenticate. */
  const refuse = (res: Response, code: 'auth.token_missing' | 'auth.token_in_query' | 'auth.token_rejected') => {
    onRefused('unauthorized');
    res.setHeader('WWW-Authenticate', 'Bearer realm="roster"');
    sendScimError(res, unauthorized(code, 'a valid bearer token is required'));
  };

  return async (req: Request, res: Response, next: NextFunction) => {
    const token = bearerToken(req.headers.authorization);
    if (token === undefined) return refuse(res, 'auth.token_missing');
    if (Object.hasOwn(req.query ?? {}, 'access_token')) return refuse(res, 'auth.token_in_query');
    const address = failures ? clientAddress(req) : '';
    const hash = failures ? hashSecret(token) : '';
    // A lookup takes a point of its address's failure budget before it runs (so lookups
    // at the same time count too) and gives it back if the token authenticates.
    let counted = false;
    if (failures && !knownGood.has(hash)) {
      const wait = await failures.attempt(address);
      counted = wait === 0;
      if (wait > 0) {
        let active: boolean;
        try {
          active = await credentials.mayBeActive(token);
        } catch (error) {
          return sendAuthError(res, error);
        }
        if (!active) {
          onRefused('blocked');
          refuseTooMany(res, wait, 'auth.address_blocked', `too many failed authentications from this address; retry after ${wait} s`);
          return;
        }
      }
    }
    // The strategy sees the header and nothing else: no query string, no body.
    const view = { headers: { authorization: `Bearer ${token}` }, query: {}, body: {} };
    // No `initialize()`: since passport 0.6, `authenticate` sets up the request itself
    // (initialize only adds compatibility with strategies written for passport 0.4).
    authenticator.authenticate('scim-bearer', { session: false }, (error: unknown, actor: Actor | false) => {
      if (error) return sendAuthError(res, error);
      if (!actor) {
        knownGood.forget(hash);
        return refuse(res, 'auth.token_rejected');
      }
      if (failures) {
        knownGood.remember(hash);
        if (counted) void failures.succeeded(address);
      }
      const journal = locals(res).log;
      locals(res).actor = { ...actor, requestId: locals(res).requestId, ...(journal ? { journal } : {}) };
      next();
    })(view as unknown as Request, res, next);
  };
}
