import {
  CancellationScope,
  patched,
  proxyActivities,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import type { SyncActivities } from '../activities/index.js';
import { NON_RETRYABLE_FAILURES } from '../common/failures.js';
import type { SyncRunState } from '../common/sync.js';

/** Runs that began before the bulk pass existed go straight to their batches. */
export const BULK_PASS_PATCH = 'bulk-pass-before-batches';

/** Chunks per execution at most, far below Temporal's history limits (a few events each). */
const MAX_CHUNKS_PER_EXECUTION = 200;

const chunks = proxyActivities<Pick<SyncActivities, 'processBulkChunk'>>({
  // A platform job of 10,000 contacts may take many minutes; the attempt heartbeats with every
  // look at it (at most 5 s apart) and every platform answer, so a dead worker is noticed within
  // the heartbeat timeout and the next attempt waits on the same job.
  startToCloseTimeout: '3 hours',
  heartbeatTimeout: '30 seconds',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

/**
 * Before a run's first batch: chunk after chunk, the contacts the platform does not have are
 * created in bulk (each chunk one checkpointed activity); the batch pass then records them without
 * a request and handles everyone else one by one. Undefined when the batch pass should follow.
 */
export async function bulkPassBeforeBatches(
  runId: string,
  state: SyncRunState,
): Promise<'cancelled' | 'continue' | undefined> {
  if (state.batchNo > 0 || state.bulk?.done || !patched(BULK_PASS_PATCH)) return undefined;
  const listId = state.listId;
  if (!listId) return undefined;
  state.bulk ??= { cursor: null, chunkNo: 0, done: false };
  for (let chunksThisExecution = 1; ; chunksThisExecution += 1) {
    if (CancellationScope.current().consideredCancelled) return 'cancelled';
    const chunkNo: number = state.bulk.chunkNo + 1;
    setCurrentDetails(`Creating new contacts in bulk · chunk ${chunkNo}`);
    const result = await CancellationScope.nonCancellable(() =>
      chunks.processBulkChunk.executeWithOptions({ summary: `bulk chunk ${chunkNo}` }, [
        {
          runId,
          chunkNo,
          cursor: state.bulk?.cursor ?? null,
          listId,
          tagListIds: state.tagListIds,
        },
      ]),
    );
    state.bulk = { cursor: result.cursor, chunkNo, done: result.done };
    if (result.done) return undefined;
    if (chunksThisExecution >= MAX_CHUNKS_PER_EXECUTION || workflowInfo().continueAsNewSuggested) {
      return 'continue';
    }
  }
}
