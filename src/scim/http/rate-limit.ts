import { isIPv6 } from 'node:net';
import type { NextFunction, Request, Response } from 'express';
import { RateLimiterMemory, RateLimiterPostgres, RateLimiterRes, type RateLimiterAbstract } from 'rate-limiter-flexible';
import { tooManyRequests as refusal, type ScimError } from './errors';
import { locals, sendScimError } from './http';

/** The table the shared counters live in (created by a migration, not by rate-limiter-flexible). */
export const RATE_LIMIT_TABLE = 'rate_limit_counters';

/**
 * A PostgreSQL client the shared counters use: `pg`'s Pool, or anything with its `query`.
 * rate-limiter-flexible sends named (prepared) statements through it.
 */
export interface CounterStore {
  query(config: { text: string; values?: unknown[]; name?: string }): Promise<unknown>;
}

/**
 * Counts one kind of event per key in fixed windows, with rate-limiter-flexible: in
 * this process (RateLimiterMemory), or in PostgreSQL (RateLimiterPostgres on
 * `rate_limit_counters`), shared by every instance. When the shared store fails (the
 * database is down or slow), an in-process counter with the same limits answers
 * instead (rate-limiter-flexible's insurance limiter); a request is never failed
 * because of its rate limit's store.
 */
export class Counter {
  private readonly limiter: RateLimiterAbstract;

  constructor(
    prefix: string,
    readonly points: number,
    windowSeconds: number,
    store?: CounterStore,
  ) {
    const options = { keyPrefix: prefix, points, duration: windowSeconds };
    this.limiter = store
      ? new RateLimiterPostgres({
          ...options,
          storeClient: store,
          storeType: 'pool',
          tableName: RATE_LIMIT_TABLE,
          tableCreated: true,
          insuranceLimiter: new RateLimiterMemory(options),
        })
      : new RateLimiterMemory(options);
  }

  /** Takes `points`; 0 when they were there, else the whole seconds until the window ends. */
  async take(key: string, points = 1): Promise<number> {
    try {
      await this.limiter.consume(key, points);
      return 0;
    } catch (refused) {
      if (refused instanceof RateLimiterRes) return secondsOf(refused.msBeforeNext);
      return 0; // no store answered at all: let the request through rather than fail it
    }
  }

  /** Gives back `points` taken in this window (never rejects). */
  async giveBack(key: string, points = 1): Promise<void> {
    try {
      await this.limiter.reward(key, points);
    } catch {
      // No store answered: the point expires with its window.
    }
  }
}

const secondsOf = (ms: number) => Math.max(1, Math.ceil(ms / 1000));

/** The 429 answer: an integer `Retry-After` (Okta and Entra back off on it) and a SCIM error body. */
export function tooManyRequests(
  wait: number,
  code = 'rate.credential_exceeded',
  detail = `too many requests for this credential; retry after ${wait} s`,
): ScimError {
  return refusal(code, detail, wait);
}

/** Sends the 429 (its `Retry-After` is `wait`). */
export function refuseTooMany(res: Response, wait: number, code?: string, detail?: string): void {
  sendScimError(res, tooManyRequests(wait, code, detail));
}

/**
 * Per-credential rate limiting. `perSecond` is the average; the window is
 * `burst / perSecond` seconds rounded to a whole number (at least 1), and a credential
 * may take `perSecond × window` points in each window (at least `burst`): with the
 * defaults (100/s, burst 200), 200 every 2 seconds. Every request takes one point, and
 * a Bulk request one more per operation (scim/resources/bulk.ts). Over the limit the answer is
 * 429 with an integer `Retry-After` and a SCIM error body.
 */
export class RateLimiter {
  private readonly counter: Counter | undefined;

  constructor(perSecond: number, burst: number, store?: CounterStore) {
    if (perSecond <= 0) return;
    const window = Math.max(1, Math.round(burst / perSecond));
    this.counter = new Counter('requests', Math.max(burst, perSecond * window), window, store);
  }

  /** Takes `points` for this credential; returns 0 when allowed, else the seconds to wait. */
  take(credentialId: string, points = 1): Promise<number> {
    return this.counter ? this.counter.take(credentialId, points) : Promise.resolve(0);
  }

  middleware(onRefused: () => void = () => undefined) {
    return async (_req: Request, res: Response, next: NextFunction) => {
      const actor = locals(res).actor;
      const wait = actor && this.counter ? await this.counter.take(actor.credentialId) : 0;
      if (wait === 0) return next();
      onRefused();
      refuseTooMany(res, wait);
    };
  }
}

/**
 * Failed authentications per client address: a token that was looked up and did not
 * authenticate counts one failure. An address may have `perMinute` failures in its
 * current minute; after that it is refused (scim/http/auth.ts) until the minute ends.
 * Missing or malformed headers cost no lookup and are not counted.
 *
 * A lookup takes its point before it runs (`attempt`) and gives it back when the token
 * authenticates (`succeeded`), so lookups that run at the same time count too: however
 * many bad tokens an address sends at once, at most `perMinute` of them are looked up.
 */
export class AuthFailureLimiter {
  private readonly counter: Counter;

  constructor(perMinute: number, store?: CounterStore) {
    this.counter = new Counter('auth-failures', perMinute, 60, store);
  }

  /** Takes a point for one lookup: 0 when the address may try a token, else the seconds until it may. */
  attempt(address: string): Promise<number> {
    return this.counter.take(address);
  }

  /** The lookup authenticated: its point is given back (never rejects). */
  succeeded(address: string): Promise<void> {
    return this.counter.giveBack(address);
  }
}

/**
 * The address failures are counted for: `req.ip` (which follows `X-Forwarded-For` only
 * with ROSTER_TRUST_PROXY), an IPv4-mapped IPv6 address as IPv4, and any other IPv6
 * address as its /64 network, since one host commonly holds a whole /64.
 */
export function clientAddress(req: Request): string {
  const ip = (req.ip ?? req.socket?.remoteAddress ?? 'unknown').replace(/%.*$/, '');
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return mapped[1];
  if (!isIPv6(ip)) return ip;
  const [head, tail = ''] = ip.toLowerCase().split('::');
  const left = head ? head.split(':') : [];
  const right = ip.includes('::') && tail ? tail.split(':') : [];
  const groups = ip.includes('::') ? [...left, ...Array(8 - left.length - right.length).fill('0'), ...right] : left;
  return `${groups
    .slice(0, 4)
    .map((g) => g.replace(/^0+(?=.)/, ''))
    .join(':')}::/64`;
}

/** The limiters of one Roster: per-credential requests and per-address failed authentications. */
export interface RateLimits {
  requests: RateLimiter;
  /** Undefined when failed authentications are not limited (ROSTER_AUTH_FAILURES_PER_MINUTE=0). */
  authFailures: AuthFailureLimiter | undefined;
}

export function createRateLimits(
  config: { rateLimitPerSecond: number; rateLimitBurst: number; authFailuresPerMinute: number },
  store?: CounterStore,
): RateLimits {
  return {
    requests: new RateLimiter(config.rateLimitPerSecond, config.rateLimitBurst, store),
    authFailures: config.authFailuresPerMinute > 0 ? new AuthFailureLimiter(config.authFailuresPerMinute, store) : undefined,
  };
}
