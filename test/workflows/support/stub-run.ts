import { ApplicationFailure, Context } from '@temporalio/activity';
import type { BulkChunkInput, BulkChunkOutput, SyncActivities } from '../../../activities/index.js';
import type { ProcessBatchInput } from '../../../activities/sync-batch.js';
import { emptyCounts, type SyncProgress } from '../../../common/sync.js';

/**
 * Plain functions in place of the sync activities, so SyncUsersWorkflow runs for real against a
 * Temporal server with no database and no platform. Each run (keyed by its id, which the
 * workflow passes to every activity) has a script: its users, which steps hold until the test
 * releases them, which fail, and a log of what ran. Time moves only when the test says so.
 */

type Stubbed = Pick<
  SyncActivities,
  | 'beginRun'
  | 'prepareRun'
  | 'preparePlatform'
  | 'markRunPaused'
  | 'finishRun'
  | 'readPlan'
  | 'planBatch'
  | 'processBatch'
  | 'processBulkChunk'
  | 'planLeavers'
  | 'removeLeavers'
>;

/** A promise the test resolves. */
class Gate {
  readonly opened: Promise<void>;
  open!: () => void;
  constructor() {
    this.opened = new Promise((resolve) => {
      this.open = resolve;
    });
  }
}

export interface StubRunOptions {
  users: number;
  batchSize: number;
  /** Batches per bulk chunk; absent: the bulk pass is not used (its first chunk says so). */
  chunkBatches?: number;
  /** Leavers a mirror run finds (taken out `batchSize` at a time). */
  leavers?: number;
  /** Another run holds the list: beginRun answers so. */
  busyWith?: string;
  /** What prepareRun answers for SYNC_BATCHES_IN_FLIGHT; absent: nothing (the default). */
  batchesInFlight?: number;
  /** prepareRun says the run creates contacts one by one (no bulk pass to ask). */
  bulkUnused?: boolean;
}

export interface StubLog {
  /** Setup steps in the order the workflow called them (one at a time, so in a fixed order). */
  steps: string[];
  /** Batches as they ended, each as `batchNo: first..last user` (batches end in batch order). */
  batches: string[];
  /** Cursors the workflow planned batches from. */
  plans: (string | null)[];
  /** Bulk chunks as they ended: `chunkNo: batches from..to`, `stopped` when asked to stop. */
  chunks: string[];
  /** Leaver batches as they ended. */
  leavers: number[];
  /** Attempts that failed, as `step: message`. */
  failures: string[];
}

export class StubRun {
  readonly users: string[];
  readonly log: StubLog = {
    steps: [],
    batches: [],
    plans: [],
    chunks: [],
    leavers: [],
    failures: [],
  };
  readonly progress: SyncProgress;
  private readonly holds = new Map<string, Gate>();
  private readonly starts = new Map<string, Gate>();
  private readonly failOnce = new Map<string, ApplicationFailure>();
  private readonly ended = new Map<number, Gate>();
  private leaversLeft: number;
  /** The first batch this stub sees (a later one for a run started from a carried state). */
  firstBatchNo = 1;

  constructor(readonly options: StubRunOptions) {
    this.users = Array.from(
      { length: options.users },
      (_, i) => `u${String(i + 1).padStart(3, '0')}`,
    );
    this.progress = { total: options.users, ...emptyCounts() };
    this.leaversLeft = options.leavers ?? 0;
  }

  /** The step (e.g. `batch 2`, `chunk 1`, `leavers 1`, `preparePlatform`) holds until released. */
  hold(step: string): void {
    this.holds.set(step, new Gate());
  }

  release(step: string): void {
    this.holds.get(step)?.open();
  }

  /** Resolves once the step has started (it may be holding). */
  started(step: string): Promise<void> {
    return this.startGate(step).opened;
  }

  /** The step's next attempt fails with this failure. */
  fail(step: string, failure: ApplicationFailure): void {
    this.failOnce.set(step, failure);
  }

  /** Everything held goes on, so no attempt outlives its test. */
  releaseAll(): void {
    for (const gate of this.holds.values()) gate.open();
  }

  private startGate(step: string): Gate {
    let gate = this.starts.get(step);
    if (!gate) {
      gate = new Gate();
      this.starts.set(step, gate);
    }
    return gate;
  }

  /** A step begins: say so, fail if asked to, hold if asked to. */
  async enter(step: string): Promise<void> {
    this.startGate(step).open();
    const failure = this.failOnce.get(step);
    if (failure) {
      this.failOnce.delete(step);
      this.log.failures.push(`${step}: ${failure.message}`);
      throw failure;
    }
    await this.holds.get(step)?.opened;
  }

  /** Index in `users` after the cursor. */
  indexAfter(cursor: string | null): number {
    return cursor === null ? 0 : this.users.indexOf(cursor) + 1;
  }

  /** A batch as processBatch does it: up to `upTo`, else the next batchSize users. */
  async batch(input: Pick<ProcessBatchInput, 'batchNo' | 'cursor' | 'upTo'>) {
    try {
      await this.enter(`batch ${input.batchNo}`);
    } catch (error) {
      // A batch that fails for good lets the one behind it go on; a retried one holds it.
      if (error instanceof ApplicationFailure && error.nonRetryable) {
        this.endGate(input.batchNo).open();
      }
      throw error;
    }
    // Batches of a run send in turn, as the real ones do: they end in batch order.
    if (input.batchNo > this.firstBatchNo) await this.endGate(input.batchNo - 1).opened;
    const from = this.indexAfter(input.cursor);
    const planned = input.upTo != null;
    const to = planned
      ? this.users.indexOf(input.upTo as string) + 1
      : from + this.options.batchSize;
    const read = this.users.slice(from, to);
    this.progress.processed += read.length;
    this.progress.added += read.length;
    this.log.batches.push(`${input.batchNo}: ${read[0]}..${read.at(-1)}`);
    this.endGate(input.batchNo).open();
    return {
      cursor: planned ? (input.upTo ?? null) : (read.at(-1) ?? input.cursor),
      done: !planned && read.length < this.options.batchSize,
      progress: { ...this.progress },
    };
  }

  private endGate(batchNo: number): Gate {
    let gate = this.ended.get(batchNo);
    if (!gate) {
      gate = new Gate();
      this.ended.set(batchNo, gate);
    }
    return gate;
  }

  /**
   * A bulk chunk: `chunkBatches` batches one after another. Held, it waits for the release or
   * for the run to ask it to stop (a pause or a cancellation), then stops after its first batch,
   * as the real chunk stops after its inner batch in flight.
   */
  async chunk(input: BulkChunkInput): Promise<BulkChunkOutput> {
    const { chunkBatches } = this.options;
    if (chunkBatches === undefined) {
      this.log.chunks.push(`${input.chunkNo}: not used`);
      return { ...input, populationDone: false, bulkDone: true, created: 0 };
    }
    const step = `chunk ${input.chunkNo}`;
    const context = Context.current();
    const stop = new Promise<'stop'>((resolve) =>
      context.cancellationSignal.addEventListener('abort', () => resolve('stop'), { once: true }),
    );
    const held = this.holds.get(step);
    this.startGate(step).open();
    let cursor = input.cursor;
    let batchNo = input.batchNo;
    for (let i = 0; i < chunkBatches; i += 1) {
      if (held && i === 1) {
        // Told by the test once the stop was asked for: one heartbeat brings the cancellation.
        const goOn = held.opened.then(() => 'go' as const);
        const stopAsked = this.stopAsked.opened.then(() => {
          context.heartbeat();
          return stop;
        });
        if ((await Promise.race([goOn, stopAsked])) === 'stop') {
          this.log.chunks.push(`${input.chunkNo}: stopped after batch ${batchNo}`);
          return {
            cursor,
            batchNo,
            progress: { ...this.progress },
            populationDone: false,
            bulkDone: false,
            created: 0,
            stopped: true,
          };
        }
      }
      const result = await this.batch({ batchNo: batchNo + 1, cursor, upTo: null });
      cursor = result.cursor;
      batchNo += 1;
      if (result.done) break;
    }
    const populationDone = this.indexAfter(cursor) >= this.users.length;
    this.log.chunks.push(`${input.chunkNo}: batches ${input.batchNo + 1}..${batchNo}`);
    return {
      cursor,
      batchNo,
      progress: { ...this.progress },
      populationDone,
      bulkDone: populationDone,
      created: 0,
    };
  }

  /** Opened by the test once Temporal has the stop request for the chunk in flight. */
  readonly stopAsked = new Gate();

  async removeLeavers(batchNo: number) {
    await this.enter(`leavers ${batchNo}`);
    const removed = Math.min(this.leaversLeft, this.options.batchSize);
    this.leaversLeft -= removed;
    this.progress.removed += removed;
    this.log.leavers.push(batchNo);
    return { done: this.leaversLeft === 0, progress: { ...this.progress } };
  }
}

export const stubPlatform = 'memory';
export const stubListId = 'list-1';

/** The stub activities, serving every run in `runs`. */
export function stubActivities(runs: Map<string, StubRun>): Stubbed {
  const runOf = (runId: string): StubRun => {
    const run = runs.get(runId);
    if (!run) throw ApplicationFailure.nonRetryable(`no script for ${runId}`, 'RunMissing');
    return run;
  };
  const step = async (runId: string, name: string) => {
    const run = runOf(runId);
    run.log.steps.push(name);
    await run.enter(name);
    return run;
  };
  const preparePlatform = async ({ runId }: { runId: string }) => {
    await step(runId, 'preparePlatform');
  };
  return {
    beginRun: async ({ runId }) => {
      const run = await step(runId, 'beginRun');
      const { busyWith } = run.options;
      return busyWith ? { started: false, activeRunId: busyWith } : { started: true };
    },
    prepareRun: async ({ runId }) => {
      const run = await step(runId, 'prepareRun');
      return {
        listId: stubListId,
        listName: 'Customers',
        tagListIds: [],
        total: run.users.length,
        batchSize: run.options.batchSize,
        ...(run.options.batchesInFlight ? { batchesInFlight: run.options.batchesInFlight } : {}),
        ...(run.options.bulkUnused ? { bulkUnused: true } : {}),
      };
    },
    preparePlatform,
    markRunPaused: async ({ runId, paused }) => {
      await step(runId, `markRunPaused ${paused}`);
    },
    finishRun: async ({ runId, status, error }) => {
      const run = await step(runId, `finishRun ${status}${error ? ` ${error.code}` : ''}`);
      return { ...run.progress };
    },
    readPlan: async () => {
      throw ApplicationFailure.nonRetryable('dry runs are not stubbed', 'RunMissing');
    },
    planBatch: async ({ runId, cursor }) => {
      const run = runOf(runId);
      run.log.plans.push(cursor);
      const from = run.indexAfter(cursor);
      const next = run.users.slice(from, from + run.options.batchSize);
      return { upTo: next.length < run.options.batchSize ? null : (next.at(-1) ?? null) };
    },
    processBatch: async (input) => runOf(input.runId).batch(input),
    processBulkChunk: async (input) => runOf(input.runId).chunk(input),
    planLeavers: async ({ runId }) => {
      const run = await step(runId, 'planLeavers');
      const leavers = run.options.leavers ?? 0;
      return {
        tracked: run.users.length + leavers,
        wouldRemove: leavers,
        wouldUnsubscribe: 0,
        maxRemovals: leavers,
      };
    },
    removeLeavers: async ({ runId, batchNo }) => runOf(runId).removeLeavers(batchNo),
  };
}
