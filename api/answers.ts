import type { Response } from 'express';
import { zeroProgress } from '../client/sync-runs.js';
import { isTemporalUnavailable } from '../client/temporal.js';
import type { RunPlan } from '../common/plan.js';
import {
  outcomeCountsOf,
  REMOVAL_GUARD_TRIPPED,
  type SyncProgress,
  type SyncRunResult,
} from '../common/sync.js';
import { isDatabaseUnavailable } from '../db/runs.js';
import { ApiError } from './errors.js';
import { runMessage } from './run-messages.js';
import type { Launch, SyncLauncher } from './sync-launcher.js';

export const statusUrl = (runId: string): string =>
  `/api/marketing/sync-users/${encodeURIComponent(runId)}`;

/** The `result` of a completed run, in its status and in the runs list. */
export const completedResult = (progress: SyncProgress, listId: string | null) => ({
  ...outcomeCountsOf(progress),
  listId,
});

/** What a 503 tells the client to wait before trying again. */
export const UNAVAILABLE_RETRY_AFTER_SECONDS = 5;

export type UnavailablePart = 'database' | 'temporal';

const unavailableMessages: Record<UnavailablePart, string> = {
  database: 'The database is unavailable; try again shortly',
  temporal: 'Temporal is unavailable; try again shortly',
};

/** `503 database_unavailable` or `503 temporal_unavailable`, naming the part, with Retry-After. */
export function unavailableError(part: UnavailablePart, message?: string): ApiError {
  return new ApiError(
    503,
    `${part}_unavailable`,
    message ?? unavailableMessages[part],
    [{ part }],
    { 'retry-after': String(UNAVAILABLE_RETRY_AFTER_SECONDS) },
  );
}

/**
 * The 503 for an error that says Postgres or Temporal cannot be reached (or did not answer by the
 * call's deadline); undefined for any other error. Routes map their failures through it:
 * `throw serviceUnavailable(error) ?? error`.
 */
export function serviceUnavailable(error: unknown): ApiError | undefined {
  if (error instanceof ApiError) return undefined;
  if (isDatabaseUnavailable(error)) return unavailableError('database');
  if (isTemporalUnavailable(error)) return unavailableError('temporal');
  return undefined;
}

/** Runs a database call; an unreachable database becomes `503 database_unavailable`. */
export async function databaseCall<T>(work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw isDatabaseUnavailable(error) ? unavailableError('database') : error;
  }
}

/**
 * Answers a started run the same way for every sync endpoint: the endpoint's own 200 body when it
 * finished in the wait window, 202 with progress while it runs, SPEC's error body when it failed.
 */
/** A dry run's answer says so and carries its plan. */
export const dryRunFields = (result: SyncRunResult): { dryRun?: true; plan?: RunPlan } =>
  result.plan ? { dryRun: true, plan: result.plan } : {};

/** A finished run's message: completed, with how many failures, or what a dry run would do. */
export const completedMessage = (result: SyncRunResult): string =>
  runMessage({
    status: 'completed',
    progress: result.progress,
    dryRun: result.plan !== undefined,
    plan: result.plan,
  });

export async function answerLaunch(
  res: Response,
  launcher: SyncLauncher,
  launch: Launch,
  completedBody: (result: SyncRunResult) => object,
): Promise<void> {
  const { runId, outcome } = launch;
  switch (outcome.state) {
    case 'completed':
      res.status(200).json(completedBody(outcome.result));
      return;
    case 'running': {
      // The run started: a database or Temporal that stopped answering since must not turn that
      // into an error the client would retry (and start a second run). It gets the run id.
      const view = await launcher.status(runId).catch(() => undefined);
      res
        .status(202)
        .location(statusUrl(runId))
        .json({
          success: true,
          status: 'running',
          runId,
          ...(view?.audience ? { audience: view.audience } : {}),
          ...(view?.dryRun ? { dryRun: true } : {}),
          progress: view?.progress ?? zeroProgress(),
          statusUrl: statusUrl(runId),
        });
      return;
    }
    case 'cancelled':
      throw new ApiError(409, 'sync_cancelled', 'The run was cancelled before it finished', [
        { runId },
      ]);
    case 'failed':
      if (outcome.code === REMOVAL_GUARD_TRIPPED) {
        // The guard's message says how many the run would have removed; its adds stay.
        throw new ApiError(409, REMOVAL_GUARD_TRIPPED, outcome.message, [{ runId }]);
      }
      if (outcome.code === 'ListNotFound') {
        throw new ApiError(404, 'list_not_found', outcome.message, [{ runId }]);
      }
      throw new ApiError(500, 'sync_failed', `The sync failed: ${outcome.message}`, [
        { runId, reason: outcome.code },
      ]);
  }
}
