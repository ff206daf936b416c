import type { Sql } from './sql.js';

/** Any constant shared by every API process: the advisory lock that serialises schedule creates. */
const SCHEDULE_CREATES_LOCK_ID = 7_302_117_003;

/**
 * Runs `work` (count the schedules, create one) while holding a lock every API process takes
 * for it, so concurrent creates are counted one after the other. The schedules live in Temporal;
 * Postgres only provides the lock.
 */
export async function withScheduleCreationLock<T>(sql: Sql, work: () => Promise<T>): Promise<T> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${SCHEDULE_CREATES_LOCK_ID})`;
    return work();
  }) as Promise<T>;
}
