import fc from 'fast-check';
import { loadConfig } from '../../src/config';
import { DomainError } from '../../src/domain/errors';
import { BoundedHasher, defaultHashConcurrency } from '../../src/domain/password-hashing';
import type { PasswordHasher } from '../../src/domain/ports';

/** A hasher whose hashes end when the test says so; it records who started, in order. */
class GatedHasher implements PasswordHasher {
  readonly started: string[] = [];
  private readonly pending = new Map<string, { resolve: (hash: string) => void; reject: (error: Error) => void }>();

  hash(password: string): Promise<string> {
    this.started.push(password);
    return new Promise((resolve, reject) => this.pending.set(password, { resolve, reject }));
  }

  finish(password: string): void {
    this.take(password).resolve(`hashed:${password}`);
  }

  fail(password: string): void {
    this.take(password).reject(new Error('hashing failed'));
  }

  private take(password: string) {
    const entry = this.pending.get(password);
    if (!entry) throw new Error(`${password} is not being hashed`);
    this.pending.delete(password);
    return entry;
  }
}

/** Lets every promise that can settle settle. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

function refusedAsBusy(promise: Promise<unknown>) {
  return expect(promise).rejects.toMatchObject({ kind: 'unavailable', code: 'password.hashing_busy' });
}

describe('BoundedHasher', () => {
  it('runs at most `concurrency` hashes, lets `queue` wait and refuses the next at once', async () => {
    const inner = new GatedHasher();
    const hasher = new BoundedHasher(inner, { concurrency: 2, queue: 2 });
    const results = ['a', 'b', 'c', 'd'].map((p) => hasher.hash(p, p === 'a' || p === 'c' ? 'org-1' : 'org-2'));
    await settle();
    expect(inner.started).toEqual(['a', 'b']);
    expect(hasher.stats()).toEqual({ running: 2, waiting: 2 });

    const refused = hasher.hash('e', 'org-3');
    await refusedAsBusy(refused);
    await expect(refused).rejects.toBeInstanceOf(DomainError);
    expect(inner.started).not.toContain('e');

    inner.finish('a');
    await settle();
    expect(inner.started).toEqual(['a', 'b', 'c']);
    inner.finish('b');
    inner.finish('c');
    await settle();
    inner.finish('d');
    await expect(Promise.all(results)).resolves.toEqual(['hashed:a', 'hashed:b', 'hashed:c', 'hashed:d']);
    expect(hasher.stats()).toEqual({ running: 0, waiting: 0 });
  });

  it('takes turns between organizations: one waiting behind another’s storm waits for one hash, not for the storm', async () => {
    const inner = new GatedHasher();
    const hasher = new BoundedHasher(inner, { concurrency: 1, queue: 8 });
    const storm = ['a1', 'a2', 'a3', 'a4'].map((p) => hasher.hash(p, 'storming'));
    const other = hasher.hash('b1', 'quiet');
    await settle();
    for (const next of ['a1', 'a2', 'b1', 'a3']) {
      inner.finish(next);
      await settle();
    }
    inner.finish('a4');
    await Promise.all([...storm, other]);
    expect(inner.started).toEqual(['a1', 'a2', 'b1', 'a3', 'a4']);
  });

  it('lets one organization hold at most half of the waiting places', async () => {
    const inner = new GatedHasher();
    const hasher = new BoundedHasher(inner, { concurrency: 1, queue: 4 });
    const accepted = ['a1', 'a2', 'a3'].map((p) => hasher.hash(p, 'storming'));
    await settle();
    await refusedAsBusy(hasher.hash('a4', 'storming'));
    const quiet = hasher.hash('b1', 'quiet');
    await settle();
    expect(hasher.stats()).toEqual({ running: 1, waiting: 3 });
    for (const next of ['a1', 'a2', 'b1', 'a3']) {
      inner.finish(next);
      await settle();
    }
    await expect(Promise.all([...accepted, quiet])).resolves.toHaveLength(4);
  });

  it('keeps a quarter of the waiting places for an organization that has none, so two storms cannot fill them', async () => {
    const inner = new GatedHasher();
    const hasher = new BoundedHasher(inner, { concurrency: 1, queue: 8 });
    const pending: Promise<string>[] = [hasher.hash('run', 'a')];
    for (const p of ['a1', 'a2', 'a3', 'a4']) pending.push(hasher.hash(p, 'a'));
    pending.push(hasher.hash('b1', 'b'), hasher.hash('b2', 'b'));
    await settle();
    // Six wait: the shared places are full for a and b, the two kept ones are not.
    await refusedAsBusy(hasher.hash('b3', 'b'));
    await refusedAsBusy(hasher.hash('a5', 'a'));
    pending.push(hasher.hash('c1', 'c'));
    await settle();
    await refusedAsBusy(hasher.hash('c2', 'c'));
    pending.push(hasher.hash('d1', 'd'));
    await settle();
    expect(hasher.stats()).toEqual({ running: 1, waiting: 8 });
    await refusedAsBusy(hasher.hash('e1', 'e'));
    for (const next of ['run', 'a1', 'b1', 'c1', 'd1', 'a2', 'b2', 'a3', 'a4']) {
      inner.finish(next);
      await settle();
    }
    await expect(Promise.all(pending)).resolves.toHaveLength(9);
  });

  it('frees the slot of a hash that fails', async () => {
    const inner = new GatedHasher();
    const hasher = new BoundedHasher(inner, { concurrency: 1, queue: 0 });
    const failing = hasher.hash('x');
    await settle();
    await refusedAsBusy(hasher.hash('y'));
    inner.fail('x');
    await expect(failing).rejects.toThrow('hashing failed');
    const next = hasher.hash('z');
    await settle();
    inner.finish('z');
    await expect(next).resolves.toBe('hashed:z');
  });

  it('runs work given a turn only when the turn comes, and never when the queue is full', async () => {
    const inner = new GatedHasher();
    const hasher = new BoundedHasher(inner, { concurrency: 1, queue: 1 });
    const ran: string[] = [];
    const running = hasher.hash('first', 'org-1');
    const waiting = hasher.inTurn('org-2', async (hash) => {
      ran.push('second');
      return hash('second');
    });
    await settle();
    expect(ran).toEqual([]);
    await refusedAsBusy(hasher.inTurn('org-3', async () => ran.push('third')));
    inner.finish('first');
    await settle();
    expect(ran).toEqual(['second']);
    inner.finish('second');
    await expect(Promise.all([running, waiting])).resolves.toEqual(['hashed:first', 'hashed:second']);
    expect(ran).toEqual(['second']);
  });

  it('defaults to half the CPUs, at least one and at most three', () => {
    expect([1, 2, 3, 4, 6, 8, 64].map(defaultHashConcurrency)).toEqual([1, 1, 1, 2, 3, 3, 3]);
  });

  it('reads its limits from the environment', () => {
    expect(loadConfig({})).toMatchObject({ passwordHashConcurrency: undefined, passwordHashQueue: 64 });
    expect(loadConfig({ ROSTER_PASSWORD_HASH_CONCURRENCY: '2', ROSTER_PASSWORD_HASH_QUEUE: '0' })).toMatchObject({
      passwordHashConcurrency: 2,
      passwordHashQueue: 0,
    });
    expect(() => loadConfig({ ROSTER_PASSWORD_HASH_CONCURRENCY: '0' })).toThrow(/^Invalid configuration: ROSTER_PASSWORD_HASH_CONCURRENCY /);
    expect(() => loadConfig({ ROSTER_PASSWORD_HASH_QUEUE: 'many' })).toThrow(/^Invalid configuration: ROSTER_PASSWORD_HASH_QUEUE /);
  });
});

/**
 * Generated scenarios: a BoundedHasher with generated limits over a hasher whose hashes
 * end (or fail) when the scenario says so, with requests from up to four organizations
 * arriving between the ends. After every step (and once every promise that can settle
 * has settled) the scenario checks the queue against what BoundedHasher documents.
 */
describe('BoundedHasher (generated scenarios)', () => {
  type Step = { kind: 'arrive'; owner: number } | { kind: 'end'; pick: number; fails: boolean };
  type Outcome = { ok: true; value: string } | { ok: false; error: unknown };

  const step: fc.Arbitrary<Step> = fc.oneof(
    fc.record({ kind: fc.constant('arrive' as const), owner: fc.nat(3) }),
    fc.record({ kind: fc.constant('end' as const), pick: fc.nat(), fails: fc.boolean() }),
  );

  /** The port's implementation for the scenario: each hash ends when the scenario ends it; it records who ran when. */
  class ScenarioHasher implements PasswordHasher {
    readonly inFlight = new Map<string, { owner: string; resolve: (hash: string) => void; reject: (error: Error) => void }>();
    mostAtOnce = 0;
    constructor(private readonly onStart: (password: string, owner: string) => void) {}

    hash(password: string, owner = ''): Promise<string> {
      return new Promise((resolve, reject) => {
        this.inFlight.set(password, { owner, resolve, reject });
        this.mostAtOnce = Math.max(this.mostAtOnce, this.inFlight.size);
        this.onStart(password, owner);
      });
    }

    end(password: string, fails: boolean): void {
      const entry = this.inFlight.get(password) as { resolve: (hash: string) => void; reject: (error: Error) => void };
      this.inFlight.delete(password);
      if (fails) entry.reject(new Error(`failed:${password}`));
      else entry.resolve(`hashed:${password}`);
    }
  }

  it('keeps its bounds, refuses at once only over them, completes every accepted hash with its own result, and serves organizations in turn', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 8 }),
        fc.integer({ min: 1, max: 4 }),
        fc.array(step, { minLength: 1, maxLength: 40 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        async (concurrency, queue, owners, steps, drainPicks) => {
          // The documented shares of the waiting places: half at most per organization, and a
          // quarter kept for organizations that wait for nothing yet.
          const perOwner = Math.max(1, Math.floor(queue / 2));
          const reserved = Math.floor(queue / 4);
          const outcomes = new Map<string, Outcome>();
          /** Accepted requests not started yet, per organization, in arrival order. */
          const waiting = new Map<string, string[]>();
          const waitingTotal = () => [...waiting.values()].reduce((n, ids) => n + ids.length, 0);
          /**
           * Fairness, as BoundedHasher promises it ("turns go round the owners that wait,
           * one hash each"): for each organization X that waits, the organizations that
           * started a hash since X began waiting or since X's last turn. One of them
           * starting a second hash before X gets its turn breaks the round.
           */
          const servedSince = new Map<string, Set<string>>();
          const violations: string[] = [];
          const ended = new Map<string, boolean>(); // id -> whether its hash failed
          const refused = new Set<string>();

          const inner = new ScenarioHasher((id, owner) => {
            const mine = waiting.get(owner) ?? [];
            if (!mine.includes(id)) return; // started at once: a free slot, nobody waits
            if (mine[0] !== id) violations.push(`${id} of ${owner} started before ${mine[0]}, which waited longer`);
            mine.splice(mine.indexOf(id), 1);
            if (mine.length === 0) waiting.delete(owner);
            for (const [other, served] of servedSince) {
              if (other === owner) continue;
              if (served.has(owner)) violations.push(`${owner} got a second turn (${id}) while ${other} waited for its first`);
              served.add(owner);
            }
            if (waiting.has(owner)) servedSince.set(owner, new Set());
            else servedSince.delete(owner);
          });
          const hasher = new BoundedHasher(inner, { concurrency, queue });

          const checkBounds = (when: string) => {
            expect({ when, violations }).toEqual({ when, violations: [] });
            expect(inner.mostAtOnce).toBeLessThanOrEqual(concurrency);
            expect(waitingTotal()).toBeLessThanOrEqual(queue);
            for (const ids of waiting.values()) expect(ids.length).toBeLessThanOrEqual(perOwner);
            // Nobody waits while a slot is free, and the stats tell the truth.
            if (waitingTotal() > 0) expect(inner.inFlight.size).toBe(concurrency);
            expect(hasher.stats()).toEqual({ running: inner.inFlight.size, waiting: waitingTotal() });
          };

          let n = 0;
          for (const s of steps) {
            if (s.kind === 'arrive') {
              const owner = `org-${s.owner % owners}`;
              const id = `p${n++}`;
              const full = inner.inFlight.size >= concurrency;
              const held = waiting.get(owner)?.length ?? 0;
              const overBound = full && (waitingTotal() >= queue || (held > 0 && (held >= perOwner || waitingTotal() >= queue - reserved)));
              if (full && !overBound) {
                if (!waiting.has(owner)) servedSince.set(owner, new Set());
                waiting.set(owner, [...(waiting.get(owner) ?? []), id]);
              }
              hasher.hash(id, owner).then(
                (value) => outcomes.set(id, { ok: true, value }),
                (error: unknown) => outcomes.set(id, { ok: false, error }),
              );
              await settle();
              if (overBound) {
                // Refused at once, with the documented error, and never hashed.
                expect(outcomes.get(id)).toEqual({ ok: false, error: expect.any(DomainError) });
                expect((outcomes.get(id) as { error: DomainError }).error).toMatchObject({ kind: 'unavailable', code: 'password.hashing_busy' });
                expect(inner.inFlight.has(id)).toBe(false);
                refused.add(id);
              } else if (full) {
                expect(outcomes.has(id)).toBe(false);
                expect(inner.inFlight.has(id)).toBe(false);
              } else {
                expect(inner.inFlight.has(id)).toBe(true);
              }
            } else {
              const running = [...inner.inFlight.keys()];
              if (running.length === 0) continue;
              const id = running[s.pick % running.length];
              inner.end(id, s.fails);
              ended.set(id, s.fails);
              await settle();
            }
            checkBounds(`after step ${JSON.stringify(s)}`);
          }

          // Drain: end the running hashes one at a time, in a generated order, until none is left.
          for (let i = 0; inner.inFlight.size > 0; i++) {
            const running = [...inner.inFlight.keys()];
            const id = running[(drainPicks[i % Math.max(1, drainPicks.length)] ?? 0) % running.length];
            inner.end(id, false);
            ended.set(id, false);
            await settle();
            checkBounds(`after draining ${id}`);
            if (i > 2 * n) throw new Error('the queue never emptied');
          }

          // Every request settled: a refused one with password.hashing_busy, an accepted one with its own result.
          expect(waitingTotal()).toBe(0);
          expect(hasher.stats()).toEqual({ running: 0, waiting: 0 });
          for (let i = 0; i < n; i++) {
            const id = `p${i}`;
            const expected = refused.has(id) ? 'refused as busy' : ended.get(id) ? `failed:${id}` : `hashed:${id}`;
            const outcome = outcomes.get(id);
            const got =
              outcome === undefined
                ? 'never settled'
                : outcome.ok
                  ? outcome.value
                  : outcome.error instanceof DomainError && outcome.error.code === 'password.hashing_busy'
                    ? 'refused as busy'
                    : String((outcome.error as Error).message);
            expect({ id, got }).toEqual({ id, got: expected });
          }
        },
      ),
    );
  });
});
