import {
  buildRunPlan,
  PLAN_SAMPLE_SIZE,
  type PlannedAdd,
  type PlanRow,
  type RunPlan,
} from '../common/plan.js';
import type { UserOutcome } from './outcomes.js';
import { recordColumns, type Sql } from './sql.js';

/**
 * A dry run's plan as rows of its own: `run_users` rows with `planned` set (the class of an added
 * user), and the run's leavers. Nothing here touches the ledger (`list_members`) or
 * `contact_fields`, so no later run takes a plan for what was sent.
 */

/** Records what a dry run would do with a user; a repeat (a retried batch) changes nothing. */
export async function recordPlannedOutcome(
  sql: Sql,
  runId: string,
  userId: string,
  result: UserOutcome,
  planned: PlannedAdd | null,
): Promise<void> {
  const reason = result.outcome === 'added' ? null : result.reason;
  const unsubscribed = result.outcome === 'skipped' && result.unsubscribed === true;
  const updated = result.outcome === 'added' && result.updated === true;
  await sql`
    insert into audience_sync.run_users
      (run_id, user_id, outcome, reason, unsubscribed, updated, planned)
    values (${runId}, ${userId}, ${result.outcome}, ${reason}, ${unsubscribed}, ${updated},
      ${result.outcome === 'added' ? (planned ?? 'present') : null})
    on conflict do nothing`;
}

/** The dry run's users grouped by class (and reason), each with its first user ids. */
export async function readPlanRows(sql: Sql, runId: string): Promise<PlanRow[]> {
  const rows = await sql<PlanRow[]>`
    with classes as (
      select case when outcome = 'added' then coalesce(planned, 'present') else outcome end as kind,
        case when outcome = 'added' then null else reason end as reason, user_id
      from audience_sync.run_users where run_id = ${runId}
      union all
      select 'update', null, user_id from audience_sync.run_users
      where run_id = ${runId} and outcome = 'added' and updated
      union all
      select 'unsubscribe', null, user_id from audience_sync.run_users
      where run_id = ${runId} and unsubscribed
      union all
      select 'remove', null, user_id from audience_sync.run_leavers
      where run_id = ${runId} and outcome is null
      union all
      -- An opted-out member the population pass would mark unsubscribed is counted there once.
      select 'unsubscribe_leaver', null, l.user_id from audience_sync.run_leavers l
      where l.run_id = ${runId} and l.outcome is null and l.unsubscribe
        and not exists (select 1 from audience_sync.run_users r
          where r.run_id = l.run_id and r.user_id = l.user_id and r.unsubscribed)
    ), ranked as (
      select kind, reason, user_id,
        row_number() over (partition by kind, reason order by user_id collate "C") as n
      from classes
    )
    select kind, reason, count(*)::int as count,
      coalesce(array_agg(user_id order by user_id collate "C")
        filter (where n <= ${PLAN_SAMPLE_SIZE}), '{}') as "userIds"
    from ranked group by kind, reason order by kind, reason`;
  return rows.map((row) => ({ ...row, userIds: [...row.userIds] }));
}

type RemovalGuardRow = Omit<NonNullable<RunPlan['removalGuard']>, 'tripped'>;

const REMOVAL_GUARD_COLUMNS = recordColumns<RemovalGuardRow>()([
  'tracked',
  'would_remove',
  'max_removals',
]);

/** A mirror dry run's removal guard, once its leavers were found. */
export async function readRemovalGuard(
  sql: Sql,
  runId: string,
): Promise<RunPlan['removalGuard'] | undefined> {
  const [row] = await sql<RemovalGuardRow[]>`
    select ${sql.unsafe(REMOVAL_GUARD_COLUMNS)}
    from audience_sync.run_leaver_plans where run_id = ${runId}`;
  return row && { ...row, tripped: row.wouldRemove > row.maxRemovals };
}

/** Remembers the tags of a dry run that have no list yet. */
export async function setPlannedNewTags(sql: Sql, runId: string, tags: string[]): Promise<void> {
  await sql`update audience_sync.runs set planned_new_tags = ${tags} where run_id = ${runId}`;
}

/** The plan of a dry run as its rows have it now (while it runs too). */
export async function readRunPlan(
  sql: Sql,
  run: { runId: string; listId: string | null; listName: string | null },
): Promise<RunPlan> {
  const [tags] = await sql<{ tags: string[] | null }[]>`
    select planned_new_tags as tags from audience_sync.runs where run_id = ${run.runId}`;
  return buildRunPlan(
    await readPlanRows(sql, run.runId),
    { id: run.listId, name: run.listName ?? '', create: run.listId === null },
    tags?.tags ?? [],
    await readRemovalGuard(sql, run.runId),
  );
}
