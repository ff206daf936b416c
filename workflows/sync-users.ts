import {
  ActivityFailure,
  ApplicationFailure,
  allHandlersFinished,
  CancellationScope,
  CancelledFailure,
  condition,
  isCancellation,
  makeContinueAsNewFunc,
  proxyActivities,
  proxyLocalActivities,
  setCurrentDetails,
  setHandler,
  upsertMemo,
  upsertSearchAttributes,
  workflowInfo,
} from '@temporalio/workflow';
import type { BeginRunOutput, ProcessBatchOutput, SyncActivities } from '../activities/index.js';
import { NON_RETRYABLE_FAILURES } from '../common/failures.js';
import { SyncListIdKey } from '../common/search-attributes.js';
import {
  emptyCounts,
  plannedListId,
  type SyncProgress,
  type SyncRunResult,
  type SyncRunState,
  type SyncWorkflowInput,
} from '../common/sync.js';
import { bulkPassBeforeBatches } from './bulk-pass.js';
import { timeToContinueAsNew } from './continue-as-new.js';
import { pauseUpdate, progressQuery, RUN_ENDED_MESSAGE, resumeUpdate } from './definitions.js';

/** A run continues as new at least this often, well before Temporal's history limits. */
export const MAX_BATCHES_PER_EXECUTION = 500;

const DAY_MS = 86_400_000;

/**
 * Batches of a run in flight at once, unless the worker's SYNC_BATCHES_IN_FLIGHT says 1. Between
 * two batches in a row (checkpoint, workflow task, next activity, its reads) no request waits for
 * the rate limit, and the sliding window cannot catch that time up: about 0.1 s per batch, 5% of
 * the run at 50 requests per second and a quarter at 300. With the next batch already sending,
 * the limit never idles.
 */
export const BATCHES_IN_FLIGHT = 2;

const setup = proxyActivities<
  Pick<SyncActivities, 'beginRun' | 'prepareRun' | 'markRunPaused' | 'finishRun' | 'readPlan'>
>({
  startToCloseTimeout: '5 minutes',
  retry: {
    initialInterval: '1s',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

const platformPreparation = proxyActivities<Pick<SyncActivities, 'preparePlatform'>>({
  // E.g. one request per 100 existing contacts: large accounts take a while, heartbeats show it lives.
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '2s',
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

const batches = proxyActivities<Pick<SyncActivities, 'processBatch'>>({
  // Covers a batch at the lowest rate limits plus waits on 429s; attempts are unlimited, and the
  // retried batch skips users already recorded.
  startToCloseTimeout: '20 minutes',
  // A batch heartbeats with every outcome and platform answer: one that hangs, or whose worker
  // died, is retried this soon.
  heartbeatTimeout: '15 seconds',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

const planning = proxyLocalActivities<Pick<SyncActivities, 'planBatch'>>({
  // One read of the users table.
  startToCloseTimeout: '2 minutes',
  retry: {
    initialInterval: '1s',
    maximumInterval: '1 minute',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

const leaverSteps = proxyActivities<Pick<SyncActivities, 'planLeavers' | 'removeLeavers'>>({
  startToCloseTimeout: '20 minutes',
  heartbeatTimeout: '15 seconds',
  retry: {
    initialInterval: '2s',
    backoffCoefficient: 2,
    maximumInterval: '2 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

const initialState = (input: SyncWorkflowInput): SyncRunState => ({
  phase: 'preparing',
  listId: input.request.listId ?? null,
  listName: input.request.listName,
  tagListIds: [],
  activeSince: new Date(Date.now() - input.request.activeDays * DAY_MS).toISOString(),
  cursor: null,
  batchNo: 0,
  batchSize: 0,
  progress: { total: 0, ...emptyCounts() },
  execution: 1,
  startedAt: new Date().toISOString(),
});

const describeProgress = (state: SyncRunState): string => {
  const { total, processed, added, failed, skipped, updated } = state.progress;
  const population = `${processed} of ${total} users: ${added} added (${updated} updated), ${skipped} skipped, ${failed} failed · batch ${state.batchNo}`;
  return state.leavers ? `${population} · ${describeLeavers(state)}` : population;
};

const describeLeavers = (state: SyncRunState): string => {
  const { removed = 0, unsubscribed = 0 } = state.progress;
  return `leavers: ${removed} of ${state.leavers?.planned ?? 0} removed, ${unsubscribed} unsubscribed`;
};

/** A failure's type and message, for the run record; both are ours, without personal data. */
const failureOf = (error: unknown): { code: string; message: string } => {
  const cause = error instanceof ActivityFailure ? error.cause : error;
  if (cause instanceof ApplicationFailure) {
    return { code: cause.type ?? 'Error', message: cause.message };
  }
  return {
    code: 'WorkflowError',
    message: error instanceof Error ? error.message : 'unknown error',
  };
};

/**
 * Syncs users into a platform list. Each batch is one activity that reads the next users after
 * the cursor and sends them; the workflow keeps only the cursor and counts, checkpoints after
 * every batch, continues as new before its history grows large, and on cancellation stops after
 * the batch in flight.
 */
export async function SyncUsersWorkflow(input: SyncWorkflowInput): Promise<SyncRunResult> {
  const runId = workflowInfo().workflowId;
  const state = input.state ?? initialState(input);
  const handlers = setRunHandlers(runId, state);

  let outcome: 'finished' | 'cancelled' | 'continue' | 'busy' = 'finished';
  let activeRunId: string | undefined;
  try {
    if (!input.state) {
      const begun = await begin(runId, input, state);
      if (!begun.started) {
        if ('refused' in begun) return skippedResult(runId, state, begun.refused);
        activeRunId = begun.activeRunId;
        outcome = 'busy';
      }
    }
    const dryRun = input.request.dryRun === true;
    if (outcome !== 'busy' && state.phase !== 'removing') {
      // A dry run creates no contacts, in bulk or otherwise: its batches plan every user.
      outcome =
        (dryRun
          ? undefined
          : await bulkPassBeforeBatches(runId, state, () => waitWhilePaused(runId, state))) ??
        (await syncBatches(runId, state, dryRun));
    }
    if ((outcome === 'finished' || state.phase === 'removing') && input.request.mode === 'mirror') {
      outcome = await removeLeavers(runId, state, dryRun);
    }
    if (outcome === 'continue') outcome = await readyToContinue(runId, state, handlers);
  } catch (error) {
    const status = isCancellation(error) ? 'cancelled' : 'failed';
    const failure = status === 'failed' ? failureOf(error) : undefined;
    if (failure) setCurrentDetails(`Failed: ${failure.code} · ${failure.message}`);
    await CancellationScope.nonCancellable(() =>
      setup.finishRun({
        runId,
        status,
        ...(failure ? { error: failure } : {}),
        tagListIds: state.tagListIds,
      }),
    );
    throw error;
  }

  if (outcome === 'continue') {
    const { userIds: _persistedByBeginRun, ...request } = input.request;
    // A versioned run is pinned to its worker's build until here; the next execution starts on
    // the deployment's current build. Unversioned runs ignore the option.
    return makeContinueAsNewFunc<typeof SyncUsersWorkflow>({
      initialVersioningBehavior: 'AUTO_UPGRADE',
    })({ request, state: { ...state, execution: state.execution + 1 } });
  }
  if (outcome === 'busy') return busyResult(runId, state, activeRunId);
  if (outcome === 'cancelled') {
    await CancellationScope.nonCancellable(() =>
      setup.finishRun({ runId, status: 'cancelled', tagListIds: state.tagListIds }),
    );
    throw new CancelledFailure(
      'Run cancelled; users sent before the cancellation stay in the list',
    );
  }
  return complete(runId, state, input.request.dryRun === true);
}

interface RunHandlers {
  /** Set once the run is about to continue as new (see readyToContinue). */
  continuing: boolean;
}

/** The run's query and its pause and resume updates. */
function setRunHandlers(runId: string, state: SyncRunState): RunHandlers {
  const handlers: RunHandlers = { continuing: false };
  setHandler(progressQuery, () => ({ runId, ...state }), {
    description: 'Phase, cursor and counts of this run',
  });
  const stillRuns = () => {
    if (state.phase === 'finished') throw new Error(RUN_ENDED_MESSAGE);
  };
  // Each update answers once it took effect: paused between two batches, or going again.
  setHandler(
    pauseUpdate,
    async () => {
      state.paused = true;
      // Before the first batch there is nothing in flight to wait for: it holds before it. A
      // pause asked for as the run continues as new goes with it: the next execution's state
      // says paused, and it holds before its first step.
      await condition(
        () =>
          state.holding === true ||
          handlers.continuing ||
          (state.phase !== 'syncing' && state.phase !== 'removing'),
      );
      return { runId, ...state };
    },
    { validator: stillRuns, description: 'Stop after the batch in flight, keeping the list' },
  );
  setHandler(
    resumeUpdate,
    async () => {
      state.paused = false;
      await condition(() => state.holding !== true);
      return { runId, ...state };
    },
    { validator: stillRuns, description: 'Continue a paused run from its checkpoint' },
  );
  return handlers;
}

/**
 * Before continuing as new: a pause asked for during the last step takes effect here (its update
 * waits for the run to hold, which the next execution would never tell it), then every handler
 * ends. A cancellation meanwhile ends the run here, recorded as cancelled, not carried on.
 */
async function readyToContinue(
  runId: string,
  state: SyncRunState,
  handlers: RunHandlers,
): Promise<'continue' | 'cancelled'> {
  if (state.paused) await waitWhilePaused(runId, state);
  handlers.continuing = true;
  await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  return CancellationScope.current().consideredCancelled ? 'cancelled' : 'continue';
}

/** Records the run as completed and answers its result (a dry run's with its plan). */
async function complete(
  runId: string,
  state: SyncRunState,
  dryRun: boolean,
): Promise<SyncRunResult> {
  // Read before the run is recorded as completed, so a completed dry run has its plan.
  const plan = dryRun
    ? await CancellationScope.nonCancellable(() => setup.readPlan({ runId }))
    : undefined;
  const progress: SyncProgress = await CancellationScope.nonCancellable(() =>
    setup.finishRun({ runId, status: 'completed' }),
  );
  state.phase = 'finished';
  state.progress = progress;
  setCurrentDetails(
    `${plan ? 'Dry run finished, nothing written' : 'Finished'} · ${describeProgress(state)}`,
  );
  // A pause asked for as the last batch ended answers now, with the finished run; the run is
  // recorded as completed, so a cancellation now does not change how it ended.
  await CancellationScope.nonCancellable(() => condition(allHandlersFinished));
  return {
    status: 'completed',
    runId,
    listId: state.listId,
    listName: state.listName,
    progress,
    ...(plan ? { plan } : {}),
  };
}

/** Records the run and, when it may go on, prepares its lists and platform. */
async function begin(
  runId: string,
  input: SyncWorkflowInput,
  state: SyncRunState,
): Promise<BeginRunOutput> {
  // Short, and the run has no record before it: a cancellation waits for it, so every
  // cancelled run has a record that says so.
  const begun = await CancellationScope.nonCancellable(() =>
    setup.beginRun({ runId, request: input.request, activeSince: state.activeSince }),
  );
  if (begun.started) await prepare(runId, state);
  return begun;
}

/** A run whose list another run holds: recorded as cancelled, answered as busy. */
async function busyResult(
  runId: string,
  state: SyncRunState,
  activeRunId: string | undefined,
): Promise<SyncRunResult> {
  await CancellationScope.nonCancellable(() =>
    setup.finishRun({
      runId,
      status: 'cancelled',
      error: {
        code: 'list_busy',
        message: `Run ${activeRunId} is already syncing into this list`,
      },
    }),
  );
  return {
    status: 'list_busy',
    runId,
    listId: state.listId,
    listName: state.listName,
    progress: state.progress,
    ...(activeRunId ? { activeRunId } : {}),
  };
}

/** A run a schedule started while its kind was at its limit: recorded as skipped, nothing done. */
function skippedResult(
  runId: string,
  state: SyncRunState,
  refused: { code: string; message: string },
): SyncRunResult {
  setCurrentDetails(`Skipped · ${refused.message}`);
  return {
    status: 'skipped',
    runId,
    listId: state.listId,
    listName: state.listName,
    progress: state.progress,
    skipped: refused,
  };
}

async function prepare(runId: string, state: SyncRunState): Promise<void> {
  const prepared = await setup.prepareRun({ runId });
  state.listId = prepared.listId;
  state.listName = prepared.listName;
  state.tagListIds = prepared.tagListIds;
  state.batchSize = prepared.batchSize;
  if (prepared.batchesInFlight) state.batchesInFlight = prepared.batchesInFlight;
  // Contacts are created one by one: no bulk chunk to ask (runs recorded before ask one).
  if (prepared.bulkUnused) state.bulk = { cursor: null, chunkNo: 0, done: true };
  state.progress.total = prepared.total;
  // A dry run into a new list has none (it creates none).
  if (prepared.listId) upsertSearchAttributes([{ key: SyncListIdKey, value: prepared.listId }]);
  upsertMemo({ listId: prepared.listId, listName: prepared.listName });
  state.phase = 'preparing-platform';
  setCurrentDetails(`Preparing the platform · ${prepared.total} users to sync`);
  await platformPreparation.preparePlatform({ runId });
}

/** The list a run's batches go to; a dry run into a new list plans against one nobody is in. */
const batchListId = (state: SyncRunState, dryRun: boolean): string | null =>
  state.listId ?? (dryRun ? plannedListId() : null);

type BatchLoopOutcome = 'finished' | 'cancelled' | 'continue';

async function syncBatches(
  runId: string,
  state: SyncRunState,
  dryRun: boolean,
): Promise<BatchLoopOutcome> {
  state.phase = 'syncing';
  const listId = batchListId(state, dryRun);
  if (!listId) throw ApplicationFailure.nonRetryable('The run has no list', 'RunMissing');
  return syncOverlappingBatches(runId, state, listId);
}

interface BatchInFlight {
  batchNo: number;
  result: Promise<ProcessBatchOutput>;
}

/**
 * The batches of a run, each planned (where it ends) before the one in front of it finishes and
 * started at once, so up to the run's batchesInFlight send side by side. They are taken in
 * order: the cursor and counts advance batch by batch, as in a run of one batch at a time. A
 * pause, a cancellation or a continue-as-new stops starting batches and waits for those in
 * flight; a failed batch fails the run once the others in flight have ended.
 */
async function syncOverlappingBatches(
  runId: string,
  state: SyncRunState,
  listId: string,
): Promise<BatchLoopOutcome> {
  const inFlight: BatchInFlight[] = [];
  let plannedCursor = state.cursor;
  // The batch in flight last reads to the end of the population: nothing is planned after it.
  let lastPlanned = false;
  let batchesThisExecution = 0;
  const mayStart = () =>
    !lastPlanned &&
    inFlight.length < (state.batchesInFlight ?? BATCHES_IN_FLIGHT) &&
    !state.paused &&
    !CancellationScope.current().consideredCancelled &&
    !timeToContinueAsNew(batchesThisExecution, MAX_BATCHES_PER_EXECUTION);

  const startNext = async () => {
    const batchNo = state.batchNo + inFlight.length + 1;
    const cursor = plannedCursor;
    // Short, and a batch may be in flight: a cancellation meanwhile is seen before the next.
    const { upTo } = await CancellationScope.nonCancellable(() =>
      planning.planBatch({ runId, cursor, listId, tagListIds: state.tagListIds }),
    );
    plannedCursor = upTo;
    lastPlanned = upTo === null;
    batchesThisExecution += 1;
    const after = cursor === null ? 'from the first user' : `after user ${cursor}`;
    const range =
      upTo === null ? `up to ${state.batchSize} users ${after}` : `users ${after} to ${upTo}`;
    // The batch in flight always finishes, even when the run is cancelled meanwhile.
    const result = CancellationScope.nonCancellable(() =>
      batches.processBatch.executeWithOptions({ summary: `batch ${batchNo} · ${range}` }, [
        { runId, batchNo, cursor, upTo, listId, tagListIds: state.tagListIds },
      ]),
    );
    // A batch that fails while the one in front of it still runs keeps its failure for its
    // turn; unwatched until then, it would fail every workflow task as an unhandled rejection.
    result.catch(() => undefined);
    inFlight.push({ batchNo, result });
  };

  for (;;) {
    while (mayStart()) await startNext();
    const next = inFlight.shift();
    if (!next) {
      if (CancellationScope.current().consideredCancelled) return 'cancelled';
      if (!state.paused) return 'continue';
      await waitWhilePaused(runId, state);
      continue;
    }
    let result: ProcessBatchOutput;
    try {
      result = await next.result;
    } catch (error) {
      await Promise.allSettled(inFlight.map((batch) => batch.result));
      throw error;
    }
    state.batchNo = next.batchNo;
    state.cursor = result.cursor;
    // A batch behind it may have checkpointed first: the counts never go back.
    if (result.progress.processed >= state.progress.processed) state.progress = result.progress;
    setCurrentDetails(`batch ${next.batchNo} done · ${describeProgress(state)}`);
    if (result.done) return 'finished';
    if (lastPlanned && inFlight.length === 0) {
      // The last batch found a full batch (users joined since it was planned): plan on.
      lastPlanned = false;
      plannedCursor = result.cursor;
    }
  }
}

/**
 * A mirror run's last phase: the leavers are found once (the guard fails the run before anything
 * is removed), then taken out of the list a checkpointed batch at a time.
 */
async function removeLeavers(
  runId: string,
  state: SyncRunState,
  dryRun: boolean,
): Promise<'finished' | 'cancelled' | 'continue'> {
  const listId = batchListId(state, dryRun);
  if (!listId) throw ApplicationFailure.nonRetryable('The run has no list', 'RunMissing');
  state.phase = 'removing';
  if (!state.leavers) {
    const plan = await leaverSteps.planLeavers.executeWithOptions(
      { summary: 'find the leavers: list members who left the population' },
      [{ runId, listId }],
    );
    state.leavers = { planned: plan.wouldRemove, batchNo: 0 };
    setCurrentDetails(`Removing leavers · ${describeProgress(state)}`);
  }
  // A dry run's leavers are its plan: none is taken out.
  if (dryRun) return 'finished';
  for (let batchesThisExecution = 1; ; batchesThisExecution += 1) {
    if (state.paused) await waitWhilePaused(runId, state);
    if (CancellationScope.current().consideredCancelled) return 'cancelled';
    const leavers = state.leavers;
    const batchNo = leavers.batchNo + 1;
    const result = await CancellationScope.nonCancellable(() =>
      leaverSteps.removeLeavers.executeWithOptions(
        { summary: `leavers batch ${batchNo} · up to ${state.batchSize} contacts out of the list` },
        [{ runId, listId, batchNo }],
      ),
    );
    leavers.batchNo = batchNo;
    state.progress = result.progress;
    setCurrentDetails(`leavers batch ${batchNo} · ${describeProgress(state)}`);
    if (result.done) return 'finished';
    if (timeToContinueAsNew(batchesThisExecution, MAX_BATCHES_PER_EXECUTION)) return 'continue';
  }
}

/**
 * Holds the run between two batches until it is resumed, saying so in its record and details. A
 * cancellation meanwhile ends the wait (the condition throws) and the run ends cancelled.
 */
async function waitWhilePaused(runId: string, state: SyncRunState): Promise<void> {
  await CancellationScope.nonCancellable(() => setup.markRunPaused({ runId, paused: true }));
  state.holding = true;
  setCurrentDetails(`Paused after batch ${state.batchNo} · ${describeProgress(state)}`);
  try {
    await condition(() => !state.paused);
  } finally {
    state.holding = false;
  }
  await CancellationScope.nonCancellable(() => setup.markRunPaused({ runId, paused: false }));
  setCurrentDetails(`Resumed after batch ${state.batchNo} · ${describeProgress(state)}`);
}
