import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppStack,
  eligibleEmails,
  emulatedContacts,
  requestLog,
  startAppStack,
  waitForRunEnd,
} from '../support/app-stack.js';
import { waitFor } from '../support/stack.js';
import { killableWorkers } from '../support/worker-processes.js';

let stack: AppStack;
const workers = killableWorkers();

beforeAll(async () => {
  stack = await startAppStack({
    users: 500,
    mix: 'eligible',
    emulator: { rateLimit: 200 },
    inProcessWorker: false,
  });
});

afterAll(async () => {
  await workers.stopAll();
  await stack?.stop();
});

const startWorker = () => {
  const worker = workers.start(stack.workerConfig);
  return worker;
};

const handledLeavers = async (runId: string): Promise<number> => {
  const [row] = await stack.db.sql<{ count: number }[]>`
    select count(*)::int as count from audience_sync.run_leavers
    where run_id = ${runId} and outcome is not null`;
  return row?.count ?? 0;
};

describe('a worker killed in the middle of a mirror run', () => {
  it('resumes on another worker and removes each leaver once', async () => {
    const first = startWorker();
    const synced = await stack.call(
      'POST',
      '/api/marketing/sync',
      { platform: 'resend', list_name: 'Mirrored through a crash', mode: 'mirror' },
      { prefer: 'respond-async' },
    );
    expect(synced.status).toBe(202);
    const firstRun = await waitForRunEnd(stack, synced.body.runId, 240_000);
    expect(firstRun).toMatchObject({ status: 'completed', progress: { added: 500 } });
    const listId: string = firstRun.audience.id;

    const leavers = await stack.db.sql<{ id: string; email: string }[]>`
      update users set deleted_at = now()
      where id in (select id from users order by id limit 200)
      returning id::text, lower(btrim(email)) as email`;
    const before = (await requestLog(stack.emulator)).at(-1)?.seq ?? 0;
    // Slow enough that the worker dies with removals done and removals to do.
    stack.emulator.setRateLimit(20);
    const started = await stack.call(
      'POST',
      '/api/marketing/sync',
      { platform: 'resend', list_id: listId, mode: 'mirror' },
      { prefer: 'respond-async' },
    );
    expect(started.status).toBe(202);
    const runId: string = started.body.runId;
    await waitFor(async () => (await handledLeavers(runId)) >= 40, {
      timeoutMs: 180_000,
      intervalMs: 100,
      what: 'forty leavers handled',
    });
    first.child.kill('SIGKILL');
    expect(await first.exited).toBe('SIGKILL');
    expect(await handledLeavers(runId)).toBeLessThan(200);

    startWorker();
    const finished = await waitForRunEnd(stack, runId, 240_000);
    stack.emulator.setRateLimit(200);
    expect(finished).toMatchObject({
      status: 'completed',
      progress: { processed: 300, added: 300, removed: 200, unsubscribed: 0 },
    });

    const members = (await emulatedContacts(stack.emulator, `&segment_id=${listId}`))
      .map((contact) => contact.email.toLowerCase())
      .sort();
    expect(members).toEqual(await eligibleEmails(stack));
    const outcomes = await stack.db.sql<{ userId: string; outcome: string }[]>`
      select user_id as "userId", outcome from audience_sync.run_leavers where run_id = ${runId}
      order by user_id`;
    expect(outcomes.map((row) => row.userId).sort()).toEqual(leavers.map((u) => u.id).sort());
    expect(new Set(outcomes.map((row) => row.outcome))).toEqual(new Set(['removed']));

    // Each leaver's removal was sent once, apart from those in flight when the worker died.
    const removals = new Map<string, number>();
    for (const entry of await requestLog(stack.emulator, `&since_seq=${before}`)) {
      if (entry.method === 'DELETE' && entry.path.endsWith(`/segments/${listId}`)) {
        removals.set(entry.path, (removals.get(entry.path) ?? 0) + 1);
      }
    }
    expect(removals.size).toBe(200);
    const resent = [...removals.values()].filter((count) => count > 1);
    expect(resent.length).toBeLessThanOrEqual(stack.workerConfig.SYNC_BATCH_SIZE);
    expect(resent.every((count) => count === 2)).toBe(true);
  }, 600_000);
});
