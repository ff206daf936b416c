import type { SyncCounts } from '../common/sync.js';
import { emptyCounts } from '../common/sync.js';
import type { Sql } from './sql.js';
import { type ActivityFilter, type UsersSource, userFragments } from './users-source.js';

/**
 * An 'all' run reads only its change set (users it has something to do for); the members of its
 * list that are present with the fields it last sent are recorded here, set-based, once its
 * batches are done: `added` (no request), or `skipped` as `duplicate_email` when an earlier user
 * of the run holds the email, as the batches would have recorded them. Every user of the
 * population then has an outcome, so the counts add up and a mirror run's leavers are found as
 * before (a member without an outcome left the population).
 */

export interface UnchangedRun {
  runId: string;
  platform: string;
  listId: string;
  filter: ActivityFilter;
}

/**
 * Records the run's unchanged members (population members of the list that no batch recorded)
 * and adds to its counts exactly the users it recorded: a repeat (a retried activity, or the
 * run's completion after its mirror leavers) finds them recorded and records and counts nothing,
 * without passing over the list again once its change set says so. Answers what it added.
 */
export async function recordUnchangedMembers(
  sql: Sql,
  source: UsersSource,
  run: UnchangedRun,
): Promise<SyncCounts> {
  const f = userFragments(sql, source);
  return sql.begin(async (tx) => {
    const [found] = await tx<{ recorded: boolean }[]>`
      select unchanged_recorded_at is not null as recorded from audience_sync.run_change_sets
      where run_id = ${run.runId} for update`;
    if (found?.recorded) return emptyCounts();
    // One pass over the list and the population by hash joins: the ledger of a list that filled
    // during the run has stale statistics, with which the planner would probe per user.
    await tx`set local enable_nestloop = off`;
    await tx`set local work_mem = '64MB'`;
    // Each email goes to the first user by id who has it: a user of the batches that claimed
    // it, else the first of these members (numbered by id); the others are its duplicates.
    const [recorded] = await tx<{ added: number; skipped: number }[]>`
      with numbered as (
        select m.user_id, m.email_hash,
          row_number() over (partition by m.email_hash order by u.id) as nth
        from audience_sync.list_members m
        join ${f.relation} u on u.id::text = m.user_id
        left join audience_sync.run_users r on r.run_id = ${run.runId} and r.user_id = m.user_id
        where m.platform = ${run.platform} and m.list_id = ${run.listId}
          and m.email_hash is not null and r.user_id is null
          and ${f.notDeleted} and ${f.active(run.filter)}
      ),
      owning as (
        select n.user_id, n.nth = 1 and re.email_hash is null as owns
        from numbered n
        left join audience_sync.run_emails re
          on re.run_id = ${run.runId} and re.email_hash = n.email_hash
      ),
      recorded as (
        insert into audience_sync.run_users (run_id, user_id, outcome, reason)
        select ${run.runId}, user_id, case when owns then 'added' else 'skipped' end,
          case when owns then null else 'duplicate_email' end
        from owning
        on conflict do nothing
        returning outcome)
      select count(*) filter (where outcome = 'added')::int as added,
        count(*) filter (where outcome = 'skipped')::int as skipped
      from recorded`;
    const counts = {
      ...emptyCounts(),
      added: recorded?.added ?? 0,
      skipped: recorded?.skipped ?? 0,
    };
    counts.processed = counts.added + counts.skipped;
    await tx`
      update audience_sync.runs set processed = processed + ${counts.processed},
        added = added + ${counts.added}, skipped = skipped + ${counts.skipped}
      where run_id = ${run.runId}`;
    await tx`
      update audience_sync.run_change_sets set unchanged_recorded_at = now()
      where run_id = ${run.runId}`;
    return counts;
  });
}
