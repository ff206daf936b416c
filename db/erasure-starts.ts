import { type ErasureTrigger, insertErasure } from './erasures.js';
import type { Sql } from './sql.js';

/** Any constant shared by every API process: the advisory lock that serialises erasure starts. */
const ERASURE_STARTS_LOCK_ID = 7_302_117_004;

export type ErasureReservation =
  | { inserted: boolean }
  | { refused: { running: number; limit: number } };

/**
 * Records an erasure (as `insertErasure`) unless `limit` erasures are running already. Counting
 * and inserting happen while one connection holds a lock every API process takes for it, so
 * concurrent requests are counted one after the other and never start more than the limit.
 */
export async function insertErasureWithin(
  sql: Sql,
  limit: number,
  erasureId: string,
  trigger: ErasureTrigger,
  userIds: string[],
): Promise<ErasureReservation> {
  const connection = await sql.reserve();
  try {
    await connection`select pg_advisory_lock(${ERASURE_STARTS_LOCK_ID})`;
    try {
      const [counted] = await connection<{ running: number }[]>`
        select count(*)::int as running from audience_sync.erasures where status = 'running'`;
      const running = counted?.running ?? 0;
      if (running >= limit) return { refused: { running, limit } };
      // Inserted by the pool in a transaction of its own, committed before the lock is let go.
      return { inserted: await insertErasure(sql, erasureId, trigger, userIds) };
    } finally {
      await connection`select pg_advisory_unlock(${ERASURE_STARTS_LOCK_ID})`;
    }
  } finally {
    connection.release();
  }
}
