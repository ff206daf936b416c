import type { Client } from '@temporalio/client';
import {
  describeTemporalRun,
  type TemporalRun,
  WORKFLOW_TYPE,
  zeroProgress,
} from '../client/sync-runs.js';
import {
  isTemporalUnavailable,
  TEMPORAL_DEADLINES,
  withTemporalDeadline,
} from '../client/temporal.js';
import type { RunPlan } from '../common/plan.js';
import type { OutcomeCounts, RunStatus, RunViewStatus, SyncProgress } from '../common/sync.js';
import { type BulkMode, runBulkMode } from '../db/bulk.js';
import { readRunPlan } from '../db/plans.js';
import { countReasons, type ReasonCounts } from '../db/run-history.js';
import {
  getRun,
  listRejectedUsers,
  markRunEndedOutside,
  progressOf,
  type RejectedUser,
  type RunRecord,
} from '../db/runs.js';
import type { Sql } from '../db/sql.js';
import { completedResult, databaseCall, unavailableError } from './answers.js';
import { runMessage } from './run-messages.js';

/** A record this old that Temporal does not run (terminated from outside) is let go. */
export const STALE_RECORD_MS = 60_000;

export interface RunStatusView {
  runId: string;
  /** A paused run is `running` in its record (it keeps its list) and `paused` here. */
  status: RunViewStatus;
  audience: { id: string; name: string } | null;
  /** What happened, in one sentence (see run-messages.ts). */
  message: string;
  progress: SyncProgress;
  startedAt: string;
  /** While the platform keeps failing the run's batches: since when. */
  platformUnavailableSince?: string;
  /** How the run creates contacts new to the platform: in bulk, or one by one (and why). */
  bulk?: { mode: BulkMode; message: string };
  finishedAt?: string;
  /** Present when Temporal could not be asked: the view is the run record's alone. */
  temporal?: 'unavailable';
  result?: OutcomeCounts & { listId: string | null };
  error?: { code: string; message: string };
  /** Skipped and failed users by reason. */
  reasons: ReasonCounts;
  rejected: RejectedUser[];
  /** A dry run: its plan so far (complete once it completed). */
  dryRun?: true;
  plan?: RunPlan;
}

const isOwnSyncRun = (run: TemporalRun | undefined, taskQueue: string): run is TemporalRun =>
  run?.type === WORKFLOW_TYPE && run.taskQueue === taskQueue;

interface StatusDeps {
  sql: Sql;
  temporal: Client;
  taskQueue: string;
}

/** The run's record and Temporal's view of it, read side by side. */
async function readRun({ sql, temporal }: StatusDeps, runId: string) {
  return Promise.all([
    databaseCall(() => getRun(sql, runId)),
    withTemporalDeadline(temporal, TEMPORAL_DEADLINES.describeMs, () =>
      describeTemporalRun(temporal, runId),
    ).then(
      (run) => ({ reachable: true as const, run }),
      (error: unknown) => {
        if (isTemporalUnavailable(error)) return { reachable: false as const, run: undefined };
        throw error;
      },
    ),
  ]);
}

/**
 * The record after what Temporal knows: a run terminated from outside never wrote its end, and
 * a record Temporal has never heard of for a while is a start that did not get through.
 */
async function reconciled(
  { sql }: StatusDeps,
  record: RunRecord,
  live: Awaited<ReturnType<typeof readRun>>[1],
): Promise<RunRecord | undefined> {
  const temporalRun = live.run;
  const endedOutside =
    record.status === 'running' && temporalRun && temporalRun.status !== 'running';
  const neverStarted =
    record.status === 'running' &&
    live.reachable &&
    !temporalRun &&
    record.startedAt.getTime() < Date.now() - STALE_RECORD_MS;
  if (!endedOutside && !neverStarted) return record;
  await databaseCall(() =>
    markRunEndedOutside(sql, record.runId, temporalRun?.status ?? 'unknown'),
  );
  return databaseCall(() => getRun(sql, record.runId));
}

/**
 * The run record (the one source of a run's progress), reconciled with Temporal. When Temporal
 * does not answer within a moment, the record alone answers and says so.
 */
async function runStatus(deps: StatusDeps, runId: string): Promise<RunStatusView | undefined> {
  const [stored, live] = await readRun(deps, runId);
  if (!stored && !live.reachable) {
    throw unavailableError(
      'temporal',
      'Temporal is unavailable and this run has no record yet; try again shortly',
    );
  }
  // Only sync runs of this deployment: an erasure, the reconciliation or another deployment's
  // run shares the namespace (and a run started by a schedule has no record until it begins).
  if (!stored && !isOwnSyncRun(live.run, deps.taskQueue)) return undefined;
  const record = stored && (await reconciled(deps, stored, live));
  const recorded: RunStatus = record?.status ?? live.run?.status ?? 'running';
  const status = recorded === 'running' && record?.pausedAt ? ('paused' as const) : recorded;
  const progress = record ? progressOf(record) : zeroProgress();
  const finishedAt = record?.finishedAt ?? live.run?.closedAt;
  return {
    runId,
    status,
    progress,
    startedAt: (record?.startedAt ?? live.run?.startedAt ?? new Date()).toISOString(),
    ...(finishedAt && recorded !== 'running' ? { finishedAt: finishedAt.toISOString() } : {}),
    ...(live.reachable ? {} : { temporal: 'unavailable' as const }),
    ...(await recordDetails(deps, record, { runId, status, progress })),
  };
}

/** What the record adds to the status: its list, result or error, reasons, plan, message. */
async function recordDetails(
  { sql }: StatusDeps,
  record: RunRecord | undefined,
  view: { runId: string; status: RunStatusView['status']; progress: SyncProgress },
) {
  const { runId, status: runStatus, progress } = view;
  const ended = runStatus !== 'running' && runStatus !== 'paused';
  const error =
    record?.errorCode && runStatus !== 'completed'
      ? { code: record.errorCode, message: record.errorMessage ?? '' }
      : undefined;
  const [bulk, rejected, reasons, plan] = await Promise.all([
    record ? databaseCall(() => runBulkMode(sql, runId)) : undefined,
    databaseCall(() => listRejectedUsers(sql, runId)),
    databaseCall(
      async () => (await countReasons(sql, [runId])).get(runId) ?? { skipped: {}, failed: {} },
    ),
    record?.dryRun ? databaseCall(() => readRunPlan(sql, record)) : undefined,
  ]);
  return {
    audience: record?.listId ? { id: record.listId, name: record.listName ?? '' } : null,
    message: runMessage({
      status: runStatus,
      progress,
      dryRun: record?.dryRun ?? false,
      plan,
      error,
    }),
    ...(record?.platformUnavailableSince && !ended
      ? { platformUnavailableSince: record.platformUnavailableSince.toISOString() }
      : {}),
    ...(bulk ? { bulk: { mode: bulk.mode, message: bulk.note } } : {}),
    ...(runStatus === 'completed'
      ? { result: completedResult(progress, record?.listId ?? null) }
      : {}),
    ...(error ? { error } : {}),
    reasons,
    rejected,
    ...(plan ? { dryRun: true as const, plan } : {}),
  };
}

/**
 * A sync run's status, for the run-id routes: the run record (the one source of a run's
 * progress), reconciled with Temporal. Ids of anything else (an erasure, the reconciliation,
 * another deployment's run) are not found.
 */
export function createRunStatusReader(deps: StatusDeps) {
  return { status: (runId: string) => runStatus(deps, runId) };
}
