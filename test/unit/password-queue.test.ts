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
