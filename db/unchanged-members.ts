import type { TransactionSql } from 'postgres';
import type { SyncCounts } from '../common/sync.js';
import { emptyCounts } from '../common/sync.js';
import type { Sql } from './sql.js';

/**
 * An 'all' run reads only its change set (users it has something to do for); the members of its
 * list that are present with the fields it last sent are its unchanged members, written by the
 * pass that found the change set (`run_unchanged_members`: their ids in chunks, no row each) and
 * counted as added once its batches are done. An unchanged member whose email a user of the
 * batches claimed is that user's duplicate: it becomes a `run_users` row, skipped
 * `duplicate_email`, as the batches would have recorded it. Members sharing an email in the
 * ledger are in the change set, so the batches settle those. Every user of the population then
 * has an outcome, so the counts add up.
 */

export interface UnchangedRun {
  runId: string;
  platform: string;
  listId: string;
}

/**
 * Settles the run's unchanged members and adds them to its counts, once: a repeat (a retried
 * activity, or the run's completion after its mirror leavers) finds them settled and counts
 * nothing. The work is the emails the batches claimed, whatever the size of the list. Users
 * erased since the run began are forgotten first (see forgetErasedMeanwhile). Answers what it
 * added.
 */
export async function recordUnchangedMembers(sql: Sql, run: UnchangedRun): Promise<SyncCounts> {
  return sql.begin(async (tx) => {
    const [found] = await tx<{ recorded: boolean }[]>`
      select unchanged_recorded_at is not null as recorded from audience_sync.run_change_sets
      where run_id = ${run.runId} for update`;
    if (!found || found.recorded) return emptyCounts();
    await forgetErasedMeanwhile(tx, run.runId);
    const duplicates = await claimedByBatches(tx, run);
    if (duplicates.length > 0) {
      await tx`
        update audience_sync.run_unchanged_members
        set user_ids = array(select id from unnest(user_ids) as id
          where id <> all(${duplicates}::text[]))
        where run_id = ${run.runId} and user_ids && ${duplicates}::text[]`;
      await tx`
        insert into audience_sync.run_users (run_id, user_id, outcome, reason)
        select ${run.runId}, unnest(${duplicates}::text[]), 'skipped', 'duplicate_email'
        on conflict do nothing`;
    }
    const [kept] = await tx<{ members: number }[]>`
      select coalesce(sum(cardinality(user_ids)), 0)::int as members
      from audience_sync.run_unchanged_members where run_id = ${run.runId}`;
    const counts = { ...emptyCounts(), added: kept?.members ?? 0, skipped: duplicates.length };
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

/**
 * Unchanged members holding an email that a user of the batches claimed (that user owns it):
 * looked up in the ledger by the claimed emails, then in the run's chunks.
 */
async function claimedByBatches(sql: Sql | TransactionSql, run: UnchangedRun): Promise<string[]> {
  const rows = await sql<{ userId: string }[]>`
    select distinct m.user_id as "userId"
    from audience_sync.run_emails e
    join audience_sync.list_members m on m.platform = ${run.platform}
      and m.list_id = ${run.listId} and m.email_hash = e.email_hash and m.user_id <> e.user_id
    where e.run_id = ${run.runId} and exists (
      select 1 from audience_sync.run_unchanged_members c
      where c.run_id = ${run.runId} and c.user_ids @> array[m.user_id])`;
  return rows.map((row) => row.userId);
}

/**
 * Takes users erased since the run began out of its chunks and absent members. The change set is
 * one long statement: an erasure running meanwhile removes the user from what was committed, not
 * from the chunks the statement commits after it. The erasure's tombstones name the user.
 */
async function forgetErasedMeanwhile(sql: Sql | TransactionSql, runId: string): Promise<void> {
  const erased = sql`
    select t.user_id from audience_sync.erasure_tombstones t
    join audience_sync.runs r on r.run_id = ${runId} and t.erased_at >= r.started_at`;
  await sql`
    update audience_sync.run_unchanged_members
    set user_ids = array(select id from unnest(user_ids) as id where id not in (${erased}))
    where run_id = ${runId} and user_ids && array(${erased})`;
  await sql`
    delete from audience_sync.run_absent_members
    where run_id = ${runId} and user_id in (${erased})`;
}
