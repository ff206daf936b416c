import { Context } from '@temporalio/activity';
import { ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { describeTemporalRun } from '../client/sync-runs.js';
import type { RunPlan } from '../common/plan.js';
import {
  emptyCounts,
  plannedListId,
  type RunStatus,
  type SyncProgress,
  type SyncRequest,
} from '../common/sync.js';
import { setRunBulkMode } from '../db/bulk.js';
import { fixTrackedBefore } from '../db/leavers.js';
import { readRunPlan, setPlannedNewTags } from '../db/plans.js';
import {
  assignRunList,
  countRequestedUsers,
  finishRun,
  getRun,
  isRunLimitCode,
  markPlatformUnavailable,
  markRunEndedOutside,
  type NewRun,
  newRunRecord,
  progressOf,
  type RunLimits,
  type RunRecord,
  recordRefusedRun,
  replaceRequestedUserIds,
  requestedUserIds,
  reserveRun,
  runLimitMessage,
  setRunPaused,
  setRunTotal,
} from '../db/runs.js';
import { fingerprintSentRecords } from '../db/sent-fingerprints.js';
import type { Sql } from '../db/sql.js';
import { recordUnchangedMembers } from '../db/unchanged-members.js';
import {
  countPopulation,
  inspectUsersSource,
  propertyTypeOf,
  resolveUserIds,
  type UsersSource,
  usersSourceLoader,
} from '../db/users-source.js';
import { metrics } from '../telemetry/metrics.js';
import {
  type BulkChunkInput,
  type BulkChunkOutput,
  bulkCreationOf,
  processBulkChunk,
  recordBulkLeftovers,
} from './bulk-chunk.js';
import { DryRunWriteError, readOnlyPlatform } from './dry-run.js';
import {
  BATCH_HEARTBEAT_EVERY_MS,
  beatingWhile,
  STATEMENT_HEARTBEAT_EVERY_MS,
  throttledHeartbeat,
} from './heartbeats.js';
import { nameMembersKnownByEmail } from './member-contacts.js';
import { createLeaverActivities } from './mirror-leavers.js';
import { platformFailureOf } from './platform-failure.js';
import { type MarketingPlatform, PlatformError } from './platforms/platform.js';
import type { PlatformRegistry } from './platforms/registry.js';
import { SendTurns } from './send-turns.js';
import { stopOnRequest } from './stop-request.js';
import {
  type PlanBatchInput,
  type PlanBatchOutput,
  type ProcessBatchInput,
  type ProcessBatchOutput,
  planBatch,
  processBatch,
  readsChangesOnly,
} from './sync-batch.js';

export interface SyncActivityDeps {
  sql: Sql;
  /** USERS_SOURCE */
  usersSource: string;
  /** SYNC_BATCH_SIZE */
  batchSize: number;
  /** SYNC_BATCHES_IN_FLIGHT */
  batchesInFlight?: number;
  platforms: PlatformRegistry;
  /** MAX_CONCURRENT_RUNS and MAX_CONCURRENT_DRY_RUNS, for runs that schedules start. */
  limits: RunLimits;
  /** PROPERTY_COLUMNS: the columns `properties` may send. */
  propertyColumns: string[];
}

export interface BeginRunInput {
  runId: string;
  request: SyncRequest;
  activeSince: string;
}

/**
 * `activeRunId`: another run holds the list. `refused`: a run started by a schedule found its
 * kind at its limit; it is recorded as skipped and does nothing.
 */
export type BeginRunOutput =
  | { started: true }
  | { started: false; activeRunId: string }
  | { started: false; refused: { code: string; message: string } };

export interface PreparedRun {
  /** Null for a dry run into a new list: it creates none. */
  listId: string | null;
  listName: string;
  tagListIds: string[];
  total: number;
  batchSize: number;
  /** Batches the run keeps in flight (SYNC_BATCHES_IN_FLIGHT); absent: the workflow's default. */
  batchesInFlight?: number;
  /** The run creates contacts one by one whatever the account (recorded): no bulk pass. */
  bulkUnused?: boolean;
}

export interface FinishRunInput {
  runId: string;
  status: Exclude<RunStatus, 'running'>;
  error?: { code: string; message: string };
  /** The run's tag lists, for users a bulk import put there that no batch recorded. */
  tagListIds?: string[];
}

/** Postgres' class 22 (data exception, e.g. 22021 for a NUL byte): the same data fails again. */
const isDataException = (error: unknown): boolean =>
  typeof error === 'object' &&
  error !== null &&
  'code' in error &&
  typeof error.code === 'string' &&
  error.code.startsWith('22') &&
  'severity' in error;

/**
 * A run whose mapping names a column PROPERTY_COLUMNS does not list sends nothing: the API refuses
 * such requests, and this stops runs asked for before (a schedule's stored request).
 */
function requireAllowedColumns(run: RunRecord, allowed: readonly string[]): void {
  const refused = Object.values(run.properties).filter((column) => !allowed.includes(column));
  if (refused.length === 0) return;
  throw ApplicationFailure.nonRetryable(
    `properties may send only the columns PROPERTY_COLUMNS lists; not ${refused.map((column) => JSON.stringify(column)).join(', ')}`,
    'column_not_allowed',
  );
}

/**
 * Records the run within its kind's limit; when the limit is reached, records it as skipped and
 * answers why (also when an earlier attempt did so already).
 */
async function reserveOrRefuse(
  sql: Sql,
  limits: RunLimits,
  record: NewRun,
  userIds: string[],
): Promise<{ code: string; message: string } | undefined> {
  const reservation = await reserveRun(sql, record, userIds, limits);
  if (!reservation.reserved) {
    await recordRefusedRun(sql, record, reservation);
    return { code: reservation.code, message: runLimitMessage(reservation) };
  }
  if (!reservation.existing) return undefined;
  const existing = await getRun(sql, record.runId);
  return existing?.status !== 'running' && isRunLimitCode(existing?.errorCode)
    ? { code: existing.errorCode, message: existing.errorMessage ?? '' }
    : undefined;
}

/** Our failures as Temporal failures, with codes and messages that hold no personal data. */
function asActivityFailure(error: unknown): unknown {
  if (error instanceof PlatformError) return platformFailureOf(error);
  // A write a dry run attempted, or a platform it cannot plan on: the same again, every time.
  if (error instanceof DryRunWriteError) {
    return ApplicationFailure.nonRetryable(error.message, 'dry_run_refused');
  }
  if (isDataException(error)) {
    const code = (error as { code: string }).code;
    return ApplicationFailure.nonRetryable(
      `The database refused a value of this run (SQLSTATE ${code}); fix the data and start again`,
      'invalid_data',
    );
  }
  return error;
}

const translated =
  <Args extends unknown[], Result>(activity: (...args: Args) => Promise<Result>) =>
  async (...args: Args): Promise<Result> => {
    try {
      return await activity(...args);
    } catch (error) {
      // Cancelled, paused from the Web UI or reset: whatever the last error was, it is that.
      if (Context.current().cancellationSignal.aborted && !(error instanceof CancelledFailure)) {
        throw new CancelledFailure('The attempt stopped as asked; its recorded users stay');
      }
      throw asActivityFailure(error);
    }
  };

/** What the sync's steps share: the worker's dependencies, the users relation, the send turns. */
interface SyncContext {
  sql: Sql;
  deps: SyncActivityDeps;
  usersSource: () => Promise<UsersSource>;
  turns: SendTurns;
}

async function requireRun(sql: Sql, runId: string): Promise<RunRecord> {
  const run = await getRun(sql, runId);
  if (!run) throw ApplicationFailure.nonRetryable(`Run ${runId} has no record`, 'RunMissing');
  return run;
}

/** A run holding a list that Temporal no longer runs (terminated) is recorded as ended. */
async function holderStillRuns(sql: Sql, runId: string): Promise<boolean> {
  const temporalRun = await describeTemporalRun(Context.current().client, runId);
  if (temporalRun?.status === 'running') return true;
  await markRunEndedOutside(sql, runId, temporalRun?.status ?? 'unknown');
  return false;
}

/**
 * A platform client for this activity attempt; every answer it gets counts as life. A dry
 * run's client reads only and refuses every write (see dry-run.ts).
 */
function connect(
  { deps }: SyncContext,
  run: RunRecord,
  onAnswer: () => void = () => {},
  signal: AbortSignal = Context.current().cancellationSignal,
): MarketingPlatform {
  const platform = deps.platforms.connect(run.platform, { signal, onAnswer });
  return run.dryRun ? readOnlyPlatform(platform) : platform;
}

async function countRunPopulation(
  { sql, usersSource }: SyncContext,
  run: RunRecord,
  listId: string,
  account: string,
): Promise<number> {
  if (run.syncType === 'specific') return countRequestedUsers(sql, run.runId);
  return countPopulation(sql, await usersSource(), {
    platform: run.platform,
    account,
    properties: run.properties,
    listId,
    filter: { filterActive: run.filterActive, activeSince: run.activeSince.toISOString() },
    onlyNew: run.syncType === 'new',
  });
}

/** A 'specific' run's ids resolved through the users relation: `"0042"` is user `42`. */
async function resolveRequestedUsers({ sql, usersSource }: SyncContext, runId: string) {
  const asked = await requestedUserIds(sql, runId);
  const resolved = await resolveUserIds(sql, await usersSource(), asked);
  await replaceRequestedUserIds(sql, runId, resolved);
}

/** An outage that failed an attempt is remembered, so the status can say since when. */
async function notingOutage<Result>(
  sql: Sql,
  runId: string,
  attempt: () => Promise<Result>,
): Promise<Result> {
  try {
    return await attempt();
  } catch (error) {
    if (error instanceof PlatformError && error.code === 'platform_unavailable') {
      await markPlatformUnavailable(sql, runId);
    }
    throw error;
  }
}

/**
 * Records the run (once) and claims an existing destination list, if one was named. The API
 * recorded its runs within the limits before starting them; a run a schedule started is
 * counted here, and skipped when its kind is at its limit.
 */
async function beginRun(
  { sql, deps }: SyncContext,
  { runId, request, activeSince }: BeginRunInput,
): Promise<BeginRunOutput> {
  const refused = await reserveOrRefuse(
    sql,
    deps.limits,
    newRunRecord(runId, request, new Date(activeSince)),
    request.userIds ?? [],
  );
  if (refused) return { started: false, refused };
  if (!request.listId) return { started: true };
  let assigned = await assignRunList(sql, runId, request.listId, request.listName);
  if (!assigned.assigned && !(await holderStillRuns(sql, assigned.activeRunId))) {
    assigned = await assignRunList(sql, runId, request.listId, request.listName);
  }
  return assigned.assigned
    ? { started: true }
    : { started: false, activeRunId: assigned.activeRunId };
}

/** Checks the destination list the run names, or creates one; records it for the run. */
async function settleRunList(
  { sql }: SyncContext,
  run: RunRecord,
  platform: MarketingPlatform,
): Promise<{ listId: string | null; listName: string }> {
  let listId = run.listId;
  let listName = run.listName ?? '';
  if (listId) {
    const existing = await platform.getList(listId);
    if (!existing) {
      throw ApplicationFailure.nonRetryable(
        `The list ${listId} does not exist on ${run.platform}`,
        'ListNotFound',
      );
    }
    listName = existing.name;
  } else if (!run.dryRun) {
    listId = (await platform.createRunList(run.runId, listName)).id;
  }
  // A dry run's list is recorded too, but it is not held (see migration 10).
  if (listId) await assignRunList(sql, run.runId, listId, listName);
  return { listId, listName };
}

/** Finds or creates the run's tag lists; a dry run records the tags it would create. */
async function findTagLists(
  { sql }: SyncContext,
  run: RunRecord,
  platform: MarketingPlatform,
): Promise<string[]> {
  const tagListIds: string[] = [];
  const newTags: string[] = [];
  for (const tag of run.tags) {
    if (!run.dryRun) {
      tagListIds.push((await platform.findOrCreateList(tag)).id);
      continue;
    }
    // A tag list a real run would create has no members: its users would all join it.
    const found = await platform.findList?.(tag);
    if (found) tagListIds.push(found.id);
    else {
      newTags.push(tag);
      tagListIds.push(plannedListId(tag));
    }
  }
  if (newTags.length > 0) await setPlannedNewTags(sql, run.runId, newTags);
  return tagListIds;
}

/** Defines on the platform the properties the run's mapping sends (a real run only). */
async function defineRunProperties(
  { sql, deps }: SyncContext,
  run: RunRecord,
  platform: MarketingPlatform,
): Promise<void> {
  const mapping = Object.entries(run.properties);
  if (mapping.length === 0 || run.dryRun) return;
  // The catalog as it is now: the API checked these columns when the run was asked for.
  const { columns } = await inspectUsersSource(sql, deps.usersSource);
  await platform.defineProperties(
    mapping.map(([key, column]) => ({ key, type: propertyTypeOf(columns[column] ?? '') })),
  );
}

/** Checks or creates the destination list, finds or creates the tag lists, counts users. */
async function prepareRun(context: SyncContext, runId: string): Promise<PreparedRun> {
  const { sql, deps } = context;
  const run = await requireRun(sql, runId);
  requireAllowedColumns(run, deps.propertyColumns);
  const platform = connect(context, run);
  const { listId, listName } = await settleRunList(context, run, platform);
  // Before the first batch: the removal guard's bar is of the members tracked until now.
  await fixTrackedBefore(sql, runId);
  const tagListIds = await findTagLists(context, run, platform);
  await defineRunProperties(context, run, platform);
  if (run.syncType === 'specific') await resolveRequestedUsers(context, runId);
  const total = await countRunPopulation(context, run, listId ?? plannedListId(), platform.account);
  await setRunTotal(sql, runId, total);
  // Known now, it saves the run a bulk chunk that would only say so (a dry run asks none).
  const { perContact } = run.dryRun ? {} : bulkCreationOf(platform, run);
  if (perContact) await setRunBulkMode(sql, runId, 'per_contact', perContact);
  return {
    listId,
    listName,
    tagListIds,
    total,
    batchSize: deps.batchSize,
    ...(deps.batchesInFlight ? { batchesInFlight: deps.batchesInFlight } : {}),
    ...(perContact ? { bulkUnused: true } : {}),
  };
}

/** Whatever the platform does before a run's first batch; long, so it heartbeats. */
async function preparePlatform(context: SyncContext, runId: string): Promise<void> {
  const run = await requireRun(context.sql, runId);
  const activity = Context.current();
  const platform = connect(context, run, () => activity.heartbeat());
  await notingOutage(context.sql, runId, async () => {
    await platform.prepare?.((pages) => activity.heartbeat({ pages }));
  });
}

/** Where the next batch ends: short and read-only, run as a local activity. */
async function planRunBatch(context: SyncContext, input: PlanBatchInput): Promise<PlanBatchOutput> {
  const { sql, deps, usersSource } = context;
  const run = await requireRun(sql, input.runId);
  return planBatch(
    {
      sql,
      source: await usersSource(),
      platform: connect(context, run),
      batchSize: deps.batchSize,
    },
    run,
    input,
  );
}

async function processRunBatch(
  context: SyncContext,
  input: ProcessBatchInput,
): Promise<ProcessBatchOutput> {
  const { sql, deps, usersSource, turns } = context;
  const run = await requireRun(sql, input.runId);
  const activity = Context.current();
  let usersDone = 0;
  // Heartbeats come from progress and from the platform's answers (429s included), never
  // from a timer: a batch whose requests all hang stops heartbeating and is retried.
  const beat = throttledHeartbeat(
    () => activity.heartbeat({ usersDone }),
    BATCH_HEARTBEAT_EVERY_MS,
  );
  return notingOutage(sql, input.runId, async () =>
    processBatch(
      {
        sql,
        source: await usersSource(),
        platform: connect(context, run, beat),
        batchSize: deps.batchSize,
        onProgress: (count) => {
          usersDone += count;
          beat();
        },
        turns,
      },
      run,
      input,
    ),
  );
}

/**
 * One chunk of the bulk pass: new contacts created in one platform job, awaited, then the
 * chunk's batches. The run asks it to stop (a pause or a cancellation) by cancelling it: that
 * stops it between two batches, while the requests of the batch in flight go on.
 */
async function processRunBulkChunk(
  context: SyncContext,
  input: BulkChunkInput,
): Promise<BulkChunkOutput> {
  const { sql, deps, usersSource } = context;
  const run = await requireRun(sql, input.runId);
  const activity = Context.current();
  let usersDone = 0;
  const beat = () => activity.heartbeat({ chunkNo: input.chunkNo, usersDone });
  const stop = stopOnRequest(activity);
  return notingOutage(sql, input.runId, async () =>
    processBulkChunk(
      {
        sql,
        source: await usersSource(),
        platform: connect(context, run, beat, stop.platformSignal),
        batchSize: deps.batchSize,
        onProgress: beat,
        onUsers: (count) => {
          usersDone += count;
          beat();
        },
        stopRequested: stop.requested,
      },
      run,
      input,
    ),
  );
}

/**
 * An 'all' run's members that its batches did not read, nothing about them having changed, once
 * the batches are done: recorded set-based, without a request (see recordUnchangedMembers). Those
 * the ledger knows by their email only (a bulk import created them) get the id the platform's
 * directory has for it by then, a look-up in Postgres, as an outcome of the batches would.
 */
async function settleUnchangedMembers(context: SyncContext, run: RunRecord): Promise<void> {
  const { sql } = context;
  if (!readsChangesOnly(run) || !run.listId) return;
  const list = { platform: run.platform, listId: run.listId };
  // Statements over the list (naming imported members takes a minute at a million): Temporal
  // hears from the attempt while they run.
  const activity = Context.current();
  await beatingWhile(
    () => activity.heartbeat(),
    STATEMENT_HEARTBEAT_EVERY_MS,
    async () => {
      const counts = await recordUnchangedMembers(sql, { runId: run.runId, ...list });
      metrics.contacts.inc({ outcome: 'added' }, counts.added);
      metrics.contacts.inc({ outcome: 'skipped' }, counts.skipped);
      await nameMembersKnownByEmail(sql, connect(context, run), list);
    },
  );
}

/**
 * A completed 'all' run fingerprints the records of what it sent that match the users' values
 * (see fingerprintSentRecords), once it is recorded as completed: a list's first sync
 * fingerprints the list. Fingerprints only spare later passes work, so a failure here is noted
 * (its SQLSTATE) and the run ends as it did.
 */
async function fingerprintRunRecords(context: SyncContext, run: RunRecord): Promise<void> {
  if (!readsChangesOnly(run)) return;
  const activity = Context.current();
  try {
    const source = await context.usersSource();
    const account = connect(context, run).account;
    await beatingWhile(
      () => activity.heartbeat(),
      STATEMENT_HEARTBEAT_EVERY_MS,
      () => fingerprintSentRecords(context.sql, source, { ...run, account }),
    );
  } catch (failure) {
    const code = (failure as { code?: unknown }).code;
    activity.log.warn('records not fingerprinted', { runId: run.runId, code: String(code) });
  }
}

/**
 * Records how the run ended; a run that never got a record has nothing to record. A run that
 * ended short of its population first records the users its bulk imports added to the lists;
 * one that completed, its unchanged members.
 */
async function endRun(
  context: SyncContext,
  { runId, status, error, tagListIds }: FinishRunInput,
): Promise<SyncProgress> {
  const { sql, usersSource } = context;
  const stored = await getRun(sql, runId);
  if (stored && status !== 'completed') {
    const source = await usersSource();
    await recordBulkLeftovers(
      { sql, source, platform: connect(context, stored) },
      stored,
      tagListIds ?? [],
    );
  }
  if (stored && status === 'completed') await settleUnchangedMembers(context, stored);
  const run = await finishRun(sql, runId, status, error);
  if (stored && status === 'completed') await fingerprintRunRecords(context, stored);
  return run ? progressOf(run) : { total: 0, ...emptyCounts() };
}

/**
 * The activities of SyncUsersWorkflow, built by the worker with their dependencies. Inputs and
 * results are ids, cursors and counts: users' data is read and sent inside the activities only.
 */
export function createSyncActivities(deps: SyncActivityDeps) {
  const { sql } = deps;
  const context: SyncContext = {
    sql,
    deps,
    usersSource: usersSourceLoader(sql, deps.usersSource),
    turns: new SendTurns(),
  };
  const leavers = createLeaverActivities({
    sql,
    usersSource: context.usersSource,
    batchSize: deps.batchSize,
    connect: (run, onAnswer) => connect(context, run, onAnswer),
    settleUnchangedMembers: (run) => settleUnchangedMembers(context, run),
  });

  return {
    planLeavers: translated(leavers.planLeavers),
    removeLeavers: translated(async (input: Parameters<typeof leavers.removeLeavers>[0]) =>
      notingOutage(sql, input.runId, () => leavers.removeLeavers(input)),
    ),
    beginRun: translated((input: BeginRunInput) => beginRun(context, input)),
    prepareRun: translated(({ runId }: { runId: string }) => prepareRun(context, runId)),
    preparePlatform: translated(({ runId }: { runId: string }) => preparePlatform(context, runId)),
    planBatch: translated((input: PlanBatchInput) => planRunBatch(context, input)),
    processBatch: translated((input: ProcessBatchInput) => processRunBatch(context, input)),
    processBulkChunk: translated((input: BulkChunkInput) => processRunBulkChunk(context, input)),

    /** A dry run's plan, from the rows it recorded. */
    readPlan: translated(
      async ({ runId }: { runId: string }): Promise<RunPlan> =>
        readRunPlan(sql, await requireRun(sql, runId)),
    ),

    /** Records that the run paused after its batch in flight, or resumed. */
    markRunPaused: translated(async ({ runId, paused }: { runId: string; paused: boolean }) => {
      await setRunPaused(sql, runId, paused);
    }),

    finishRun: translated((input: FinishRunInput) => endRun(context, input)),
  };
}

export type SyncActivities = ReturnType<typeof createSyncActivities>;
