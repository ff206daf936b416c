import {
  COUNT_FIELDS,
  countsOf,
  DEFAULT_MAX_REMOVALS,
  emptyCounts,
  type MaxRemovals,
  type Platform,
  type RunStatus,
  type RunTrigger,
  type SyncCounts,
  type SyncMode,
  type SyncProgress,
  type SyncRequest,
  type SyncType,
} from '../common/sync.js';
import { recordColumns, type Sql } from './sql.js';

export interface RunRecord extends SyncCounts {
  runId: string;
  platform: Platform;
  syncType: SyncType;
  trigger: RunTrigger;
  scheduleId: string | null;
  listId: string | null;
  listName: string | null;
  description: string | null;
  tags: string[];
  filterActive: boolean;
  activeDays: number;
  activeSince: Date;
  status: RunStatus;
  total: number | null;
  mode: SyncMode;
  /** As asked: a whole number or a share like "20%"; null: the default. */
  maxRemovals: string | null;
  dryRun: boolean;
  /** Contact properties the run sends: property key → column of the users relation. */
  properties: Record<string, string>;
  /** Since when the platform has kept failing this run's batches; null while it answers. */
  platformUnavailableSince: Date | null;
  /** Set while the run is paused (its status stays `running`: it keeps its list). */
  pausedAt: Date | null;
  errorCode: string | null;
  errorMessage: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

/** The select list of a RunRecord: one column per field, derived, not mapped by hand. */
export const RUN_COLUMNS = recordColumns<RunRecord>()([
  'run_id',
  'platform',
  'sync_type',
  'trigger',
  'schedule_id',
  'list_id',
  'list_name',
  'description',
  'tags',
  'filter_active',
  'active_days',
  'active_since',
  'status',
  'total',
  ...COUNT_FIELDS,
  'mode',
  'max_removals',
  'dry_run',
  'properties',
  'platform_unavailable_since',
  'paused_at',
  'error_code',
  'error_message',
  'started_at',
  'finished_at',
]);

export type NewRun = Pick<
  RunRecord,
  | 'runId'
  | 'platform'
  | 'syncType'
  | 'trigger'
  | 'scheduleId'
  | 'listName'
  | 'description'
  | 'tags'
  | 'filterActive'
  | 'activeDays'
  | 'activeSince'
  | 'mode'
  | 'maxRemovals'
  | 'dryRun'
  | 'properties'
>;

/** The record a run starts with, from its request and the moment its filters are fixed. */
export const newRunRecord = (runId: string, request: SyncRequest, activeSince: Date): NewRun => ({
  runId,
  platform: request.platform,
  syncType: request.syncType,
  trigger: request.trigger,
  scheduleId: request.scheduleId ?? null,
  listName: request.listName,
  description: request.description ?? null,
  tags: request.tags,
  filterActive: request.filterActive,
  activeDays: request.activeDays,
  activeSince,
  mode: request.mode ?? 'add',
  maxRemovals: request.maxRemovals === undefined ? null : String(request.maxRemovals),
  dryRun: request.dryRun ?? false,
  properties: request.properties ?? {},
});

/** The run's removal limit as asked; runs recorded without one have the default. */
export const maxRemovalsOf = (run: Pick<RunRecord, 'maxRemovals'>): MaxRemovals => {
  const value = run.maxRemovals;
  if (value === null) return DEFAULT_MAX_REMOVALS;
  return value.endsWith('%') ? (value as MaxRemovals) : Number(value);
};

const UNIQUE_VIOLATION = '23505';
const isUniqueViolation = (error: unknown, constraint: string): boolean =>
  typeof error === 'object' &&
  error !== null &&
  'code' in error &&
  error.code === UNIQUE_VIOLATION &&
  'constraint_name' in error &&
  error.constraint_name === constraint;

export async function getRun(sql: Sql, runId: string): Promise<RunRecord | undefined> {
  const [run] = await sql<RunRecord[]>`
    select ${sql.unsafe(RUN_COLUMNS)} from audience_sync.runs where run_id = ${runId}`;
  return run;
}

/**
 * Inserts the run record and the users a 'specific' run asks for; a record that exists already
 * is left in place. Call it inside a transaction.
 */
async function insertRunRecord(tx: Sql, run: NewRun, requestedUserIds: string[]): Promise<void> {
  const inserted = await tx`
    insert into audience_sync.runs (run_id, platform, sync_type, trigger, schedule_id, list_name,
      description, tags, filter_active, active_days, active_since, mode, max_removals, dry_run,
      properties)
    values (${run.runId}, ${run.platform}, ${run.syncType}, ${run.trigger}, ${run.scheduleId},
      ${run.listName}, ${run.description}, ${run.tags}, ${run.filterActive}, ${run.activeDays},
      ${run.activeSince}, ${run.mode}, ${run.maxRemovals}, ${run.dryRun}, ${tx.json(run.properties)})
    on conflict (run_id) do nothing
    returning run_id`;
  if (inserted.length === 0 || requestedUserIds.length === 0) return;
  await tx`
    insert into audience_sync.run_requested_users (run_id, user_id)
    select ${run.runId}, unnest(${requestedUserIds}::text[])
    on conflict do nothing`;
}

/** Creates the run record once; a repeat (an activity retry) leaves the first one in place. */
export async function insertRun(sql: Sql, run: NewRun, requestedUserIds: string[]): Promise<void> {
  await sql.begin((tx) => insertRunRecord(tx as unknown as Sql, run, requestedUserIds));
}

/** The run currently syncing into a list, if any (dry runs write nothing there). */
export async function findRunningRunForList(
  sql: Sql,
  platform: Platform,
  listId: string,
): Promise<string | undefined> {
  const [row] = await sql<{ runId: string }[]>`
    select run_id as "runId" from audience_sync.runs
    where platform = ${platform} and list_id = ${listId} and status = 'running' and not dry_run`;
  return row?.runId;
}

export type AssignListResult = { assigned: true } | { assigned: false; activeRunId: string };

/**
 * Records the run's destination list. Fails softly when another running run already syncs into
 * it: the unique index on running runs per list is the lock.
 */
export async function assignRunList(
  sql: Sql,
  runId: string,
  listId: string,
  listName: string,
): Promise<AssignListResult> {
  try {
    await sql`
      update audience_sync.runs set list_id = ${listId}, list_name = ${listName}
      where run_id = ${runId}`;
    return { assigned: true };
  } catch (error) {
    if (!isUniqueViolation(error, 'runs_one_running_per_list')) throw error;
    const [run] = await sql<{ platform: Platform }[]>`
      select platform from audience_sync.runs where run_id = ${runId}`;
    const activeRunId = run && (await findRunningRunForList(sql, run.platform, listId));
    if (!activeRunId) throw error;
    return { assigned: false, activeRunId };
  }
}

export async function setRunTotal(sql: Sql, runId: string, total: number): Promise<void> {
  await sql`update audience_sync.runs set total = ${total} where run_id = ${runId} and total is null`;
}

/** The run's counts as the record has them: the one source of a run's progress. */
export const progressOf = (run: RunRecord): SyncProgress => ({
  total: Math.max(run.total ?? 0, run.processed),
  ...countsOf(run),
});

/**
 * The checkpoint after a batch. Inserting the batch row and advancing the counters happen in one
 * transaction, and only the first time, so a retried batch never counts twice. Answers the run's
 * progress after it.
 */
export async function checkpointBatch(
  sql: Sql,
  runId: string,
  batchNo: number,
  cursorAfter: string | null,
  counts: SyncCounts,
): Promise<SyncProgress> {
  return sql.begin(async (tx) => {
    const inserted = await tx`
      insert into audience_sync.run_batches (run_id, batch_no, cursor_after)
      values (${runId}, ${batchNo}, ${cursorAfter})
      on conflict do nothing
      returning batch_no`;
    // A repeated checkpoint (a retried batch) adds nothing, but still answers the progress.
    const add = inserted.length > 0 ? counts : emptyCounts();
    const [run] = await tx<RunRecord[]>`
      update audience_sync.runs set
        processed = processed + ${add.processed}, added = added + ${add.added},
        failed = failed + ${add.failed}, skipped = skipped + ${add.skipped},
        removed = removed + ${add.removed}, unsubscribed = unsubscribed + ${add.unsubscribed},
        updated = updated + ${add.updated},
        platform_unavailable_since = null
      where run_id = ${runId}
      returning ${tx.unsafe(RUN_COLUMNS)}`;
    if (!run) throw new Error(`run ${runId} has no record`);
    return progressOf(run);
  });
}

/** The platform failed a batch attempt with an outage: remember since when, for the status. */
export async function markPlatformUnavailable(sql: Sql, runId: string): Promise<void> {
  await sql`
    update audience_sync.runs set platform_unavailable_since = coalesce(platform_unavailable_since, now())
    where run_id = ${runId}`;
}

export async function finishRun(
  sql: Sql,
  runId: string,
  status: Exclude<RunStatus, 'running'>,
  error?: { code: string; message: string },
): Promise<RunRecord | undefined> {
  const [run] = await sql<RunRecord[]>`
    update audience_sync.runs set
      status = ${status}, paused_at = null,
      total = case when ${status} = 'completed' then processed else coalesce(total, processed) end,
      error_code = ${error?.code ?? null}, error_message = ${error?.message ?? null},
      finished_at = coalesce(finished_at, now())
    where run_id = ${runId}
    returning ${sql.unsafe(RUN_COLUMNS)}`;
  return run;
}

/**
 * Records the end of a run that Temporal ended without the run finishing itself (terminated or
 * timed out from outside), so the list it held is free again. Runs that ended normally are left
 * as they are.
 */
export async function markRunEndedOutside(
  sql: Sql,
  runId: string,
  temporalStatus: string,
): Promise<void> {
  await sql`
    update audience_sync.runs set
      status = ${temporalStatus === 'cancelled' ? 'cancelled' : 'failed'},
      error_code = 'RunEndedOutside',
      error_message = ${`Temporal ended the run (${temporalStatus}) before it finished`},
      finished_at = coalesce(finished_at, now())
    where run_id = ${runId} and status = 'running'`;
}

export interface RejectedUser {
  userId: string;
  reason: string;
  /** The platform's own message (no personal data), when the platform refused the user. */
  platformMessage?: string;
}

type RejectedUserRow = Omit<RejectedUser, 'platformMessage'> & { platformMessage: string | null };

const REJECTED_USER_COLUMNS = recordColumns<RejectedUserRow>()([
  'user_id',
  'reason',
  'platform_message',
]);

/** The first failed users of a run, in the order they were recorded. */
export async function listRejectedUsers(
  sql: Sql,
  runId: string,
  limit = 100,
): Promise<RejectedUser[]> {
  const rows = await sql<RejectedUserRow[]>`
    select ${sql.unsafe(REJECTED_USER_COLUMNS)}
    from audience_sync.run_users
    where run_id = ${runId} and outcome = 'failed'
    order by recorded_at, user_id
    limit ${limit}`;
  return rows.map(({ platformMessage, ...user }) => ({
    ...user,
    ...(platformMessage ? { platformMessage } : {}),
  }));
}

export interface IdempotencyClaim {
  runId: string;
  requestHash: string;
  /** True when this call made the claim; false when an earlier call had. */
  claimed: boolean;
}

const CLAIM_COLUMNS = recordColumns<Omit<IdempotencyClaim, 'claimed'>>()([
  'run_id',
  'request_hash',
]);

/** Maps an Idempotency-Key to one run: the first call's run id wins, concurrently too. */
export async function claimIdempotencyKey(
  sql: Sql,
  key: string,
  requestHash: string,
  runId: string,
): Promise<IdempotencyClaim> {
  const [inserted] = await sql<{ runId: string }[]>`
    insert into audience_sync.idempotency_keys (key, request_hash, run_id)
    values (${key}, ${requestHash}, ${runId})
    on conflict (key) do nothing
    returning run_id as "runId"`;
  if (inserted) return { runId, requestHash, claimed: true };
  const [existing] = await sql<Omit<IdempotencyClaim, 'claimed'>[]>`
    select ${sql.unsafe(CLAIM_COLUMNS)}
    from audience_sync.idempotency_keys where key = ${key}`;
  if (!existing) throw new Error('idempotency key vanished while being read');
  return { ...existing, claimed: false };
}

export interface RunOutcomeSummary extends SyncCounts {
  runId: string;
  status: RunStatus;
}

const RUN_OUTCOME_COLUMNS = recordColumns<RunOutcomeSummary>()([
  'run_id',
  'status',
  ...COUNT_FIELDS,
]);

/** Status and counts of the given runs that have a record (e.g. a schedule's recent runs). */
export async function runOutcomes(sql: Sql, runIds: string[]): Promise<RunOutcomeSummary[]> {
  if (runIds.length === 0) return [];
  return sql<RunOutcomeSummary[]>`
    select ${sql.unsafe(RUN_OUTCOME_COLUMNS)} from audience_sync.runs
    where run_id = any(${runIds}::text[])`;
}

/** The user ids a 'specific' run was asked for, as asked. */
export async function requestedUserIds(sql: Sql, runId: string): Promise<string[]> {
  const rows = await sql<{ userId: string }[]>`
    select user_id as "userId" from audience_sync.run_requested_users where run_id = ${runId}`;
  return rows.map((row) => row.userId);
}

/**
 * Replaces asked ids by the ids of the users they name (`"0042"` by `"42"`; one row when both
 * were asked for), so the run reads, records and counts each user once, by its own id. Ids of no
 * user stay as asked. A repeat changes nothing.
 */
export async function replaceRequestedUserIds(
  sql: Sql,
  runId: string,
  resolved: Map<string, string>,
): Promise<void> {
  const renamed = [...resolved].filter(([asked, userId]) => asked !== userId);
  if (renamed.length === 0) return;
  await sql.begin(async (tx) => {
    await tx`
      delete from audience_sync.run_requested_users
      where run_id = ${runId} and user_id = any(${renamed.map(([asked]) => asked)}::text[])`;
    await tx`
      insert into audience_sync.run_requested_users (run_id, user_id)
      select ${runId}, unnest(${renamed.map(([, userId]) => userId)}::text[])
      on conflict do nothing`;
  });
}

/** How many users a 'specific' run was asked for. */
export async function countRequestedUsers(sql: Sql, runId: string): Promise<number> {
  const [row] = await sql<{ count: number }[]>`
    select count(*)::int as count from audience_sync.run_requested_users where run_id = ${runId}`;
  return row?.count ?? 0;
}

/** Records that a run paused (after its batch in flight) or resumed. */
export async function setRunPaused(sql: Sql, runId: string, paused: boolean): Promise<void> {
  await sql`
    update audience_sync.runs
    set paused_at = ${paused ? sql`coalesce(paused_at, now())` : null}
    where run_id = ${runId} and status = 'running'`;
}

/** Any constant shared by every API process: the advisory lock that serialises run starts. */
const RUN_STARTS_LOCK_ID = 7_302_117_002;

/** MAX_CONCURRENT_RUNS and MAX_CONCURRENT_DRY_RUNS. */
export interface RunLimits {
  runs: number;
  dryRuns: number;
}

/** A run refused because its kind (real or dry) is at its limit. */
export interface RunLimitRefusal {
  code: 'too_many_runs' | 'too_many_dry_runs';
  running: number;
  limit: number;
}

export const isRunLimitCode = (code: string | null | undefined): code is RunLimitRefusal['code'] =>
  code === 'too_many_runs' || code === 'too_many_dry_runs';

export type RunReservation =
  | { reserved: true; existing: boolean }
  | ({ reserved: false } & RunLimitRefusal);

/** What a refused run is told: how many run, and the setting that limits them. */
export const runLimitMessage = ({ code, running, limit }: RunLimitRefusal): string => {
  const are = running === 1 ? 'is' : 'are';
  return code === 'too_many_dry_runs'
    ? `${running} dry run${running === 1 ? '' : 's'} ${are} running, as many as MAX_CONCURRENT_DRY_RUNS (${limit}) allows`
    : `${running} run${running === 1 ? '' : 's'} ${are} running or paused, as many as MAX_CONCURRENT_RUNS (${limit}) allows`;
};

/**
 * Records a run about to start, unless as many runs of its kind are running already: runs that
 * write (paused ones too: their status stays `running`) against `limits.runs`, dry runs against
 * `limits.dryRuns`. Counting and inserting happen in one transaction under an advisory lock, so
 * concurrent starts, from any number of API processes and workers, are counted one after the
 * other and never start more than the limit between them. A run that has a record already (a
 * repeated Idempotency-Key, a run the API recorded before its start) is not a new run and is not
 * counted again. The record is the one the run's first activity would insert, so the run counts
 * from before its start.
 */
export async function reserveRun(
  sql: Sql,
  run: NewRun,
  requestedUserIds: string[],
  limits: RunLimits,
): Promise<RunReservation> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(${RUN_STARTS_LOCK_ID})`;
    const [existing] = await tx`select 1 from audience_sync.runs where run_id = ${run.runId}`;
    if (existing) return { reserved: true, existing: true };
    const [counted] = await tx<{ running: number }[]>`
      select count(*)::int as running from audience_sync.runs
      where status = 'running' and dry_run = ${run.dryRun}`;
    const running = counted?.running ?? 0;
    const limit = run.dryRun ? limits.dryRuns : limits.runs;
    if (running >= limit) {
      const code = run.dryRun ? 'too_many_dry_runs' : 'too_many_runs';
      return { reserved: false, code, running, limit };
    }
    await insertRunRecord(tx as unknown as Sql, run, requestedUserIds);
    return { reserved: true, existing: false };
  });
}

/**
 * Records a run that is not going to run: a scheduled run refused by a limit, ended at once as
 * `cancelled` with the limit's code and message (counted nowhere, shown by its status).
 */
export async function recordRefusedRun(
  sql: Sql,
  run: NewRun,
  refusal: RunLimitRefusal,
): Promise<void> {
  await sql`
    insert into audience_sync.runs (run_id, platform, sync_type, trigger, schedule_id, list_name,
      description, tags, filter_active, active_days, active_since, mode, max_removals, dry_run,
      properties, status, total, error_code, error_message, finished_at)
    values (${run.runId}, ${run.platform}, ${run.syncType}, ${run.trigger}, ${run.scheduleId},
      ${run.listName}, ${run.description}, ${run.tags}, ${run.filterActive}, ${run.activeDays},
      ${run.activeSince}, ${run.mode}, ${run.maxRemovals}, ${run.dryRun}, ${sql.json(run.properties)},
      'cancelled', 0, ${refusal.code}, ${`Skipped: ${runLimitMessage(refusal)}; the schedule's next run tries again`}, now())
    on conflict (run_id) do nothing`;
}

/**
 * Removes the record `reserveRun` made for a run whose start did not reach Temporal, so it does
 * not hold a place. A run that began after all (it has a list, a total or a batch) keeps it.
 */
export async function releaseUnstartedRun(sql: Sql, runId: string): Promise<void> {
  await sql`
    delete from audience_sync.runs r
    where r.run_id = ${runId} and r.status = 'running' and r.list_id is null and r.total is null
      and r.processed = 0
      and not exists (select 1 from audience_sync.run_batches b where b.run_id = r.run_id)`;
}

/** Ids of the runs recorded as running that started before `startedBefore`, oldest first. */
export async function listRunningRunIds(sql: Sql, startedBefore: Date): Promise<string[]> {
  const rows = await sql<{ runId: string }[]>`
    select run_id as "runId" from audience_sync.runs
    where status = 'running' and started_at < ${startedBefore}
    order by started_at`;
  return rows.map((row) => row.runId);
}

// Errors of the driver (node's socket errors and postgres.js's own) that mean no connection.
const CONNECTION_ERRORS = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'CONNECT_TIMEOUT',
  'CONNECTION_CLOSED',
  'CONNECTION_ENDED',
  'CONNECTION_DESTROYED',
]);
// SQLSTATEs of a server that is going away or not taking connections.
const UNAVAILABLE_STATES = new Set(['57P01', '57P02', '57P03', '53300']);

/** True when a database call failed because Postgres could not be reached or is shutting down. */
export function isDatabaseUnavailable(error: unknown): boolean {
  if (typeof error !== 'object' || error === null) return false;
  if (error instanceof AggregateError) return error.errors.some(isDatabaseUnavailable);
  const code = 'code' in error ? String(error.code) : '';
  return CONNECTION_ERRORS.has(code) || UNAVAILABLE_STATES.has(code) || code.startsWith('08');
}
