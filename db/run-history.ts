import type { PendingQuery, Row } from 'postgres';
import type { RunViewStatus } from '../common/sync.js';
import type { BulkMode } from './bulk.js';
import { RUN_COLUMNS, type RunRecord } from './runs.js';
import { recordColumns, type Sql } from './sql.js';

/**
 * What people read of runs after the fact: the list of sync runs, newest first, and each run's
 * users with their outcome and reason. Only `runs` rows are sync runs (erasures and the daily
 * reconciliation keep their own tables), and only user ids and reason codes leave here.
 */

export interface RunListFilter {
  status?: RunViewStatus | undefined;
  listId?: string | undefined;
  platform?: string | undefined;
}

/**
 * Where a page of runs ends: the last run's start, to the microsecond Postgres keeps (a
 * JavaScript Date would round it and skip or repeat runs started in the same millisecond), and
 * its id, which breaks ties.
 */
export interface RunPosition {
  startedAt: string;
  runId: string;
}

export interface ListedRun extends RunRecord {
  bulkMode: BulkMode | null;
  bulkNote: string | null;
  position: RunPosition;
}

const BULK_COLUMNS = recordColumns<Pick<ListedRun, 'bulkMode' | 'bulkNote'>>()([
  'bulk_mode',
  'bulk_note',
]);

const statusCondition = (sql: Sql, status: RunViewStatus | undefined) => {
  if (status === undefined) return sql``;
  if (status === 'running') return sql`and status = 'running' and paused_at is null`;
  if (status === 'paused') return sql`and status = 'running' and paused_at is not null`;
  return sql`and status = ${status}`;
};

/** Up to `limit` sync runs after `after`, newest first. */
export async function listRuns(
  sql: Sql,
  filter: RunListFilter,
  limit: number,
  after?: RunPosition,
): Promise<ListedRun[]> {
  const rows = await sql<
    (RunRecord & { bulkMode: BulkMode | null; bulkNote: string | null; positionTime: string })[]
  >`
    select ${sql.unsafe(RUN_COLUMNS)}, ${sql.unsafe(BULK_COLUMNS)},
      to_char(started_at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"') as "positionTime"
    from audience_sync.runs
    where true ${statusCondition(sql, filter.status)}
      ${filter.listId === undefined ? sql`` : sql`and list_id = ${filter.listId}`}
      ${filter.platform === undefined ? sql`` : sql`and platform = ${filter.platform}`}
      ${after ? sql`and (started_at, run_id) < (${after.startedAt}::timestamptz, ${after.runId})` : sql``}
    order by started_at desc, run_id desc
    limit ${limit}`;
  return rows.map(({ positionTime, ...run }) => ({
    ...run,
    position: { startedAt: positionTime, runId: run.runId },
  }));
}

export interface ReasonCounts {
  skipped: Record<string, number>;
  failed: Record<string, number>;
}

interface ReasonCount {
  runId: string;
  outcome: 'skipped' | 'failed';
  reason: string | null;
  count: number;
}

const REASON_COLUMNS = recordColumns<Omit<ReasonCount, 'count'>>()(['run_id', 'outcome', 'reason']);

/** Skipped and failed users of each run, counted by reason. */
export async function countReasons(sql: Sql, runIds: string[]): Promise<Map<string, ReasonCounts>> {
  const counts = new Map(
    runIds.map((runId): [string, ReasonCounts] => [runId, { skipped: {}, failed: {} }]),
  );
  if (runIds.length === 0) return counts;
  const rows = await sql<ReasonCount[]>`
    select ${sql.unsafe(REASON_COLUMNS)}, count(*)::int as count
    from audience_sync.run_users
    where run_id = any(${runIds}::text[]) and outcome <> 'added'
    group by run_id, outcome, reason`;
  for (const row of rows) {
    const byReason = counts.get(row.runId)?.[row.outcome];
    if (byReason) byReason[row.reason ?? 'unknown'] = row.count;
  }
  return counts;
}

/** `updated`: added users whose fields the run patched; `added`: the other added users. */
export type RunUserOutcome = 'added' | 'updated' | 'skipped' | 'failed';

export interface RunUserFilter {
  outcome?: RunUserOutcome | undefined;
  reason?: string | undefined;
}

export interface RunUserRow {
  userId: string;
  outcome: RunUserOutcome;
  reason: string | null;
}

const outcomeCondition = (sql: Sql, outcome: RunUserOutcome | undefined) => {
  if (outcome === undefined) return sql``;
  if (outcome === 'added') return sql`and outcome = 'added' and not updated`;
  if (outcome === 'updated') return sql`and outcome = 'added' and updated`;
  return sql`and outcome = ${outcome}`;
};

/** The run's users matching the filter after `afterUserId`, by user id. */
const runUsersQuery = (
  sql: Sql,
  runId: string,
  filter: RunUserFilter,
  afterUserId: string | undefined,
  limit: number | undefined,
): PendingQuery<(RunUserRow & Row)[]> => sql<(RunUserRow & Row)[]>`
  select user_id as "userId",
    case when outcome = 'added' and updated then 'updated' else outcome end as outcome, reason
  from audience_sync.run_users
  where run_id = ${runId} ${outcomeCondition(sql, filter.outcome)}
    ${
      // Added users have no reason; saying so lets the planner use the index of the others.
      filter.reason === undefined
        ? sql``
        : sql`and reason = ${filter.reason} and outcome <> 'added'`
    }
    ${afterUserId === undefined ? sql`` : sql`and user_id > ${afterUserId}`}
  order by user_id
  ${limit === undefined ? sql`` : sql`limit ${limit}`}`;

/** Whether users of this filter include unchanged members (added, no reason, not updated). */
const includesUnchanged = (filter: RunUserFilter): boolean =>
  filter.reason === undefined && (filter.outcome === undefined || filter.outcome === 'added');

/**
 * The first `limit` unchanged members after `afterUserId`, by user id: only the chunks that can
 * hold them are unnested (each chunk is a run of ids in order; the first may hold fewer after
 * the cursor, so the chunks it takes count from the second on). The chunks are written with the
 * change set but are the run's users only once the run settled (counted) them: never for a run
 * that failed or was cancelled.
 */
const unchangedMembersQuery = (
  sql: Sql,
  runId: string,
  afterUserId: string | undefined,
  limit: number,
) => {
  const after = afterUserId === undefined ? sql`true` : sql`id > ${afterUserId}`;
  const lastAfter =
    afterUserId === undefined ? sql`true` : sql`user_ids[cardinality(user_ids)] > ${afterUserId}`;
  return sql`
    select id as "userId", 'added' as outcome, null::text as reason
    from (
      select user_ids, sum(cardinality(user_ids)) over (order by chunk)
        - cardinality(user_ids) - first_value(cardinality(user_ids)) over (order by chunk)
        as before
      from audience_sync.run_unchanged_members
      where run_id = ${runId} and cardinality(user_ids) > 0 and ${lastAfter}
        and exists (select 1 from audience_sync.run_change_sets s
          where s.run_id = ${runId} and s.unchanged_recorded_at is not null)) c
    cross join lateral unnest(c.user_ids) as id
    where c.before < ${limit} and ${after}
    order by id
    limit ${limit}`;
};

/**
 * Up to `limit` users of the run after `afterUserId`: its outcome rows and, where the filter
 * takes them, its unchanged members (kept in chunks), merged in user-id order.
 */
export async function readRunUsers(
  sql: Sql,
  runId: string,
  filter: RunUserFilter,
  afterUserId: string | undefined,
  limit: number,
): Promise<RunUserRow[]> {
  if (!includesUnchanged(filter)) return runUsersQuery(sql, runId, filter, afterUserId, limit);
  return sql<RunUserRow[]>`
    select * from (
      (${runUsersQuery(sql, runId, filter, afterUserId, limit)})
      union all
      (${unchangedMembersQuery(sql, runId, afterUserId, limit)})) page
    order by "userId"
    limit ${limit}`;
}

/**
 * Every user of the run matching the filter, `rowsPerRead` at a time: from a database cursor,
 * or page by page where unchanged members are merged in.
 */
export function streamRunUsers(
  sql: Sql,
  runId: string,
  filter: RunUserFilter,
  rowsPerRead: number,
): AsyncIterable<RunUserRow[]> {
  if (!includesUnchanged(filter)) {
    return runUsersQuery(sql, runId, filter, undefined, undefined).cursor(rowsPerRead);
  }
  return (async function* pages() {
    for (let after: string | undefined; ; ) {
      const page = await readRunUsers(sql, runId, filter, after, rowsPerRead);
      if (page.length > 0) yield page;
      if (page.length < rowsPerRead) return;
      after = page.at(-1)?.userId;
    }
  })();
}

/** Whether the run has a record, and whether retention deleted its users. */
export async function runOutcomesState(
  sql: Sql,
  runId: string,
): Promise<'kept' | 'deleted' | 'no_record'> {
  const [row] = await sql<{ deleted: boolean }[]>`
    select per_user_rows_deleted_at is not null as deleted from audience_sync.runs
    where run_id = ${runId}`;
  if (!row) return 'no_record';
  return row.deleted ? 'deleted' : 'kept';
}
