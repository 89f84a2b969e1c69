import fc from 'fast-check';
import { AuthFailureLimiter, RateLimiter } from '../../src/scim/http/rate-limit';

/**
 * Generated sequences against the in-memory limiters. The counters read the clock
 * (Date.now) and expire with setTimeout; the clock is a fake one, held still while a
 * sequence runs, so every sequence runs inside one window whatever the machine's load,
 * and moved on explicitly to end the window.
 */
const START = new Date('2030-01-01T00:00:00Z');

beforeEach(() => {
  // Only the clock and the timers: promises, setImmediate and nextTick stay real.
  jest.useFakeTimers({ doNotFake: ['nextTick', 'queueMicrotask', 'setImmediate'], now: START });
});
afterEach(() => {
  jest.useRealTimers();
});

/** The window and points RateLimiter documents: window = round(burst / perSecond) s (at least 1), points = perSecond × window (at least burst). */
function documentedLimits(perSecond: number, burst: number) {
  const window = Math.max(1, Math.round(burst / perSecond));
  return { window, points: Math.max(burst, perSecond * window) };
}

const call = fc.record({ key: fc.nat(3).map((k) => `credential-${k}`), cost: fc.integer({ min: 1, max: 6 }) });

describe('RateLimiter (generated sequences, memory store)', () => {
  it('within one window grants a key at most its points, refuses with a whole-second wait of at least 1, and keeps keys apart', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.integer({ min: 1, max: 40 }),
        fc.array(call, { minLength: 1, maxLength: 60 }),
        async (perSecond, burst, calls) => {
          jest.setSystemTime(START);
          const { window, points } = documentedLimits(perSecond, burst);
          const limiter = new RateLimiter(perSecond, burst);
          const granted = new Map<string, number>();
          const asked = new Map<string, number>();
          const waits: number[] = [];
          for (const { key, cost } of calls) {
            const wait = await limiter.take(key, cost);
            waits.push(wait);
            // Points asked for count whether or not they were granted (rate-limiter-flexible's
            // fixed window): a call is granted exactly while the key's asked points fit.
            asked.set(key, (asked.get(key) ?? 0) + cost);
            const fits = (asked.get(key) as number) <= points;
            expect({ key, cost, asked: asked.get(key), granted: wait === 0 }).toEqual({ key, cost, asked: asked.get(key), granted: fits });
            if (wait === 0) granted.set(key, (granted.get(key) ?? 0) + cost);
            else {
              expect(Number.isInteger(wait)).toBe(true);
              expect(wait).toBeGreaterThanOrEqual(1);
              expect(wait).toBeLessThanOrEqual(window);
            }
          }
          for (const total of granted.values()) expect(total).toBeLessThanOrEqual(points);

          // Keys don't affect each other: each key's calls alone, on a limiter of its own, get the same answers.
          for (const key of new Set(calls.map((c) => c.key))) {
            const alone = new RateLimiter(perSecond, burst);
            const mine = calls.map((c, i) => ({ ...c, i })).filter((c) => c.key === key);
            const answers = [];
            for (const c of mine) answers.push(await alone.take(key, c.cost));
            expect({ key, answers }).toEqual({ key, answers: mine.map((c) => waits[c.i]) });
          }

          // A spent key stays refused until the window's last millisecond (a wait of 1 s then), and has its points again once the window ends.
          const spent = [...asked].filter(([, n]) => n >= points).map(([key]) => key);
          jest.setSystemTime(START.getTime() + window * 1000 - 1);
          for (const key of spent) expect(await limiter.take(key)).toBe(1);
          jest.advanceTimersByTime(1);
          for (const key of new Set(calls.map((c) => c.key))) {
            expect(await limiter.take(key, points)).toBe(0);
            expect(await limiter.take(key)).toBeGreaterThanOrEqual(1);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('grants everything when the limit is off (perSecond 0)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 40 }), fc.array(call, { maxLength: 60 }), async (burst, calls) => {
        const limiter = new RateLimiter(0, burst);
        for (const { key, cost } of calls) expect(await limiter.take(key, cost)).toBe(0);
      }),
      { numRuns: 30 },
    );
  });
});

describe('AuthFailureLimiter (generated sequences, memory store)', () => {
  const event = fc.record({
    address: fc.constantFrom('203.0.113.7', '198.51.100.9', '2001:db8:1:2::/64'),
    // An attempt whose token then fails, or one whose token then authenticates (its point given back).
    outcome: fc.constantFrom('failed' as const, 'succeeded' as const),
  });

  it('lets an address attempt a lookup exactly while it has failures left in the minute, for a whole number of seconds, and no other address', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 1, max: 10 }), fc.array(event, { minLength: 1, maxLength: 60 }), async (perMinute, events) => {
        jest.setSystemTime(START);
        const limiter = new AuthFailureLimiter(perMinute);
        // Points taken in the window: every attempt takes one (a refused one too), a success gives one back.
        const taken = new Map<string, number>();
        for (const { address, outcome } of events) {
          const before = taken.get(address) ?? 0;
          const wait = await limiter.attempt(address);
          taken.set(address, before + 1);
          expect({ address, before, allowed: wait === 0 }).toEqual({ address, before, allowed: before + 1 <= perMinute });
          if (wait > 0) {
            expect(Number.isInteger(wait)).toBe(true);
            expect(wait).toBeGreaterThanOrEqual(1);
            expect(wait).toBeLessThanOrEqual(60);
            continue;
          }
          if (outcome === 'succeeded') {
            await limiter.succeeded(address);
            taken.set(address, before);
          }
        }
        // The minute ends: every address may try again.
        jest.advanceTimersByTime(60_000);
        for (const address of taken.keys()) expect(await limiter.attempt(address)).toBe(0);
      }),
      { numRuns: 150 },
    );
  });
});
