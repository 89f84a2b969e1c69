import type { NextFunction, Request, Response } from 'express';
import passport from 'passport';
import { Strategy as BearerStrategy } from 'passport-http-bearer';
import type { Actor } from '../domain/actor';
import type { CredentialService } from '../domain/credential.service';
import { toScimError, unauthorized } from './errors';
import { locals, sendScim } from './http';

/**
 * Passport decides who is calling; every failure (no header, a malformed one, an
 * unknown, revoked or expired token) gives the same 401 with a SCIM body and
 * `WWW-Authenticate: Bearer`. A database that does not answer is a 503, not a 401.
 */
export function bearerAuth(credentials: CredentialService) {
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
  const refuse = (res: Response) => {
    res.setHeader('WWW-Authenticate', 'Bearer realm="roster"');
    sendScim(res, 401, unauthorized());
  };
  return (req: Request, res: Response, next: NextFunction) => {
    // Only the Authorization header carries a token: never a query string or a body.
    if (!/^bearer\s+\S+/i.test(req.headers.authorization ?? '')) return refuse(res);
    // No `initialize()`: since passport 0.6, `authenticate` sets up the request itself
    // (initialize only adds compatibility with strategies written for passport 0.4).
    authenticator.authenticate('scim-bearer', { session: false }, (error: unknown, actor: Actor | false) => {
      if (error) {
        const scimError = toScimError(error, locals(res).requestId);
        sendScim(res, scimError.status, scimError);
        return;
      }
      if (!actor) return refuse(res);
      locals(res).actor = actor;
      next();
    })(req, res, next);
  };
}
