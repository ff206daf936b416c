import type { Response } from 'express';
import type { SyncRunResult } from '../common/sync.js';
import { ApiError } from './errors.js';
import type { Launch, SyncLauncher } from './sync-launcher.js';

export const statusUrl = (runId: string): string =>
  `/api/marketing/sync-users/${encodeURIComponent(runId)}`;

/**
 * Answers a started run the same way for every sync endpoint: the endpoint's own 200 body when it
 * finished in the wait window, 202 with progress while it runs, SPEC's error body when it failed.
 */
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
      const view = await launcher.status(runId);
      res
        .status(202)
        .location(statusUrl(runId))
        .json({
          success: true,
          status: 'running',
          runId,
          ...(view?.audience ? { audience: view.audience } : {}),
          progress: view?.progress ?? { total: 0, processed: 0, added: 0, failed: 0, skipped: 0 },
          statusUrl: statusUrl(runId),
        });
      return;
    }
    case 'cancelled':
      throw new ApiError(409, 'sync_cancelled', 'The run was cancelled before it finished', [
        { runId },
      ]);
    case 'failed':
      if (outcome.code === 'ListNotFound') {
        throw new ApiError(404, 'list_not_found', outcome.message, [{ runId }]);
      }
      throw new ApiError(500, 'sync_failed', `The sync failed: ${outcome.message}`, [
        { runId, reason: outcome.code },
      ]);
  }
}
