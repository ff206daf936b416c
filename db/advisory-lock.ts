import type { ReservedSql } from 'postgres';
import type { Sql } from './sql.js';

/**
 * Runs `work` holding Postgres' session advisory lock on `key`, taken on a connection reserved
 * for it: the lock is not a transaction's, so none stays open while a platform answers. Waits for
 * the lock (each waiter holds a connection of the pool meanwhile). `work` gets that connection
 * for statements that must run under the lock's session; its own transactions go to the pool.
 */
export async function withAdvisoryLock<T>(
  sql: Sql,
  key: string,
  work: (connection: ReservedSql) => Promise<T>,
): Promise<T> {
  const reserved = await sql.reserve();
  try {
    await reserved`select pg_advisory_lock(hashtextextended(${key}, 0))`;
    return await work(reserved);
  } finally {
    await reserved`select pg_advisory_unlock(hashtextextended(${key}, 0))`.catch(() => {});
    reserved.release();
  }
}
