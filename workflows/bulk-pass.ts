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
 * Before a run's batch pass: chunk after chunk, the contacts the platform does not have are
 * created in bulk, then the chunk's users go through the run's ordinary checkpointed batches
 * inside the same activity (created ones recorded without a request, the others one by one).
 * 'finished' when the population ended; undefined when the batch pass should go on from the
 * run's cursor.
 */
export async function bulkPassBeforeBatches(
  runId: string,
  state: SyncRunState,
): Promise<'finished' | 'cancelled' | 'continue' | undefined> {
  // A run that began its batches without a bulk pass never starts one.
  if (state.bulk?.done || (!state.bulk && state.batchNo > 0) || !patched(BULK_PASS_PATCH)) {
    return undefined;
  }
  const listId = state.listId;
  if (!listId) return undefined;
  state.phase = 'syncing';
  state.bulk ??= { cursor: null, chunkNo: 0, done: false };
  for (let chunksThisExecution = 1; ; chunksThisExecution += 1) {
    if (CancellationScope.current().consideredCancelled) return 'cancelled';
    const chunkNo: number = state.bulk.chunkNo + 1;
    setCurrentDetails(`Creating new contacts in bulk · chunk ${chunkNo} · batch ${state.batchNo}`);
    // The chunk in flight always finishes, even when the run is cancelled meanwhile.
    const result = await CancellationScope.nonCancellable(() =>
      chunks.processBulkChunk.executeWithOptions(
        { summary: `bulk chunk ${chunkNo} · after batch ${state.batchNo}` },
        [
          {
            runId,
            chunkNo,
            cursor: state.cursor,
            batchNo: state.batchNo,
            listId,
            tagListIds: state.tagListIds,
          },
        ],
      ),
    );
    state.cursor = result.cursor;
    state.batchNo = result.batchNo;
    if (result.progress) state.progress = result.progress;
    state.bulk = { cursor: result.cursor, chunkNo, done: result.bulkDone };
    if (result.populationDone) return 'finished';
    if (result.bulkDone) return undefined;
    if (chunksThisExecution >= MAX_CHUNKS_PER_EXECUTION || workflowInfo().continueAsNewSuggested) {
      return 'continue';
    }
  }
}
