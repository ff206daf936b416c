import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppStack,
  emulatedContacts,
  repeatedCreates,
  requestLog,
  startAppStack,
} from '../support/app-stack.js';
import { waitFor } from '../support/stack.js';
import { killableWorkers } from '../support/worker-processes.js';

let stack: AppStack;
const workers = killableWorkers();

beforeAll(async () => {
  stack = await startAppStack({
    users: 2000,
    mix: 'eligible',
    emulator: { rateLimit: 100 },
    inProcessWorker: false,
  });
});

afterAll(async () => {
  await workers.stopAll();
  await stack?.stop();
});

const checkpoints = async (runId: string): Promise<number> => {
  const [row] = await stack.db.sql<{ count: number }[]>`
    select count(*)::int as count from audience_sync.run_batches where run_id = ${runId}`;
  return row?.count ?? 0;
};

describe('a worker killed in the middle of a run', () => {
  it('resumes on another worker from the last checkpoint, resending at most one batch', async () => {
    const first = workers.start(stack.workerConfig);
    const started = await stack.call(
      'POST',
      '/api/marketing/sync-users',
      { audienceName: 'Survives crashes' },
      { prefer: 'respond-async' },
    );
    expect(started.status).toBe(202);
    const runId: string = started.body.runId;

    await waitFor(async () => (await checkpoints(runId)) >= 3, {
      timeoutMs: 120_000,
      what: 'three checkpointed batches',
    });
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    const checkpointsAtCrash = await checkpoints(runId);
    expect(checkpointsAtCrash).toBeLessThan(20);

    workers.start(stack.workerConfig);
    const finished = await waitFor(
      async () => {
        const status = await stack.call('GET', `/api/marketing/sync-users/${runId}`);
        return status.body.status !== 'running' && status.body;
      },
      { timeoutMs: 240_000, intervalMs: 500, what: 'the run to finish on the second worker' },
    );
    expect(finished).toMatchObject({ status: 'completed' });
    expect(finished.progress).toMatchObject({
      processed: 2000,
      added: 2000,
      failed: 0,
      skipped: 0,
    });

    const members = await emulatedContacts(stack.emulator, `&segment_id=${finished.audience.id}`);
    expect(members).toHaveLength(2000);
    const everyone = await emulatedContacts(stack.emulator);
    expect(new Set(everyone.map((contact) => contact.email.toLowerCase())).size).toBe(2000);

    const resent = repeatedCreates(await requestLog(stack.emulator));
    expect(resent.size).toBeLessThanOrEqual(stack.workerConfig.SYNC_BATCH_SIZE);
    expect([...resent.values()].every((count) => count === 2)).toBe(true);
    // 20 full batches, then one that finds no users left.
    expect(await checkpoints(runId)).toBe(21);
    // Its own waits allow minutes on a loaded machine; so does the test.
  }, 420_000);
});
