import type { Pool } from 'pg';

/** How many sessions of the test database wait for an advisory lock, once one does (or after 10 s). */
export async function advisoryLockWaiters(pool: Pool): Promise<number> {
  const waiting = async () =>
    (
      await pool.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and wait_event = 'advisory'`,
      )
    ).rows[0].n;
  for (let i = 0; i < 1000; i++) {
    const n = await waiting();
    if (n > 0) return n;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return waiting();
}
