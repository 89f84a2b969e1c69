import { DomainError } from './errors';
import type { PasswordHasher } from './ports';

export interface HashingLimits {
  /** Hashes that run at once (each argon2id hash takes a threadpool thread, its lanes' CPU and 64 MiB). */
  concurrency: number;
  /** Hashes that may wait for a turn; one more is refused at once. 0: none wait. */
  queue: number;
}

export interface HashingStats {
  running: number;
  waiting: number;
}

/** Refused because hashing is at its limits: the caller should retry shortly (a 503 with Retry-After). */
export function hashingBusy(): DomainError {
  return new DomainError('unavailable', 'password.hashing_busy', 'too many password changes are waiting to be hashed; try again shortly');
}

/**
 * A PasswordHasher with capacity of its own: at most `concurrency` hashes run, at most
 * `queue` wait, and one more is refused at once with `password.hashing_busy` (503),
 * so a flood of password changes costs a bounded amount of CPU, memory and threadpool
 * and never turns into requests piling up elsewhere. Callers hash outside any
 * transaction (UserService), so waiting here holds no database connection and no lock.
 *
 * Fair between owners (organizations): one owner may hold at most half of the waiting
 * places; a quarter of them are kept for owners that have none yet (owners already
 * waiting share the rest), so two storming organizations cannot fill the queue
 * against a third; and turns go round the owners that wait, one hash each, so a storm
 * from one organization delays another's password change by about one hash per
 * running slot, not by the whole queue.
 */
export class BoundedHasher implements PasswordHasher {
  private running = 0;
  private waitingCount = 0;
  /** Waiters by owner; the Map's order is the round: an owner served goes to its end. */
  private readonly waiting = new Map<string, (() => void)[]>();
  private readonly perOwner: number;
  /** Waiting places only an owner with none may take. */
  private readonly reserved: number;

  constructor(
    private readonly inner: PasswordHasher,
    readonly limits: HashingLimits,
  ) {
    if (!Number.isInteger(limits.concurrency) || limits.concurrency < 1) throw new RangeError('concurrency must be a whole number of at least 1');
    if (!Number.isInteger(limits.queue) || limits.queue < 0) throw new RangeError('queue must be a whole number of at least 0');
    this.perOwner = Math.max(1, Math.floor(limits.queue / 2));
    this.reserved = Math.floor(limits.queue / 4);
  }

  stats(): HashingStats {
    return { running: this.running, waiting: this.waitingCount };
  }

  hash(password: string, owner = ''): Promise<string> {
    return this.inTurn(owner, (hash) => hash(password));
  }

  /**
   * Runs `work` when it is `owner`'s turn (refused at once when the queue is full), its
   * hashes made within that turn: a password change that waits for its turn before it
   * reads anything costs nothing while it waits, so a burst of them runs one by one.
   */
  async inTurn<T>(owner: string, work: (hash: (password: string) => Promise<string>) => Promise<T>): Promise<T> {
    await this.turn(owner);
    try {
      return await work((password) => this.inner.hash(password, owner));
    } finally {
      this.next();
    }
  }

  private turn(owner: string): Promise<void> {
    if (this.running < this.limits.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    const mine = this.waiting.get(owner);
    const held = mine?.length ?? 0;
    const over = held > 0 && (held >= this.perOwner || this.waitingCount >= this.limits.queue - this.reserved);
    if (this.waitingCount >= this.limits.queue || over) return Promise.reject(hashingBusy());
    return new Promise<void>((resolve) => {
      if (mine) mine.push(resolve);
      else this.waiting.set(owner, [resolve]);
      this.waitingCount++;
    });
  }

  /** A hash ended: its slot goes to the first waiter of the next owner in the round, or is freed. */
  private next(): void {
    const first = this.waiting.entries().next();
    if (first.done) {
      this.running--;
      return;
    }
    const [owner, waiters] = first.value;
    const resolve = waiters.shift() as () => void;
    this.waiting.delete(owner);
    if (waiters.length > 0) this.waiting.set(owner, waiters);
    this.waitingCount--;
    resolve();
  }
}

/**
 * The default number of hashes at once: half the CPUs (argon2id's lanes keep more
 * than one core busy per hash), at least 1, and at most 3 so that one of libuv's 4
 * threadpool threads stays free for file and DNS work.
 */
export function defaultHashConcurrency(cpus: number): number {
  return Math.max(1, Math.min(3, Math.floor(cpus / 2)));
}

/**
 * The new passwords one request has had hashed, by password: a change that is worked
 * out again (its draft was stale, see StaleDraft) reuses the hash instead of hashing
 * twice. Passwords and hashes are kept in a private field: never enumerated,
 * serialised or logged with the object.
 */
export class PasswordHashes {
  readonly #hashes = new Map<string, string>();

  get(password: string): string | undefined {
    return this.#hashes.get(password);
  }

  set(password: string, hash: string): void {
    this.#hashes.set(password, hash);
  }

  get size(): number {
    return this.#hashes.size;
  }

  toJSON(): Record<string, never> {
    return {};
  }
}
