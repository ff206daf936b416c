import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedApi, startApiServer } from '../../api/server.js';
import { spawnWorkerProcess, type WorkerProcess } from '../../dev/worker-process.js';
import { createLogger } from '../../telemetry/logger.js';
import { emulatedContacts, requestLog, waitForRunEnd } from '../support/app-stack.js';
import { TEST_SECRET, uniqueName, waitFor } from '../support/stack.js';
import { type DrillStack, requestsPerSecond, since, startDrillStack } from './support.js';

/**
 * Drill: two worker processes, each running the batches of its own run at the same time, share
 * one Resend account's rate limit through Postgres. Each polls a task queue of its own: on one
 * queue Temporal hands a run's batches to the worker that runs its workflow (sticky workflow tasks
 * and eager activities), so both runs could land on one worker; the limit is the account's
 * whatever the queue, which is what is shared here.
 *
 * What the limiter guarantees: it never grants more than the limit in any sliding second of its
 * own clock (plus a 5 ms margin). Resend (and the emulator) count arrivals in fixed one-second
 * windows, so a request that leaves more than the margin late (an event-loop stall on a loaded
 * machine) can land in the next window beside that window's full quota and get a 429. The sync
 * absorbs those: it waits out `retry-after` and sends again. So the drill asserts that no window
 * admitted more than the limit, that 429s stay a small share of the requests, every one of them
 * absorbed (nobody failed or lost), and that both workers did the work.
 */
const LIMIT = 10;
const USERS = 240;
let stack: DrillStack;
/** The API as a second deployment sees it: the same database and account, its own queue. */
let secondApi: StartedApi;
const secondQueue = uniqueName('queue');
const workers: WorkerProcess[] = [];

beforeAll(async () => {
  stack = await startDrillStack({
    users: USERS,
    emulator: { rateLimit: LIMIT },
    worker: { SYNC_BATCH_SIZE: '20', LOG_LEVEL: 'info' },
    inProcessWorker: false,
  });
  secondApi = await startApiServer({
    config: { ...stack.apiConfig, TEMPORAL_TASK_QUEUE: secondQueue },
    sql: stack.apiSql,
    temporal: stack.client,
    logger: createLogger('silent'),
  });
});

afterAll(async () => {
  for (const worker of workers) {
    if (worker.child.exitCode === null && worker.child.signalCode === null) {
      worker.child.kill('SIGTERM');
    }
    await worker.exited;
  }
  await secondApi?.close();
  await stack?.stop();
});

describe('two workers sharing the rate limit', () => {
  it('never go over it together, and absorb the few 429s that arrival jitter causes', async () => {
    workers.push(
      spawnWorkerProcess(stack.workerConfig),
      spawnWorkerProcess({ ...stack.workerConfig, TEMPORAL_TASK_QUEUE: secondQueue }),
    );
    await waitFor(() => workers.every((worker) => worker.output().includes('worker started')), {
      timeoutMs: 60_000,
      what: 'both workers to start',
    });

    const ids = (
      await stack.db.sql<{ id: string }[]>`select id::text as id from users order by id`
    ).map((row) => row.id);
    const halves = [ids.slice(0, USERS / 2), ids.slice(USERS / 2)];
    const started = performance.now();
    const answers = await Promise.all(
      halves.map(async (userIds, i) => {
        const response = await fetch(
          `${(i === 0 ? stack.api : secondApi).url}/api/marketing/sync`,
          {
            method: 'POST',
            headers: {
              authorization: `Bearer ${TEST_SECRET}`,
              'content-type': 'application/json',
              prefer: 'respond-async',
            },
            body: JSON.stringify({
              platform: 'resend',
              sync_type: 'specific',
              user_ids: userIds,
              list_name: `Half ${i}`,
            }),
          },
        );
        return { status: response.status, body: (await response.json()) as { runId: string } };
      }),
    );
    expect(answers.map((answer) => answer.status)).toEqual([202, 202]);
    const runIds: string[] = answers.map((answer) => answer.body.runId);
    const ended = await Promise.all(runIds.map((runId) => waitForRunEnd(stack, runId, 110_000)));
    const wallMs = since(started);

    for (const [i, run] of ended.entries()) {
      expect(run.status).toBe('completed');
      expect(run.progress).toMatchObject({ processed: USERS / 2, added: USERS / 2, failed: 0 });
      const members = await emulatedContacts(stack.emulator, `&segment_id=${run.audience.id}`);
      expect(members).toHaveLength(USERS / 2);
      expect(run.audience.name).toBe(`Half ${i}`);
    }
    const everyone = await emulatedContacts(stack.emulator);
    expect(new Set(everyone.map((contact) => contact.email.toLowerCase())).size).toBe(USERS);

    // Both processes ran batches.
    const identities = new Set<string>();
    for (const runId of runIds) {
      const history = await stack.client.workflow.getHandle(runId).fetchHistory();
      for (const event of history.events ?? []) {
        const identity = event.activityTaskStartedEventAttributes?.identity;
        if (identity) identities.add(identity.split('@')[0] ?? '');
      }
    }
    for (const worker of workers) expect(identities).toContain(String(worker.child.pid));

    const log = await requestLog(stack.emulator);
    const admitted = requestsPerSecond(log, (entry) => entry.status !== 429);
    const arrivals = requestsPerSecond(log);
    const http429 = log.filter((entry) => entry.status === 429).length;
    expect(Math.max(...admitted.values())).toBeLessThanOrEqual(LIMIT);
    expect(http429).toBeLessThanOrEqual(Math.max(3, Math.ceil(log.length * 0.02)));
    // Each request refused with a 429 was sent again and went through: none is missing above.

    // Arrivals per sliding second, for the figures: what the limiter itself keeps to.
    const times = log.map((entry) => Date.parse(entry.at)).sort((a, b) => a - b);
    let slidingMax = 0;
    for (let i = 0, j = 0; i < times.length; i += 1) {
      while ((times[j] ?? Infinity) < (times[i] ?? 0) - 999) j += 1;
      slidingMax = Math.max(slidingMax, i - j + 1);
    }
    const busySeconds = [...admitted.values()].filter((count) => count >= LIMIT - 1).length;
    const figures = {
      drill: 'two-workers-one-limit',
      limit: LIMIT,
      users: USERS,
      requests: log.length,
      http429,
      seconds: admitted.size,
      maxAdmittedPerWindow: Math.max(...admitted.values()),
      maxArrivalsPerWindow: Math.max(...arrivals.values()),
      maxArrivalsPerSlidingSecond: slidingMax,
      windowsAtLimit: busySeconds,
      wallMs,
      workers: identities.size,
    };
    process.stdout.write(`drill figures ${JSON.stringify(figures)}\n`);
  }, 150_000);
});
