import type { Sql } from './sql.js';

/**
 * Retention (RUN_RETENTION_DAYS): the per-user data of runs that ended more than that many days
 * ago — every table of the schema with a `run_id` and a column naming users (`user_id`,
 * `user_ids`, `cursor_after`), found through the catalog: each user's outcome, the run's email
 * claims, the users a `specific` run was asked for, the batch checkpoints and bulk chunks (they
 * name the last user of a batch) — plus idempotency keys and processed webhook ids of that age.
 * The run is marked (`outcomes_deleted_at`), so its users answer 410 from then on.
 * Kept: the runs' summaries (their counts), everything of a run still running, the ledger
 * (`list_members`, which `new` and mirror runs read), the contact directory, the consent
 * records, the opt-outs feed and the erasures' tombstones and counts.
 */
export interface RetentionCounts {
  /** Runs whose per-user rows were deleted. */
  runs: number;
  /** Rows deleted per table. */
  rows: Record<string, number>;
  idempotencyKeys: number;
  webhookDeliveries: number;
}

/** Tables with per-user rows of runs, from the catalog. */
export async function perUserRunTables(sql: Sql): Promise<string[]> {
  const rows = await sql<{ table: string }[]>`
    select c.relname as table
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = 'audience_sync' and c.relkind in ('r', 'p') and not c.relispartition
      and c.relname <> 'runs'
      and exists (select 1 from pg_attribute a where a.attrelid = c.oid and a.attname = 'run_id'
        and not a.attisdropped)
      and exists (select 1 from pg_attribute a where a.attrelid = c.oid
        and a.attname in ('user_id', 'user_ids', 'cursor_after') and not a.attisdropped)
    order by 1`;
  return rows.map((row) => row.table);
}

/** Deletes what is older than `days` days; answers how many rows of each kind went. */
export async function deleteExpiredRunData(sql: Sql, days: number): Promise<RetentionCounts> {
  const cutoff = sql`now() - make_interval(days => ${days})`;
  const tables = await perUserRunTables(sql);
  const counts: RetentionCounts = {
    runs: 0,
    rows: Object.fromEntries(tables.map((table) => [table, 0])),
    idempotencyKeys: 0,
    webhookDeliveries: 0,
  };
  const expiredRuns = await sql<{ runId: string }[]>`
    select run_id as "runId" from audience_sync.runs
    where status <> 'running' and finished_at < ${cutoff} and outcomes_deleted_at is null
    order by finished_at`;
  // One run at a time, so no transaction holds many rows' locks for long.
  for (const { runId } of expiredRuns) {
    const deleted = await sql.begin(async (tx) => {
      let total = 0;
      for (const table of tables) {
        const { count } = await tx`
          delete from ${tx(`audience_sync.${table}`)} where run_id = ${runId}`;
        counts.rows[table] = (counts.rows[table] ?? 0) + count;
        total += count;
      }
      // From now on the run's users answer 410 outcomes_expired.
      await tx`
        update audience_sync.runs set outcomes_deleted_at = now() where run_id = ${runId}`;
      return total;
    });
    if (deleted > 0) counts.runs += 1;
  }
  // A key of a run still running keeps answering repeats with that run.
  counts.idempotencyKeys = (
    await sql`
      delete from audience_sync.idempotency_keys k
      where k.created_at < ${cutoff} and not exists (
        select 1 from audience_sync.runs r where r.run_id = k.run_id and r.status = 'running')`
  ).count;
  counts.webhookDeliveries = (
    await sql`delete from audience_sync.webhook_deliveries where received_at < ${cutoff}`
  ).count;
  return counts;
}
