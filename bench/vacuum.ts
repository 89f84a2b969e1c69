import { Client } from 'pg';

/**
 * A stand-in for autovacuum, for a PostgreSQL that runs without it.
 *
 * This host's PostgreSQL has `autovacuum = off` (its CI configuration,
 * /etc/postgresql/15/main/conf.d/90-ci.conf); a production one never has. Without it,
 * the small tables Roster writes and deletes all the time (the license's
 * `user_account_deltas`, the order index's `user_order_deltas`, the event queue) keep
 * every dead row: after a few minutes of creates the license check's scan of the deltas
 * read 820 pages for 469 live rows (3.7 ms a create). Measuring that would measure the
 * host's configuration, not Roster.
 *
 * So when the server's autovacuum is off, the bench applies autovacuum's own rule, with
 * its default settings, to every table of its database: VACUUM when the dead rows pass
 * 50 + 20% of the table's rows, or the rows inserted since the last vacuum pass 1,000 +
 * 20%; ANALYZE when the rows changed since the last analyze pass 50 + 10%. It looks
 * before each scenario and every 60 s during one (autovacuum_naptime), throttled as
 * autovacuum is. When the server runs autovacuum itself, this does nothing.
 */
export class AutovacuumStandIn {
  private timer: NodeJS.Timeout | undefined;
  private running: Promise<void> | undefined;
  private active: boolean | undefined;
  /** What it did, for the run's log: `table: vacuum` lines, and any look that failed. */
  readonly done: string[] = [];

  constructor(private readonly databaseUrl: string) {}

  /**
   * Starts standing in (when the server's autovacuum is off): `every: '60s'`, a look each
   * 60 s as well as the caller's `check()`s; `every: 'check'`, only the caller's (an A/B that
   * vacuums between pairs of bursts, never during one side's burst).
   */
  async start(options: { every: '60s' | 'check' }): Promise<boolean> {
    this.active = await this.withClient(async (c) => (await c.query<{ autovacuum: string }>('show autovacuum')).rows[0].autovacuum === 'off');
    if (this.active && options.every === '60s') this.timer = setInterval(() => void this.check(), 60_000).unref();
    return this.active;
  }

  /** One look at every table, as autovacuum's launcher would take; waits for a look under way. */
  async check(): Promise<void> {
    if (!this.active) return;
    if (this.running) return this.running;
    this.running = this.withClient(async (c) => {
      // Throttled as autovacuum is by default (autovacuum_vacuum_cost_delay 2 ms, cost limit 200):
      // a manual VACUUM is not, and one of a large table took the database from the scenario it ran beside.
      await c.query(`set vacuum_cost_delay = '2ms'; set vacuum_cost_limit = 200`);
      const rows = await c.query<{ name: string; vacuum: boolean; analyze: boolean }>(
        `select format('%I.%I', s.schemaname, s.relname) as name,
           s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0) or s.n_ins_since_vacuum > 1000 + 0.2 * greatest(c.reltuples, 0) as vacuum,
           s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0) as analyze
         from pg_stat_user_tables s join pg_class c on c.oid = s.relid`,
      );
      for (const row of rows.rows) {
        if (!row.vacuum && !row.analyze) continue;
        const what = row.vacuum && row.analyze ? 'vacuum (analyze)' : row.vacuum ? 'vacuum' : 'analyze';
        const started = Date.now();
        await c.query(`${what} ${row.name}`);
        this.done.push(`${row.name}: ${what} at ${new Date(started).toISOString().slice(11, 19)} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
      }
    })
      // A look that fails (a table dropped meanwhile, a lock timeout) is reported with the run's log, and the next look tries again.
      .catch((error: unknown) => {
        this.done.push(`a look failed at ${new Date().toISOString().slice(11, 19)}: ${error instanceof Error ? error.message : String(error)}`);
      })
      .finally(() => (this.running = undefined));
    return this.running;
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.running;
  }

  private async withClient<T>(work: (client: Client) => Promise<T>): Promise<T> {
    const client = new Client({ connectionString: this.databaseUrl });
    await client.connect();
    try {
      return await work(client);
    } finally {
      await client.end();
    }
  }
}
