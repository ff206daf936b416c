import { createHash } from 'node:crypto';
import type { Client } from '@temporalio/client';
import {
  describeTemporalRun,
  newRunId,
  type RunOutcome,
  startRun,
  waitForRun,
  zeroProgress,
} from '../client/sync-runs.js';
import type { SyncProgress, SyncRequest } from '../common/sync.js';
import {
  claimIdempotencyKey,
  findRunningRunForList,
  getRun,
  listRejectedUsers,
  markRunEndedOutside,
  progressOf,
  type RejectedUser,
  type RunStatus,
} from '../db/runs.js';
import type { Sql } from '../db/sql.js';
import { ApiError } from './errors.js';

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

export interface RunStatusView {
  runId: string;
  /** A paused run is `running` in its record (it keeps its list) and `paused` here. */
  status: RunStatus | 'paused';
  audience: { id: string; name: string } | null;
  progress: SyncProgress;
  startedAt: string;
  /** While the platform keeps failing the run's batches: since when. */
  platformUnavailableSince?: string;
  finishedAt?: string;
  result?: { added: number; failed: number; skipped: number; listId: string | null };
  error?: { code: string; message: string };
  rejected: RejectedUser[];
}

const requestHash = (kind: string, body: unknown): string =>
  createHash('sha256')
    .update(JSON.stringify([kind, body]))
    .digest('hex');

/**
 * Starts runs for the API and tells how they went within the wait window. Knows the rules that
 * sit between HTTP and Temporal: one run per list at a time, one run per Idempotency-Key.
 */
export function createSyncLauncher(deps: {
  sql: Sql;
  temporal: Client;
  taskQueue: string;
  waitMs: number;
}) {
  const { sql, temporal } = deps;

  /** True when Temporal still runs it; a run ended from outside is recorded as ended. */
  async function stillRunning(runId: string): Promise<boolean> {
    const temporalRun = await describeTemporalRun(temporal, runId);
    if (temporalRun?.status === 'running') return true;
    await markRunEndedOutside(sql, runId, temporalRun?.status ?? 'unknown');
    return false;
  }

  async function launch(request: SyncRequest, options: LaunchOptions): Promise<Launch> {
    if (request.listId) {
      const activeRunId = await findRunningRunForList(sql, request.platform, request.listId);
      if (activeRunId && (await stillRunning(activeRunId))) {
        return { runId: activeRunId, outcome: { state: 'running' } };
      }
    }
    let runId = newRunId(options.kind);
    if (options.idempotencyKey) {
      const hash = requestHash(options.kind, options.body);
      const claim = await claimIdempotencyKey(sql, options.idempotencyKey, hash, runId);
      if (!claim.claimed && claim.requestHash !== hash) {
        throw new ApiError(
          422,
          'idempotency_key_reused',
          'This Idempotency-Key was used with a different request; use a new key',
          [{ runId: claim.runId }],
        );
      }
      runId = claim.runId;
    }
    await startRun(temporal, deps.taskQueue, runId, request);
    const outcome = options.respondAsync
      ? ({ state: 'running' } as const)
      : await waitForRun(temporal, runId, deps.waitMs);
    // Another run took the list between our check and the start: answer with that run.
    if (outcome.state === 'completed' && outcome.result.status === 'list_busy') {
      return { runId: outcome.result.activeRunId ?? runId, outcome: { state: 'running' } };
    }
    return { runId, outcome };
  }

  /** The run record (the one source of a run's progress), reconciled with Temporal. */
  async function status(runId: string): Promise<RunStatusView | undefined> {
    const [stored, temporalRun] = await Promise.all([
      getRun(sql, runId),
      describeTemporalRun(temporal, runId),
    ]);
    if (!stored && !temporalRun) return undefined;
    let record = stored;
    // A run terminated from outside never wrote its end; Temporal knows, and the record learns it.
    if (record?.status === 'running' && temporalRun && temporalRun.status !== 'running') {
      await markRunEndedOutside(sql, runId, temporalRun.status);
      record = await getRun(sql, runId);
    }
    const runStatus: RunStatus = record?.status ?? temporalRun?.status ?? 'running';
    const progress: SyncProgress = record ? progressOf(record) : zeroProgress();
    const startedAt = record?.startedAt ?? temporalRun?.startedAt ?? new Date();
    const finishedAt = record?.finishedAt ?? temporalRun?.closedAt;
    return {
      runId,
      status: runStatus === 'running' && record?.pausedAt ? 'paused' : runStatus,
      audience: record?.listId ? { id: record.listId, name: record.listName ?? '' } : null,
      progress,
      startedAt: startedAt.toISOString(),
      ...(record?.platformUnavailableSince && runStatus === 'running'
        ? { platformUnavailableSince: record.platformUnavailableSince.toISOString() }
        : {}),
      ...(finishedAt && runStatus !== 'running' ? { finishedAt: finishedAt.toISOString() } : {}),
      ...(runStatus === 'completed'
        ? {
            result: {
              added: progress.added,
              failed: progress.failed,
              skipped: progress.skipped,
              listId: record?.listId ?? null,
            },
          }
        : {}),
      ...(record?.errorCode && runStatus !== 'completed'
        ? { error: { code: record.errorCode, message: record.errorMessage ?? '' } }
        : {}),
      rejected: await listRejectedUsers(sql, runId),
    };
  }

  return { launch, status };
}

export type SyncLauncher = ReturnType<typeof createSyncLauncher>;
