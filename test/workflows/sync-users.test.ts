import { WorkflowFailedError } from '@temporalio/client';
import { ActivityFailure, ApplicationFailure, CancelledFailure } from '@temporalio/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorkflowEnvironment, type WorkflowEnvironment } from './support/environment.js';
import {
  activityStopRequested,
  askPause,
  EventType,
  eventTypes,
  historyReaches,
  holding,
  pauseDuring,
  queryView,
  resume,
} from './support/views.js';

/**
 * SyncUsersWorkflow itself, with plain functions in place of its activities: what it runs, in
 * which order, how often, and what its query and result say, through pauses, cancellations in
 * each phase, a failed batch and a busy list. Runs are short here (no continue-as-new; see
 * continue-as-new.test.ts).
 */

let env: WorkflowEnvironment;

beforeAll(async () => {
  env = await startWorkflowEnvironment();
});

afterAll(async () => {
  await env?.teardown();
});

const SETUP = ['beginRun', 'prepareRun', 'preparePlatform'];
const ALL_BATCHES = ['1: u001..u010', '2: u011..u020', '3: u021..u025'];

/** The workflow task that heard of an activity's failure ended one way or the other. */
const WORKFLOW_TASK_ENDS = [
  EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED,
  EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED,
];

const cancelledFailure = (error: unknown) =>
  error instanceof WorkflowFailedError && error.cause instanceof CancelledFailure;

describe('SyncUsersWorkflow with stub activities', () => {
  it('runs every batch once, in order, and completes with the counts of the run record', async () => {
    const run = await env.start({ users: 25, batchSize: 10 });

    expect(await run.handle.result()).toEqual({
      status: 'completed',
      runId: run.handle.workflowId,
      listId: 'list-1',
      listName: 'Customers',
      progress: {
        total: 25,
        processed: 25,
        added: 25,
        failed: 0,
        skipped: 0,
        removed: 0,
        unsubscribed: 0,
        updated: 0,
      },
    });
    expect(run.stub.log).toEqual({
      steps: [...SETUP, 'finishRun completed'],
      batches: ALL_BATCHES,
      plans: [null, 'u010', 'u020'],
      chunks: ['1: not used'],
      leavers: [],
      failures: [],
    });
    expect(await queryView(run)).toEqual({
      phase: 'finished',
      paused: false,
      holding: false,
      batchNo: 3,
      cursor: 'u025',
      processed: 25,
      removed: 0,
      execution: 1,
    });
  });

  it('a pause before the first batch holds the run before its first step until resumed', async () => {
    const run = await env.start({ users: 25, batchSize: 10 });
    run.stub.hold('preparePlatform');
    await run.stub.started('preparePlatform');

    const pause = await askPause(run);
    // Nothing is in flight to wait for: the pause answers at once, the run still preparing.
    expect(await pause.took()).toEqual({
      phase: 'preparing-platform',
      paused: true,
      holding: false,
      batchNo: 0,
      cursor: null,
      processed: 0,
      removed: 0,
      execution: 1,
    });
    run.stub.release('preparePlatform');
    expect(await holding(run)).toEqual({
      phase: 'syncing',
      paused: true,
      holding: true,
      batchNo: 0,
      cursor: null,
      processed: 0,
      removed: 0,
      execution: 1,
    });
    expect(run.stub.log.steps).toEqual([...SETUP, 'markRunPaused true']);
    expect(run.stub.log.chunks).toEqual([]);
    expect(run.stub.log.batches).toEqual([]);

    expect(await resume(run)).toMatchObject({ paused: false, holding: false, batchNo: 0 });
    expect((await run.handle.result()).status).toBe('completed');
    expect(run.stub.log.steps).toEqual([
      ...SETUP,
      'markRunPaused true',
      'markRunPaused false',
      'finishRun completed',
    ]);
    expect(run.stub.log.chunks).toEqual(['1: not used']);
    expect(run.stub.log.batches).toEqual(ALL_BATCHES);
  });

  it('a pause during the population pass holds after the batches in flight, and resume goes on from the cursor', async () => {
    const run = await env.start({ users: 25, batchSize: 10 });
    // Batch 2 was already in flight beside batch 1: the run holds after it, batch 3 unplanned.
    expect(await pauseDuring(run, 'batch 1')).toEqual({
      phase: 'syncing',
      paused: true,
      holding: true,
      batchNo: 2,
      cursor: 'u020',
      processed: 20,
      removed: 0,
      execution: 1,
    });
    expect(run.stub.log.batches).toEqual(ALL_BATCHES.slice(0, 2));
    expect(run.stub.log.plans).toEqual([null, 'u010']);
    expect(run.stub.log.steps).toEqual([...SETUP, 'markRunPaused true']);

    expect(await resume(run)).toMatchObject({ paused: false, holding: false, batchNo: 2 });
    expect((await run.handle.result()).progress.processed).toBe(25);
    expect(run.stub.log.batches).toEqual(ALL_BATCHES);
    expect(run.stub.log.plans).toEqual([null, 'u010', 'u020']);
    expect(run.stub.log.steps).toEqual([
      ...SETUP,
      'markRunPaused true',
      'markRunPaused false',
      'finishRun completed',
    ]);
  });

  it('a run that prepareRun says creates contacts one by one asks for no bulk chunk, and syncs every batch', async () => {
    const run = await env.start({ users: 25, batchSize: 10, bulkUnused: true });

    expect((await run.handle.result()).progress.processed).toBe(25);
    expect(run.stub.log.chunks).toEqual([]);
    expect(run.stub.log.batches).toEqual(ALL_BATCHES);
    expect(run.stub.log.steps).toEqual([...SETUP, 'finishRun completed']);
  });

  it('with one batch in flight (SYNC_BATCHES_IN_FLIGHT=1), the next batch is planned only once the one before it ended', async () => {
    const run = await env.start({ users: 25, batchSize: 10, batchesInFlight: 1 });
    // Nothing beside batch 1: the run holds after it, batch 2 unplanned.
    expect(await pauseDuring(run, 'batch 1')).toEqual({
      phase: 'syncing',
      paused: true,
      holding: true,
      batchNo: 1,
      cursor: 'u010',
      processed: 10,
      removed: 0,
      execution: 1,
    });
    expect(run.stub.log.batches).toEqual(ALL_BATCHES.slice(0, 1));
    expect(run.stub.log.plans).toEqual([null]);

    await resume(run);
    expect((await run.handle.result()).progress.processed).toBe(25);
    expect(run.stub.log.batches).toEqual(ALL_BATCHES);
    expect(run.stub.log.plans).toEqual([null, 'u010', 'u020']);
  });

  it('a pause during the bulk pass stops the chunk after its batch in flight, and resume takes the chunk up again', async () => {
    const run = await env.start({ users: 45, batchSize: 10, chunkBatches: 2 });
    run.stub.hold('chunk 1');
    await run.stub.started('chunk 1');

    const pause = await askPause(run);
    await activityStopRequested(run);
    run.stub.stopAsked.open();
    expect(await pause.took()).toEqual({
      phase: 'syncing',
      paused: true,
      holding: true,
      batchNo: 1,
      cursor: 'u010',
      processed: 10,
      removed: 0,
      execution: 1,
    });
    expect(run.stub.log.chunks).toEqual(['1: stopped after batch 1']);
    expect(run.stub.log.steps).toEqual([...SETUP, 'markRunPaused true']);

    run.stub.release('chunk 1');
    await resume(run);
    expect((await run.handle.result()).progress.processed).toBe(45);
    expect(run.stub.log.chunks).toEqual([
      '1: stopped after batch 1',
      '1: batches 2..3',
      '2: batches 4..5',
    ]);
    expect(run.stub.log.batches).toEqual([
      '1: u001..u010',
      '2: u011..u020',
      '3: u021..u030',
      '4: u031..u040',
      '5: u041..u045',
    ]);
    // The population ended within the bulk pass: no batch pass after it.
    expect(run.stub.log.plans).toEqual([]);
  });

  it('a cancellation before the first batch records the run as cancelled and starts nothing', async () => {
    const run = await env.start({ users: 25, batchSize: 10 });
    run.stub.hold('beginRun');
    await run.stub.started('beginRun');

    await run.handle.cancel();
    run.stub.release('beginRun');
    await expect(run.handle.result()).rejects.toSatisfy(cancelledFailure);
    expect(run.stub.log).toEqual({
      steps: ['beginRun', 'finishRun cancelled'],
      batches: [],
      plans: [],
      chunks: [],
      leavers: [],
      failures: [],
    });
  });

  it('a cancellation during the population pass lets the batches in flight finish, then ends', async () => {
    const run = await env.start({ users: 25, batchSize: 10 });
    run.stub.hold('batch 1');
    await run.stub.started('batch 1');

    await run.handle.cancel();
    run.stub.release('batch 1');
    await expect(run.handle.result()).rejects.toSatisfy(cancelledFailure);
    expect(run.stub.log.batches).toEqual(ALL_BATCHES.slice(0, 2));
    expect(run.stub.log.plans).toEqual([null, 'u010']);
    expect(run.stub.log.steps).toEqual([...SETUP, 'finishRun cancelled']);
    expect(await queryView(run)).toMatchObject({ batchNo: 2, cursor: 'u020', processed: 20 });
  });

  it('a cancellation during the bulk pass stops the chunk after its batch in flight', async () => {
    const run = await env.start({ users: 45, batchSize: 10, chunkBatches: 2 });
    run.stub.hold('chunk 1');
    await run.stub.started('chunk 1');

    await run.handle.cancel();
    await activityStopRequested(run);
    run.stub.stopAsked.open();
    await expect(run.handle.result()).rejects.toSatisfy(cancelledFailure);
    expect(run.stub.log.chunks).toEqual(['1: stopped after batch 1']);
    expect(run.stub.log.batches).toEqual(['1: u001..u010']);
    expect(run.stub.log.steps).toEqual([...SETUP, 'finishRun cancelled']);
    expect(await queryView(run)).toMatchObject({ batchNo: 1, cursor: 'u010', processed: 10 });
  });

  it("a cancellation during the leavers' pass lets the leaver batch in flight finish, then ends", async () => {
    const run = await env.start({ users: 15, batchSize: 10, leavers: 25 }, { mode: 'mirror' });
    run.stub.hold('leavers 1');
    await run.stub.started('leavers 1');

    await run.handle.cancel();
    run.stub.release('leavers 1');
    await expect(run.handle.result()).rejects.toSatisfy(cancelledFailure);
    expect(run.stub.log.batches).toEqual(['1: u001..u010', '2: u011..u015']);
    expect(run.stub.log.leavers).toEqual([1]);
    expect(run.stub.log.steps).toEqual([...SETUP, 'planLeavers', 'finishRun cancelled']);
    expect(await queryView(run)).toEqual({
      phase: 'removing',
      paused: false,
      holding: false,
      batchNo: 2,
      cursor: 'u015',
      processed: 15,
      removed: 10,
      execution: 1,
      leavers: { planned: 25, batchNo: 1 },
    });
  });

  it("a pause during the leavers' pass holds after the leaver batch in flight", async () => {
    const run = await env.start({ users: 15, batchSize: 10, leavers: 25 }, { mode: 'mirror' });
    expect(await pauseDuring(run, 'leavers 1')).toEqual({
      phase: 'removing',
      paused: true,
      holding: true,
      batchNo: 2,
      cursor: 'u015',
      processed: 15,
      removed: 10,
      execution: 1,
      leavers: { planned: 25, batchNo: 1 },
    });
    expect(run.stub.log.leavers).toEqual([1]);

    await resume(run);
    expect((await run.handle.result()).progress).toMatchObject({ processed: 15, removed: 25 });
    expect(run.stub.log.leavers).toEqual([1, 2, 3]);
    expect(run.stub.log.steps).toEqual([
      ...SETUP,
      'planLeavers',
      'markRunPaused true',
      'markRunPaused false',
      'finishRun completed',
    ]);
  });

  it('a cancellation while paused ends the run from where it holds', async () => {
    const run = await env.start({ users: 25, batchSize: 10 });
    expect(await pauseDuring(run, 'batch 1')).toMatchObject({ holding: true, batchNo: 2 });

    await run.handle.cancel();
    await expect(run.handle.result()).rejects.toSatisfy(cancelledFailure);
    expect(run.stub.log.batches).toEqual(ALL_BATCHES.slice(0, 2));
    expect(run.stub.log.steps).toEqual([...SETUP, 'markRunPaused true', 'finishRun cancelled']);
    expect(await queryView(run)).toEqual({
      phase: 'syncing',
      paused: true,
      holding: false,
      batchNo: 2,
      cursor: 'u020',
      processed: 20,
      removed: 0,
      execution: 1,
    });
  });

  it('a batch that fails for good fails the run, recorded with its reason, once the batch in flight ended', async () => {
    const run = await env.start({ users: 25, batchSize: 10 });
    run.stub.fail(
      'batch 2',
      ApplicationFailure.nonRetryable('the platform refused the API key', 'platform_auth_failed'),
    );
    // Batch 2 fails while batch 1, in front of it, still sends: the workflow hears of the
    // failure first and must keep it until batch 1 ended.
    run.stub.hold('batch 1');
    await historyReaches(run, (types) => {
      const failedAt = types.indexOf(EventType.EVENT_TYPE_ACTIVITY_TASK_FAILED);
      return (
        failedAt >= 0 && types.slice(failedAt).some((type) => WORKFLOW_TASK_ENDS.includes(type))
      );
    });
    expect(await eventTypes(run)).not.toContain(EventType.EVENT_TYPE_WORKFLOW_TASK_FAILED);
    run.stub.release('batch 1');

    const failed = await run.handle.result().catch((error: unknown) => error);
    expect(failed).toBeInstanceOf(WorkflowFailedError);
    const cause = (failed as WorkflowFailedError).cause;
    expect(cause).toBeInstanceOf(ActivityFailure);
    expect((cause as ActivityFailure).cause).toMatchObject({
      type: 'platform_auth_failed',
      message: 'the platform refused the API key',
    });
    expect(run.stub.log.failures).toEqual(['batch 2: the platform refused the API key']);
    // Batch 3 was planned and started while batch 2's failure waited its turn: it ends first.
    expect(run.stub.log.batches).toEqual(['1: u001..u010', '3: u021..u025']);
    expect(run.stub.log.steps).toEqual([...SETUP, 'finishRun failed platform_auth_failed']);
    expect(await queryView(run)).toMatchObject({ phase: 'syncing', batchNo: 1, cursor: 'u010' });
  });

  it('a batch that fails once is tried again and counted once', async () => {
    const run = await env.start({ users: 25, batchSize: 10 });
    run.stub.fail('batch 2', ApplicationFailure.retryable('the platform is unavailable'));

    expect((await run.handle.result()).progress.processed).toBe(25);
    expect(run.stub.log.failures).toEqual(['batch 2: the platform is unavailable']);
    expect(run.stub.log.batches).toEqual(ALL_BATCHES);
    expect(run.stub.log.steps).toEqual([...SETUP, 'finishRun completed']);
  });

  it('a run into a list another run is syncing ends as list_busy, naming that run, having sent nothing', async () => {
    const run = await env.start({ users: 25, batchSize: 10, busyWith: 'run-other' });

    expect(await run.handle.result()).toEqual({
      status: 'list_busy',
      runId: run.handle.workflowId,
      activeRunId: 'run-other',
      listId: 'list-1',
      listName: 'Customers',
      progress: {
        total: 0,
        processed: 0,
        added: 0,
        failed: 0,
        skipped: 0,
        removed: 0,
        unsubscribed: 0,
        updated: 0,
      },
    });
    expect(run.stub.log).toEqual({
      steps: ['beginRun', 'finishRun cancelled list_busy'],
      batches: [],
      plans: [],
      chunks: [],
      leavers: [],
      failures: [],
    });
  });
});
