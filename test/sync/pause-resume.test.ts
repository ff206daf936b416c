import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import {
  type AppStack,
  createEmulatorSegment,
  eligibleEmails,
  emulatedContacts,
  requestLog,
  runStatusOf,
  setEmulatorConfig,
  stackPerTest,
  successfulCreates,
  waitForRunEnd,
} from '../support/app-stack.js';
import { waitFor } from '../support/stack.js';

/**
 * Pausing a run: through the API (a Workflow Update; the run stops after the batch in flight and
 * keeps its list), and one batch paused from outside (Temporal's activity pause, as the Web UI's
 * and the CLI's Pause do). Either way the run resumes where it was, losing and doubling nobody.
 */
const startStack = stackPerTest();

/** Who is in the list, and that every eligible email was created exactly once. */
async function expectEveryoneOnce(current: AppStack, listId: string): Promise<void> {
  const expected = await eligibleEmails(current);
  const members = await emulatedContacts(current.emulator, `&segment_id=${listId}`);
  expect(members.map((contact) => contact.email.toLowerCase()).sort()).toEqual(expected);
  const creates = successfulCreates(await requestLog(current.emulator));
  expect([...creates.keys()].sort()).toEqual(expected);
  expect([...creates.values()].filter((count) => count !== 1)).toEqual([]);
}

describe('pause and resume through the API', () => {
  it('stops after the batch in flight, keeps the list, and resumes from the checkpoint', async () => {
    const stack = await startStack({
      users: 300,
      mix: 'eligible',
      emulator: { rateLimit: 40 },
      worker: { SYNC_BATCH_SIZE: '20' },
    });
    const current = stack;
    const listId = await createEmulatorSegment(current.emulator, 'Paused list');
    const started = await current.call(
      'POST',
      '/api/marketing/sync',
      { platform: 'resend', list_id: listId },
      { prefer: 'respond-async' },
    );
    expect(started.status).toBe(202);
    const runId: string = started.body.runId;
    await waitFor(async () => (await runStatusOf(current, runId)).progress.processed > 0, {
      what: 'the first batch',
    });

    const paused = await current.call('POST', `/api/marketing/sync-users/${runId}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ success: true, runId, status: 'paused' });
    const whilePaused = await runStatusOf(current, runId);
    expect(whilePaused.status).toBe('paused');
    expect(whilePaused.progress.processed % 20).toBe(0);
    expect(whilePaused.progress.processed).toBeLessThan(300);
    expect(paused.body.progress).toEqual(whilePaused.progress);
    // Between two batches: no batch is running.
    const description = await current.client.workflow.getHandle(runId).describe();
    expect(description.raw.pendingActivities ?? []).toEqual([]);
    // The list stays held: another sync into it answers with the paused run.
    const other = await current.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_id: listId,
    });
    expect(other.status).toBe(202);
    expect(other.body.runId).toBe(runId);

    const resumed = await current.call('POST', `/api/marketing/sync-users/${runId}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ runId, status: 'running' });
    const ended = await waitForRunEnd(current, runId);
    expect(ended.status).toBe('completed');
    expect(ended.progress).toMatchObject({ processed: 300, added: 300, failed: 0, skipped: 0 });
    await expectEveryoneOnce(current, listId);

    const late = await current.call('POST', `/api/marketing/sync-users/${runId}/pause`);
    expect(late.status).toBe(409);
    expect(late.body.error.code).toBe('run_finished');
  }, 120_000);

  it('answers 404 for an unknown run', async () => {
    const stack = await startStack();
    const answer = await stack.call('POST', '/api/marketing/sync-users/no-such-run/pause');
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('run_not_found');
  });
});

describe('a pause pending when the run continues as new', () => {
  it('takes effect before the new execution, and the run goes on when resumed', async () => {
    // Leavers batches of 10, one after another; Temporal suggests continuing as new after 60
    // events, so the leavers phase spans executions.
    const stack = await startStack({
      users: 150,
      mix: 'eligible',
      emulator: { rateLimit: 400 },
      worker: { SYNC_BATCH_SIZE: '10' },
    });
    const current = stack;
    const body = { platform: 'resend', list_name: 'Paused at a boundary', mode: 'mirror' };
    const first = await current.call('POST', '/api/marketing/sync', body);
    expect(first.status).toBe(200);
    const listId: string = first.body.list_id;
    await current.db.sql`delete from users where id > 50`;
    // Slow removals: a leavers batch takes seconds.
    await setEmulatorConfig(current.emulator, { rateLimit: 4 });
    const started = await current.call(
      'POST',
      '/api/marketing/sync',
      { platform: 'resend', list_id: listId, mode: 'mirror', max_removals: 100 },
      { prefer: 'respond-async' },
    );
    expect(started.status).toBe(202);
    const runId: string = started.body.runId;
    const handle = current.client.workflow.getHandle(runId);

    // A leavers batch in flight in an execution whose history is long enough that the run
    // continues as new as soon as that batch has ended: the pause arrives before it does.
    await waitFor(
      async () => {
        const description = await handle.describe();
        const removing = (description.raw.pendingActivities ?? []).some(
          (activity) => activity.activityType?.name === 'removeLeavers',
        );
        return removing && description.historyLength >= 56;
      },
      { timeoutMs: 120_000, intervalMs: 50, what: 'a leavers batch before continuing as new' },
    );
    const paused = await current.call('POST', `/api/marketing/sync-users/${runId}/pause`);
    expect(paused.status).toBe(200);
    expect(paused.body).toMatchObject({ runId, status: 'paused' });
    expect((await runStatusOf(current, runId)).status).toBe('paused');

    const resumed = await current.call('POST', `/api/marketing/sync-users/${runId}/resume`);
    expect(resumed.status).toBe(200);
    const ended = await waitForRunEnd(current, runId);
    expect(ended.status).toBe('completed');
    expect(ended.progress).toMatchObject({ processed: 50, removed: 100 });
    const members = await emulatedContacts(current.emulator, `&segment_id=${listId}`);
    expect(members.map((contact) => contact.email.toLowerCase()).sort()).toEqual(
      await eligibleEmails(current),
    );
  }, 240_000);
});

describe('a batch paused from outside', () => {
  it('stops cleanly and resumes where it was, with no failure and nobody lost or doubled', async () => {
    const stack = await startStack({
      users: 240,
      mix: 'eligible',
      // Slow batches, so the pause reaches one in flight (through its next heartbeat).
      emulator: { rateLimit: 6 },
      worker: { SYNC_BATCH_SIZE: '120' },
    });
    const current = stack;
    const started = await current.call(
      'POST',
      '/api/marketing/sync-users',
      { audienceName: 'Paused batch' },
      { prefer: 'respond-async' },
    );
    const runId: string = started.body.runId;
    const handle = current.client.workflow.getHandle(runId);
    const pendingBatch = async () =>
      (await handle.describe()).raw.pendingActivities?.find(
        (activity) => activity.activityType?.name === 'processBatch',
      );
    await waitFor(pendingBatch, { what: 'a batch in flight' });

    const service = current.client.workflowService;
    await service.pauseActivity({
      namespace: 'default',
      execution: { workflowId: runId },
      type: 'processBatch',
      identity: 'pause drill',
      reason: 'drill',
      requestId: randomUUID(),
    });
    await waitFor(async () => (await pendingBatch())?.paused, { what: 'the batch to pause' });
    // The paused attempt stopped sending: its requests settle, then nothing more is sent.
    const settled = await waitFor(
      async () => {
        const before = (await requestLog(current.emulator)).length;
        const batch = await pendingBatch();
        return batch?.paused && batch.lastAttemptCompleteTime && before;
      },
      { what: 'the paused attempt to end' },
    );
    expect((await runStatusOf(current, runId)).status).toBe('running');

    await service.unpauseActivity({
      namespace: 'default',
      execution: { workflowId: runId },
      type: 'processBatch',
      identity: 'pause drill',
      resetAttempts: false,
      resetHeartbeat: false,
    });
    const ended = await waitForRunEnd(current, runId, 150_000);
    expect(ended.status).toBe('completed');
    expect(ended.progress).toMatchObject({ processed: 240, added: 240, failed: 0, skipped: 0 });
    expect((await requestLog(current.emulator)).length).toBeGreaterThan(settled);
    await expectEveryoneOnce(current, ended.audience.id);
  }, 180_000);
});
