import { Router } from 'express';
import type { SigningKeys } from './keys';

export const JWKS_PATH = '/.well-known/jwks.json';

/**
 * GET /.well-known/jwks.json, without authentication: the public keys a receiver
 * verifies Roster's SETs with (the active key and retired keys not yet expired).
 * Cached for 5 minutes: a key is published before it signs (at start, or by
 * `roster key rotate`), and a retired key stays days longer than that.
 */
export function jwksRouter(keys: SigningKeys): Router {
  const router = Router();
  router.get(JWKS_PATH, async (_req, res) => {
    const jwks = await keys.jwks();
    res.setHeader('Cache-Control', 'public, max-age=300');
    res.type('application/jwk-set+json').send(JSON.stringify(jwks));
  });
  return router;
}
