import {
  ActivityFailure,
  ApplicationFailure,
  CancellationScope,
  makeContinueAsNewFunc,
  proxyActivities,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import type { ErasureActivities, ErasureProgress } from '../activities/index.js';
import { NON_RETRYABLE_FAILURES } from '../common/failures.js';

export interface EraseUsersInput {
  erasureId: string;
  /** Batches done by earlier executions (continue-as-new). */
  batchesBefore?: number;
}

export interface EraseUsersResult {
  erasureId: string;
  status: 'completed';
  progress: ErasureProgress;
}

/** Continues as new at least this often (an erasure of 10,000 users takes 100 batches). */
const MAX_BATCHES_PER_EXECUTION = 500;

const erasure = proxyActivities<Pick<ErasureActivities, 'eraseBatch' | 'finishErasure'>>({
  // A batch deletes up to 100 users' contacts at the platform's rate; it heartbeats with every
  // answer, so one whose worker died is retried on another within the heartbeat timeout.
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

const describe = (progress: ErasureProgress): string =>
  `${progress.erased} of ${progress.requested} users erased, ${progress.contactsDeleted} contacts deleted, ${progress.failed} refused by the platform`;

const failureOf = (error: unknown): { code: string; message: string } => {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) {
    return { code: cause.type ?? 'Error', message: cause.message };
  }
  return { code: 'WorkflowError', message: 'The erasure failed' };
};

/**
 * Erases users: each batch deletes the next users' contacts on the platforms and their rows in
 * the service's tables (the pending users in Postgres are the checkpoint). The input and history
 * hold the erasure id and counts only: which users it erases lives in Postgres until they are gone.
 */
export async function EraseUsersWorkflow(input: EraseUsersInput): Promise<EraseUsersResult> {
  const { erasureId } = input;
  try {
    for (let batch = 1; ; batch += 1) {
      const result = await erasure.eraseBatch.executeWithOptions(
        { summary: `erase up to 100 users · batch ${(input.batchesBefore ?? 0) + batch}` },
        [{ erasureId }],
      );
      setCurrentDetails(describe(result.progress));
      if (result.done) break;
      if (batch >= MAX_BATCHES_PER_EXECUTION || workflowInfo().continueAsNewSuggested) {
        return makeContinueAsNewFunc<typeof EraseUsersWorkflow>()({
          erasureId,
          batchesBefore: (input.batchesBefore ?? 0) + batch,
        });
      }
    }
  } catch (error) {
    const failure = failureOf(error);
    await CancellationScope.nonCancellable(() =>
      erasure.finishErasure({ erasureId, status: 'failed', error: failure }),
    );
    throw error;
  }
  const progress = await erasure.finishErasure({ erasureId, status: 'completed' });
  setCurrentDetails(`Finished · ${describe(progress)}`);
  return { erasureId, status: 'completed', progress };
}
