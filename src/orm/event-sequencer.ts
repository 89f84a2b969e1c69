import { Pool } from 'pg';
import { asRosterConnections, servesOneSession, statementTimeoutOf, warningSinkOf } from './database';
import { Sql, transactionInOneTrip } from './sql';

/**
 * The outbox lock (an advisory lock), one for the whole database: only sequencers take
 * it, never a writer. One lock rather than one per organization: a sequencer moves every
 * organization's committed events in one statement, so it would need every one of their
 * locks anyway (in a fixed order, or sequencers of two instances could deadlock), and
 * sequencers are the only holders, each for one short transaction.
 */
export const OUTBOX_LOCK = `hashtextextended('roster.outbox', 0)`;

/** The most queue rows one sequencer transaction moves (a run goes on until a transaction moves fewer). */
export const SEQUENCE_BATCH = 10_000;

/**
 * The committed queue rows, oldest queue id first, moved to provisioning_events (whose ids
 * are drawn in that order). Its snapshot is taken when it starts, after the lock is held:
 * every row the previous holder moved is gone from it, every row committed before is in it.
 *
 * The rows to delete are found by their ids, as an array: written `id in (select …)`, the
 * planner expected the batch's 10,000 rows and hashed them against a scan of the whole
 * queue table, every row moved since the last vacuum included (18.5 ms to move 3 events
 * with 200,000 dead rows, against 2.8 ms by the index: docs/benchmarks.md).
 */
const MOVE = `with moved as (
    delete from provisioning_event_queue
    where id = any(array(select id from provisioning_event_queue order by id limit ${SEQUENCE_BATCH}))
    returning *)
  insert into provisioning_events (organization_id, resource_type, resource_id, event_uris, attributes, txn, created_at)
  select organization_id, resource_type, resource_id, event_uris, attributes, txn, created_at from moved order by id`;

export interface SequencerOptions {
  /** Between two periodic runs, ms (1000); a run by anyone else meanwhile counts as one. */
  intervalMs?: number;
  onError?: (error: unknown) => void;
}

/**
 * Moves the events writers appended to `provisioning_event_queue` into `provisioning_events`
 * (orm/event-outbox.repository.ts): in queue order, under the outbox lock, in a short
 * transaction of its own on a connection of its own, never inside a writer's
 * transaction (a writer never waits for it). Each committed write is moved by the next
 * run after its COMMIT, so `provisioning_events` ids become visible in id order: a reader
 * that sees event n has every earlier event, and a receiver's cursor never passes one.
 *
 * Who runs it: every reader of `provisioning_events` before it reads (the outbox's reads,
 * the receivers' store) but the delivery worker's own looks, which are woken after a run
 * (an explicit `round()` waits for one); the process's post-commit wake (unit-of-work.ts) and a periodic run
 * (`start`: the queue is drained even when nobody reads). Calls coalesce: a call while a
 * run is under way waits for one more run after it, shared by every call made meanwhile,
 * so a burst of readers costs at most two transactions, and each caller still sees every
 * event committed before its call.
 *
 * One per pool (`EventSequencer.of`), so every reader of a database shares its runs. On
 * the embedded database (one session) its transaction waits, as any other, for the one
 * open; its callers hold no transaction of their own while they wait for it.
 */
export class EventSequencer {
  private static readonly byPool = new WeakMap<Pool, EventSequencer>();

  /** The sequencer of this pool's database, made on first use. */
  static of(pool: Pool): EventSequencer {
    let sequencer = EventSequencer.byPool.get(pool);
    if (sequencer === undefined) {
      sequencer = new EventSequencer(pool);
      EventSequencer.byPool.set(pool, sequencer);
    }
    return sequencer;
  }

  private readonly reads: Sql;
  /** Where its transactions run: a pool of its own (one connection) on a server database, else Roster's. */
  private readonly moves: Pool;
  private underway: Promise<number> | undefined;
  private queued: Promise<number> | undefined;
  private lastRunAt = Number.NEGATIVE_INFINITY;
  /** Someone committed queue rows since the last run started (run's `queued`): the next run goes straight to its move. */
  private rowsQueued = false;
  private closed = false;
  private timer: NodeJS.Timeout | undefined;

  private constructor(private readonly pool: Pool) {
    const oneSession = servesOneSession(pool);
    // A connection of its own: on Roster's pool, under a write load, each run waited in the pool's
    // queue behind the requests (whose commits it follows), and the time to deprovision with it
    // (docs/benchmarks.md, scenario 10). The embedded database serves one session: its pool it is.
    this.moves = oneSession
      ? pool
      : new Pool({
          ...pool.options,
          max: 1,
          min: 0,
          idleTimeoutMillis: 30_000,
          // An idle connection of its own never keeps a process alive (a test, a script that ends only Roster's pool).
          allowExitOnIdle: true,
        });
    // What Roster's connections get, with its pool's statement timeout (which bounds a run's wait for the lock too)
    // and its warnings' sink.
    if (this.moves !== pool) asRosterConnections(this.moves, { statementTimeoutMs: statementTimeoutOf(pool), onWarning: warningSinkOf(pool) });
    this.reads = Sql.onPool(this.moves, false, oneSession);
  }

  /**
   * Makes every event committed before this call readable in `provisioning_events`;
   * resolves with the number of events the run moved. A call during a run waits for the
   * next one (that run's snapshot may predate the call's commit).
   */
  run(options: { queued?: boolean } = {}): Promise<number> {
    // Closed (Roster closing): nothing more is moved here; the next process's sequencer, or any other's, moves it.
    if (this.closed) return Promise.resolve(0);
    // A caller that has just committed queue rows knows the next run has work: it skips its idle check.
    if (options.queued) this.rowsQueued = true;
    if (this.queued) return this.queued;
    if (!this.underway) return this.launch();
    const queued = this.underway
      .then(
        () => undefined,
        () => undefined,
      )
      .then(() => {
        this.queued = undefined;
        return this.launch();
      });
    this.queued = queued;
    return queued;
  }

  /** Runs every `intervalMs` unless someone else ran it meanwhile (a reader, a commit's wake). */
  start(options: SequencerOptions = {}): void {
    if (this.closed) return;
    const intervalMs = options.intervalMs ?? 1000;
    clearInterval(this.timer);
    this.timer = setInterval(() => {
      if (Date.now() - this.lastRunAt < intervalMs || this.underway) return;
      this.run().catch((error: unknown) => options.onError?.(error));
    }, intervalMs);
    this.timer.unref();
  }

  /** Stops the periodic run and waits for the runs under way (before the pool closes). */
  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await Promise.all([this.underway?.catch(() => undefined), this.queued?.catch(() => undefined)]);
  }

  /** stop, then its own connection closed (Roster's close, before the pool's); a run asked for after this moves nothing. */
  async close(): Promise<void> {
    this.closed = true;
    await this.stop();
    if (this.moves !== this.pool) await this.moves.end();
  }

  private launch(): Promise<number> {
    this.lastRunAt = Date.now();
    const run = this.drain().finally(() => {
      if (this.underway === run) this.underway = undefined;
    });
    this.underway = run;
    return run;
  }

  private async drain(): Promise<number> {
    // Nothing queued, the usual idle answer: one statement, no transaction, no lock. By the key's index, which
    // skips the rows already moved (a heap scan would read every dead row autovacuum has not yet removed).
    // Not when a commit that queued rows asked for this run: under a write load that is nearly every run, and
    // the look costs a good part of a move (0.86 ms on average against the move's 2.6 ms in one bench run, the
    // index's head full of the rows moved since the last vacuum: docs/benchmarks.md, "On a slower host").
    const known = this.rowsQueued;
    this.rowsQueued = false;
    if (!known) {
      const first = await this.reads.one<{ id: string }>(`select id from provisioning_event_queue order by id limit 1`);
      if (first === null) return 0;
    }
    let moved = 0;
    for (;;) {
      // The lock first, in a statement of its own: the move's snapshot (READ COMMITTED) is then taken once it is held.
      // Both and the transaction around them in one round trip: a run follows nearly every write's commit.
      const [, move] = await transactionInOneTrip(this.moves, [`select pg_advisory_xact_lock(${OUTBOX_LOCK})`, MOVE]);
      const batch = move?.rowCount ?? 0;
      moved += batch;
      if (batch < SEQUENCE_BATCH) return moved;
    }
  }
}
