import type { Sql } from './sql.js';

/**
 * Brings the planner's statistics of these tables of the service up to date when a tenth of their
 * rows changed since they were gathered: a list a bulk import filled has a ledger the planner
 * still takes for empty until autovacuum comes by, and then probes it row by row (a batch's
 * look-up of 100 members took 40 s at 100,000 members). The whole run's statements gain from it.
 */
export async function analyzeIfStale(sql: Sql, tables: string[]): Promise<void> {
  const stale = await sql<{ name: string }[]>`
    select relname as name from pg_stat_user_tables
    where schemaname = 'audience_sync' and relname = any(${tables}::text[])
      and n_mod_since_analyze > greatest(1000, n_live_tup / 10)`;
  for (const { name } of stale) await sql`analyze ${sql(`audience_sync.${name}`)}`;
}
