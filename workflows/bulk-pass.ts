import {
  ActivityCancellationType,
  CancellationScope,
  condition,
  isCancellation,
  proxyActivities,
  setCurrentDetails,
} from '@temporalio/workflow';
import type { BulkChunkOutput, SyncActivities } from '../activities/index.js';
import { NON_RETRYABLE_FAILURES } from '../common/failures.js';
import type { SyncRunState } from '../common/sync.js';
import { timeToContinueAsNew } from './continue-as-new.js';

/** Chunks per execution at most, far below Temporal's history limits (a few events each). */
const MAX_CHUNKS_PER_EXECUTION = 200;

const chunks = proxyActivities<Pick<SyncActivities, 'processBulkChunk'>>({
  // A platform job of 10,000 contacts may take many minutes; the attempt heartbeats with every
  // look at it (at most 5 s apart) and every platform answer, so a dead worker is noticed within
  // the heartbeat timeout and the next attempt waits on the same job. A pause or a cancellation
  // reaches the attempt with its next heartbeat (Temporal sends one at most every 0.8 × the
  // timeout), so the timeout is as short as a batch's.
  startToCloseTimeout: '3 hours',
  heartbeatTimeout: '15 seconds',
  // The run waits for the chunk to answer a stop (with what it did), never only for the request
  // to be sent: Temporal's own default is to try and not wait (TRY_CANCEL).
  cancellationType: ActivityCancellationType.WAIT_CANCELLATION_COMPLETED,
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

/** Holds the run between two steps while it is paused (the workflow's own wait). */
export type HoldWhilePaused = () => Promise<void>;

/**
 * Before a run's batch pass: chunk after chunk, the contacts the platform does not have are
 * created in bulk, then the chunk's users go through the run's ordinary checkpointed batches
 * inside the same activity (created ones recorded without a request, the others one by one).
 * A pause or a cancellation asks the chunk in flight to stop (a cancellation of the activity,
 * which it answers by stopping after its inner batch in flight, or once its import ended): the
 * run keeps the chunk's progress, holds while paused, and takes the chunk up again where it
 * stopped. 'finished' when the population ended; undefined when the batch pass should go on from
 * the run's cursor.
 */
export async function bulkPassBeforeBatches(
  runId: string,
  state: SyncRunState,
  holdWhilePaused: HoldWhilePaused,
): Promise<'finished' | 'cancelled' | 'continue' | undefined> {
  // A run that began its batches without a bulk pass never starts one.
  if (state.bulk?.done || (!state.bulk && state.batchNo > 0)) {
    return undefined;
  }
  const listId = state.listId;
  if (!listId) return undefined;
  state.phase = 'syncing';
  state.bulk ??= { cursor: null, chunkNo: 0, done: false };
  for (let chunksThisExecution = 1; ; chunksThisExecution += 1) {
    if (state.paused) await holdWhilePaused();
    if (CancellationScope.current().consideredCancelled) return 'cancelled';
    const chunkNo: number = state.bulk.chunkNo + 1;
    setCurrentDetails(`Creating new contacts in bulk · chunk ${chunkNo} · batch ${state.batchNo}`);
    const result = await stoppableChunk(runId, state, listId, chunkNo);
    if (!result) continue;
    state.cursor = result.cursor;
    state.batchNo = result.batchNo;
    if (result.progress) state.progress = result.progress;
    // A chunk that stopped early is taken up again, under its number, from the run's cursor.
    if (result.stopped) continue;
    state.bulk = { cursor: result.cursor, chunkNo, done: result.bulkDone };
    if (result.populationDone) return 'finished';
    if (result.bulkDone) return undefined;
    if (timeToContinueAsNew(chunksThisExecution, MAX_CHUNKS_PER_EXECUTION)) return 'continue';
  }
}

/**
 * One chunk, in a scope of its own that a pause cancels (a cancellation of the run cancels it
 * too). The chunk answers such a cancellation by stopping early; an attempt that ended as
 * cancelled instead while the run is only paused answers undefined (nothing to keep: the chunk
 * starts again from the run's cursor, skipping the users it recorded).
 */
async function stoppableChunk(
  runId: string,
  state: SyncRunState,
  listId: string,
  chunkNo: number,
): Promise<BulkChunkOutput | undefined> {
  const scope = new CancellationScope();
  const result = scope.run(() =>
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
  let settled = false;
  void CancellationScope.nonCancellable(async () => {
    await condition(() => settled || state.paused === true);
    if (!settled) scope.cancel();
  });
  try {
    return await result;
  } catch (error) {
    const pausedOnly = state.paused === true && !CancellationScope.current().consideredCancelled;
    if (isCancellation(error) && pausedOnly) return undefined;
    throw error;
  } finally {
    settled = true;
  }
}
