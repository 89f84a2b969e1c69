import type { NextFunction, Request, Response } from 'express';
import { ScimError } from './errors';
import { locals, sendScim } from './http';

/**
 * Per-credential rate limiting: a token bucket per credential, refilled at `perSecond`
 * and holding at most `burst`. Over the limit the answer is 429 with an integer
 * `Retry-After` (Okta and Entra back off on it) and a SCIM error body. The buckets
 * live in this process: behind a load balancer each instance limits on its own.
 */
export class RateLimiter {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly perSecond: number,
    private readonly burst: number,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Takes one request's token; returns 0 when allowed, else the seconds to wait. */
  take(key: string): number {
    if (this.perSecond <= 0) return 0;
    const now = this.now();
    const bucket = this.buckets.get(key) ?? { tokens: this.burst, at: now };
    bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
    bucket.at = now;
    this.buckets.set(key, bucket);
    if (this.buckets.size > 10_000) this.forgetIdle(now);
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return 0;
    }
    return Math.max(1, Math.ceil((1 - bucket.tokens) / this.perSecond));
  }

  private forgetIdle(now: number): void {
    for (const [key, bucket] of this.buckets) {
      if (bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond >= this.burst) this.buckets.delete(key);
    }
  }

  middleware(onRefused: () => void = () => undefined) {
    return (_req: Request, res: Response, next: NextFunction) => {
      const actor = locals(res).actor;
      const wait = actor ? this.take(actor.credentialId) : 0;
      if (wait === 0) return next();
      onRefused();
      res.setHeader('Retry-After', String(wait));
      sendScim(res, 429, new ScimError(429, undefined, `too many requests for this credential; retry after ${wait} s`));
    };
  }
}
