import type { Pool, PoolClient } from 'pg';
import { licenseLockKey } from '../../src/orm/organization.repository';

/** How many sessions of the test database wait for a lock of these kinds (pg_stat_activity's wait_event), once one does (or after about 10 s). */
async function lockWaiters(pool: Pool, events: string[]): Promise<number> {
  const waiting = async () =>
    (
      await pool.query<{ n: number }>(
        `select count(*)::int as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock' and wait_event = any($1::text[])`,
        [events],
      )
    ).rows[0].n;
  for (let i = 0; i < 1000; i++) {
    const n = await waiting();
    if (n > 0) return n;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return waiting();
}

/** How many sessions wait for an advisory lock, once one does. */
export const advisoryLockWaiters = (pool: Pool) => lockWaiters(pool, ['advisory']);

/** How many sessions wait for another transaction's row (a row lock), once one does. */
export const rowLockWaiters = (pool: Pool) => lockWaiters(pool, ['transactionid', 'tuple']);

/**
 * Runs `body` in a transaction of its own that holds the organization's license lock
 * exclusively, as a create within the margin of its limit holds it (the advisory lock,
 * taken as the store takes it); commits after `body`, or rolls back if it throws.
 */
export async function holdingLicenseLock(pool: Pool, organizationId: string, body: (holder: PoolClient) => Promise<void>): Promise<void> {
  const holder = await pool.connect();
  let open = false;
  try {
    await holder.query('begin');
    open = true;
    await holder.query(`select pg_advisory_xact_lock(${licenseLockKey('$1::text')})`, [organizationId]);
    await body(holder);
    await holder.query('commit');
    open = false;
  } finally {
    // Never back to the pool holding the lock (a failed expectation would leave a waiter behind).
    if (open) await holder.query('rollback');
    holder.release();
  }
}
