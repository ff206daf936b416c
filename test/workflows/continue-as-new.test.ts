import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SyncRunState } from '../../common/sync.js';
import { startWorkflowEnvironment, type WorkflowEnvironment } from './support/environment.js';
import { holding, pauseDuring, queryView, resume } from './support/views.js';

/**
 * SyncUsersWorkflow across continue-as-new, with stub activities. The server here suggests
 * continuing as new once a history has 5 events: an execution's first workflow task (3 events)
 * never sees the suggestion and every later one does, so each execution starts what its first
 * task starts (two batches side by side, one leaver batch, one bulk chunk) and then continues as
 * new: the points where it does are fixed, and the counts below exact.
 */

let env: WorkflowEnvironment;

beforeAll(async () => {
  env = await startWorkflowEnvironment([
    '--dynamic-config-value',
    'limit.historyCount.suggestContinueAsNew=5',
  ]);
});

afterAll(async () => {
  await env?.teardown();
});

const SETUP = ['beginRun', 'prepareRun', 'preparePlatform'];

describe('SyncUsersWorkflow across continue-as-new', () => {
  it('carries the cursor and counts: every batch runs once, in order, over four executions', async () => {
    const run = await env.start({ users: 45, batchSize: 10 });

    expect((await run.handle.result()).progress).toMatchObject({ total: 45, processed: 45 });
    expect(run.stub.log).toEqual({
      steps: [...SETUP, 'finishRun completed'],
      batches: [
        '1: u001..u010',
        '2: u011..u020',
        '3: u021..u030',
        '4: u031..u040',
        '5: u041..u045',
      ],
      plans: [null, 'u010', 'u020', 'u030', 'u040'],
      chunks: ['1: not used'],
      leavers: [],
      failures: [],
    });
    // The first execution prepared the run, the next three took two batches each at most.
    expect(await queryView(run)).toEqual({
      phase: 'finished',
      paused: false,
      holding: false,
      batchNo: 5,
      cursor: 'u045',
      processed: 45,
      removed: 0,
      execution: 4,
    });
  });

  it('a pause asked for during the last batch of an execution holds there, and the next execution goes on from the cursor', async () => {
    const run = await env.start({ users: 45, batchSize: 10 });
    expect(await pauseDuring(run, 'batch 2')).toEqual({
      phase: 'syncing',
      paused: true,
      holding: true,
      batchNo: 2,
      cursor: 'u020',
      processed: 20,
      removed: 0,
      execution: 2,
    });
    expect(run.stub.log.batches).toEqual(['1: u001..u010', '2: u011..u020']);

    expect(await resume(run)).toMatchObject({ paused: false, holding: false, execution: 2 });
    expect((await run.handle.result()).progress.processed).toBe(45);
    expect(run.stub.log.batches).toHaveLength(5);
    expect(run.stub.log.steps).toEqual([
      ...SETUP,
      'markRunPaused true',
      'markRunPaused false',
      'finishRun completed',
    ]);
    expect(await queryView(run)).toMatchObject({ execution: 4, batchNo: 5 });
  });

  it('a pause asked for as a leaver batch ends, with the run about to continue as new, holds before it continues', async () => {
    const run = await env.start({ users: 5, batchSize: 10, leavers: 25 }, { mode: 'mirror' });
    // The leaver batch ended where the run continues as new (the second execution: the first
    // prepared the run): the pause holds it first, in this execution, so the update answers
    // from the execution that took it.
    expect(await pauseDuring(run, 'leavers 1')).toEqual({
      phase: 'removing',
      paused: true,
      holding: true,
      batchNo: 1,
      cursor: 'u005',
      processed: 5,
      removed: 10,
      execution: 2,
      leavers: { planned: 25, batchNo: 1 },
    });
    expect(run.stub.log.leavers).toEqual([1]);

    await resume(run);
    expect((await run.handle.result()).progress).toMatchObject({ processed: 5, removed: 25 });
    expect(run.stub.log.leavers).toEqual([1, 2, 3]);
    expect(run.stub.log.steps).toEqual([
      ...SETUP,
      'planLeavers',
      'markRunPaused true',
      'markRunPaused false',
      'finishRun completed',
    ]);
    // One execution for each of the two leaver batches after the pause.
    expect(await queryView(run)).toMatchObject({ execution: 4 });
  });

  it('an execution that continued as new with a pause holds before its first batch until resumed', async () => {
    const carried: SyncRunState = {
      phase: 'syncing',
      listId: 'list-1',
      listName: 'Customers',
      tagListIds: [],
      activeSince: '2026-01-01T00:00:00.000Z',
      cursor: 'u020',
      batchNo: 2,
      batchSize: 10,
      progress: {
        total: 25,
        processed: 20,
        added: 20,
        failed: 0,
        skipped: 0,
        removed: 0,
        unsubscribed: 0,
        updated: 0,
      },
      paused: true,
      execution: 2,
      bulk: { cursor: null, chunkNo: 1, done: true },
      startedAt: '2026-01-01T00:00:00.000Z',
    };
    const run = await env.start({ users: 25, batchSize: 10 }, {}, carried);
    run.stub.firstBatchNo = 3;

    expect(await holding(run)).toEqual({
      phase: 'syncing',
      paused: true,
      holding: true,
      batchNo: 2,
      cursor: 'u020',
      processed: 20,
      removed: 0,
      execution: 2,
    });
    expect(run.stub.log.steps).toEqual(['markRunPaused true']);
    expect(run.stub.log.plans).toEqual([]);

    await resume(run);
    await run.handle.result();
    expect(run.stub.log.steps).toEqual([
      'markRunPaused true',
      'markRunPaused false',
      'finishRun completed',
    ]);
    expect(run.stub.log.plans).toEqual(['u020']);
    expect(run.stub.log.batches).toEqual(['3: u021..u025']);
  });
});
