import type { Sql } from './sql.js';

/** Called every `everyMs` while the lock is awaited (an activity's heartbeat). */
export interface LockWait {
  onWait: () => void;
  everyMs: number;
}

/**
 * Runs `work` holding Postgres' session advisory lock on `key`, taken on a connection reserved
 * for it: the lock is not a transaction's, so none stays open while a platform answers. Waits for
 * the lock (each waiter holds a connection of the pool meanwhile), calling `wait.onWait` on a
 * timer so a waiter stays heard from while another holder works for minutes. `work`'s statements
 * go to the pool.
 */
export async function withAdvisoryLock<T>(
  sql: Sql,
  key: string,
  work: () => Promise<T>,
  wait?: LockWait,
): Promise<T> {
  const reserved = await sql.reserve();
  try {
    const waiting = wait ? setInterval(wait.onWait, wait.everyMs) : undefined;
    try {
      await reserved`select pg_advisory_lock(hashtextextended(${key}, 0))`;
    } finally {
      clearInterval(waiting);
    }
    return await work();
  } finally {
    await reserved`select pg_advisory_unlock(hashtextextended(${key}, 0))`.catch(() => {});
    reserved.release();
  }
}
