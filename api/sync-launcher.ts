import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import {
  describeTemporalRun,
  newRunId,
  type RunOutcome,
  startRun,
  waitForRun,
} from '../client/sync-runs.js';
import {
  isTemporalUnavailable,
  TEMPORAL_DEADLINES,
  withTemporalDeadline,
} from '../client/temporal.js';
import type { SyncRequest } from '../common/sync.js';
import {
  claimIdempotencyKey,
  findRunningRunForList,
  getRun,
  listRunningRunIds,
  markRunEndedOutside,
  newRunRecord,
  type RunLimits,
  releaseUnstartedRun,
  reserveRun,
  runLimitMessage,
} from '../db/runs.js';
import type { Sql } from '../db/sql.js';
import { databaseCall, unavailableError } from './answers.js';
import { ApiError } from './errors.js';
import { createRunStatusReader, STALE_RECORD_MS } from './run-status.js';

/** SPEC's defaults for MAX_CONCURRENT_RUNS and MAX_CONCURRENT_DRY_RUNS. */
export const DEFAULT_MAX_CONCURRENT_RUNS = 10;
export const DEFAULT_MAX_CONCURRENT_DRY_RUNS = 5;
/** What a `429 too_many_runs` tells the client to wait: runs take minutes, not seconds. */
const TOO_MANY_RUNS_RETRY_AFTER_SECONDS = 30;
/** At most one look at stale records per this long, however many requests meet the limit. */
const RECONCILE_EVERY_MS = 30_000;
const DAY_MS = 86_400_000;

export interface LaunchOptions {
  /** First part of the run id, e.g. `sync-users`. */
  kind: string;
  /**
   * The body as the client sent it (validated), not the run request derived from it: the request
   * holds defaults such as the audience name dated by the day, which a repeat must not depend on.
   */
  body: unknown;
  idempotencyKey?: string | undefined;
  /** `Prefer: respond-async`: answer at once. */
  respondAsync: boolean;
}

export interface Launch {
  runId: string;
  outcome: RunOutcome;
}

const requestHash = (kind: string, body: unknown): string =>
  createHash('sha256')
    .update(JSON.stringify([kind, body]))
    .digest('hex');

/** The record a run starts with; its first activity keeps it (the filters are fixed here). */
const runRecordOf = (runId: string, request: SyncRequest) =>
  newRunRecord(runId, request, new Date(Date.now() - request.activeDays * DAY_MS));

export interface SyncLauncherDeps {
  sql: Sql;
  temporal: Client;
  taskQueue: string;
  waitMs: number;
  /** MAX_CONCURRENT_RUNS. */
  maxConcurrentRuns?: number;
  /** MAX_CONCURRENT_DRY_RUNS. */
  maxConcurrentDryRuns?: number;
  /**
   * Throws UsersSourceError (the API's 503 naming the missing columns) when the users relation
   * cannot serve a run; nothing is started then.
   */
  checkUsersSource?: () => Promise<void>;
  /** Where new run ids come from; `newRunId` unless a test needs ids that collide. */
  newRunId?: (kind: string) => string;
}

/** What every step of a launch works with: the deps, the limits and the stale-record release. */
interface LaunchContext extends SyncLauncherDeps {
  limits: RunLimits;
  nextRunId: (kind: string) => string;
  releaseStaleRuns: () => Promise<number>;
}

/** True when Temporal still runs it; a run ended from outside is recorded as ended. */
async function stillRunning(
  { sql, temporal }: Pick<LaunchContext, 'sql' | 'temporal'>,
  runId: string,
): Promise<boolean> {
  // Temporal's view of the run within the call deadline; a 503 when Temporal does not answer.
  const temporalRun = await withTemporalDeadline(temporal, TEMPORAL_DEADLINES.callMs, () =>
    describeTemporalRun(temporal, runId),
  ).catch((error: unknown) => {
    throw isTemporalUnavailable(error) ? unavailableError('temporal') : error;
  });
  if (temporalRun?.status === 'running') return true;
  await databaseCall(() => markRunEndedOutside(sql, runId, temporalRun?.status ?? 'unknown'));
  return false;
}

/**
 * Lets go of records of runs Temporal no longer runs (terminated from outside, or whose start
 * never got through while the database was down too), so they stop counting against the limit.
 * It returns how many were let go, looking at most once per RECONCILE_EVERY_MS.
 */
function staleRunRelease(deps: Pick<LaunchContext, 'sql' | 'temporal'>): () => Promise<number> {
  let reconciledAt = 0;
  return async () => {
    if (Date.now() - reconciledAt < RECONCILE_EVERY_MS) return 0;
    reconciledAt = Date.now();
    const runIds = await databaseCall(() =>
      listRunningRunIds(deps.sql, new Date(Date.now() - STALE_RECORD_MS)),
    );
    const released = await Promise.all(
      runIds.map((runId) =>
        stillRunning(deps, runId).then(
          (running) => !running,
          () => false,
        ),
      ),
    );
    return released.filter(Boolean).length;
  };
}

/**
 * Records the run, unless its kind is at its limit: then `429 too_many_runs` (or
 * `too_many_dry_runs`), and nothing starts.
 */
async function reserve(
  ctx: LaunchContext,
  runId: string,
  request: SyncRequest,
): Promise<{ existing: boolean }> {
  const attempt = () =>
    databaseCall(() =>
      reserveRun(ctx.sql, runRecordOf(runId, request), request.userIds ?? [], ctx.limits),
    );
  let reservation = await attempt();
  if (!reservation.reserved && (await ctx.releaseStaleRuns()) > 0) reservation = await attempt();
  if (!reservation.reserved) {
    throw new ApiError(
      429,
      reservation.code,
      `${runLimitMessage(reservation)}; try again when one has ended`,
      [{ running: reservation.running, limit: reservation.limit }],
      { 'retry-after': String(TOO_MANY_RUNS_RETRY_AFTER_SECONDS) },
    );
  }
  return reservation;
}

/** The run already syncing into the request's list, which the request joins; none for a dry run. */
async function runHoldingList(
  ctx: LaunchContext,
  request: SyncRequest,
): Promise<Launch | undefined> {
  // A dry run does not hold the list: it starts beside the list's run instead of joining it.
  if (!request.listId || request.dryRun) return undefined;
  const listId = request.listId;
  const activeRunId = await databaseCall(() =>
    findRunningRunForList(ctx.sql, request.platform, listId),
  );
  // Joining the list's run is not a new run: the limit does not apply.
  if (activeRunId && (await stillRunning(ctx, activeRunId))) {
    return { runId: activeRunId, outcome: { state: 'running' } };
  }
  return undefined;
}

/**
 * The run id for this request: a new one, or the run of its Idempotency-Key (`hasRecord` when
 * that run exists, so this request is a repeat, not a new run).
 */
async function runIdFor(
  ctx: LaunchContext,
  options: LaunchOptions,
): Promise<{ runId: string; hasRecord: boolean }> {
  const runId = ctx.nextRunId(options.kind);
  if (!options.idempotencyKey) return { runId, hasRecord: false };
  const key = options.idempotencyKey;
  const hash = requestHash(options.kind, options.body);
  const claim = await databaseCall(() => claimIdempotencyKey(ctx.sql, key, hash, runId));
  if (!claim.claimed && claim.requestHash !== hash) {
    throw new ApiError(
      422,
      'idempotency_key_reused',
      'This Idempotency-Key was used with a different request; use a new key',
      [{ runId: claim.runId }],
    );
  }
  // The key's run exists: this is a repeat, not a new run. Its start attaches to it.
  const hasRecord =
    !claim.claimed && (await databaseCall(() => getRun(ctx.sql, claim.runId))) !== undefined;
  return { runId: claim.runId, hasRecord };
}

/** Reserves a place for a new run; returns its id and whether this request reserved it. */
async function reserveNewRun(
  ctx: LaunchContext,
  runId: string,
  request: SyncRequest,
  options: LaunchOptions,
): Promise<{ runId: string; reservedHere: boolean }> {
  let reservation = await reserve(ctx, runId, request);
  // Without a key, a record under this id is another request's run that drew the same id in
  // the same second: this request gets an id of its own instead of attaching to that run.
  while (reservation.existing && !options.idempotencyKey) {
    runId = ctx.nextRunId(options.kind);
    reservation = await reserve(ctx, runId, request);
  }
  return { runId, reservedHere: !reservation.existing };
}

/** Starts the workflow within the call deadline; a place reserved here is released on failure. */
async function startInTemporal(
  ctx: LaunchContext,
  runId: string,
  request: SyncRequest,
  reservedHere: boolean,
): Promise<void> {
  try {
    await withTemporalDeadline(ctx.temporal, TEMPORAL_DEADLINES.callMs, () =>
      startRun(ctx.temporal, ctx.taskQueue, runId, request),
    );
  } catch (error) {
    // Nothing started: the record must not hold a place (a run that began after all keeps it).
    if (reservedHere) await releaseUnstartedRun(ctx.sql, runId).catch(() => {});
    throw isTemporalUnavailable(error)
      ? unavailableError(
          'temporal',
          'Temporal is unavailable; nothing was started, try again shortly',
        )
      : error;
  }
}

/** How the started run went within the wait window (none asked for with respond-async). */
async function outcomeOf(
  ctx: LaunchContext,
  runId: string,
  options: LaunchOptions,
): Promise<Launch> {
  const outcome = options.respondAsync
    ? ({ state: 'running' } as const)
    : await waitForRun(ctx.temporal, runId, ctx.waitMs).catch((error: unknown) => {
        // The run started; Temporal stopped answering while we waited for it.
        if (isTemporalUnavailable(error)) return { state: 'running' } as const;
        throw error;
      });
  // Another run took the list between our check and the start: answer with that run.
  if (outcome.state === 'completed' && outcome.result.status === 'list_busy') {
    return { runId: outcome.result.activeRunId ?? runId, outcome: { state: 'running' } };
  }
  return { runId, outcome };
}

async function launch(
  ctx: LaunchContext,
  request: SyncRequest,
  options: LaunchOptions,
): Promise<Launch> {
  if (ctx.checkUsersSource) await databaseCall(ctx.checkUsersSource);
  const joined = await runHoldingList(ctx, request);
  if (joined) return joined;
  let { runId, hasRecord } = await runIdFor(ctx, options);
  let reservedHere = false;
  if (!hasRecord) ({ runId, reservedHere } = await reserveNewRun(ctx, runId, request, options));
  await startInTemporal(ctx, runId, request, reservedHere);
  return outcomeOf(ctx, runId, options);
}

/**
 * Starts runs for the API and tells how they went within the wait window. Knows the rules that
 * sit between HTTP and Temporal: one run per list at a time, one run per Idempotency-Key, at most
 * `maxConcurrentRuns` runs at once. Everything that needs Postgres happens before the start in
 * Temporal, so a database outage starts nothing (503), and every Temporal call has a deadline, so
 * a Temporal outage answers 503 in seconds.
 */
export function createSyncLauncher(deps: SyncLauncherDeps) {
  const ctx: LaunchContext = {
    ...deps,
    limits: {
      runs: deps.maxConcurrentRuns ?? DEFAULT_MAX_CONCURRENT_RUNS,
      dryRuns: deps.maxConcurrentDryRuns ?? DEFAULT_MAX_CONCURRENT_DRY_RUNS,
    },
    nextRunId: deps.newRunId ?? newRunId,
    releaseStaleRuns: staleRunRelease(deps),
  };
  const { status } = createRunStatusReader(deps);
  return {
    launch: (request: SyncRequest, options: LaunchOptions) => launch(ctx, request, options),
    status,
  };
}

export type SyncLauncher = ReturnType<typeof createSyncLauncher>;
