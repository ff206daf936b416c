import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MAX_CONCURRENT_RUNS } from '../../api/sync-launcher.js';
import { emulatorAdmin, requestLog, waitForRunEnd } from '../support/app-stack.js';
import { TEST_SECRET } from '../support/stack.js';
import {
  type DrillStack,
  expectRunWhole,
  since,
  startDrillStack,
  startDrillWorker,
} from './support.js';

/**
 * Drill: 50 sync requests at once, each into an audience of its own, against the API as it is
 * deployed (its own pool of 10 connections). Every answer is 202 or 429 too_many_runs, as many
 * 202s as MAX_CONCURRENT_RUNS allows, nothing fails, and every started run completes once. The
 * refused clients try again when runs have ended, and get their runs.
 */
const USERS = 30;
const REQUESTS = 50;
const LIMIT = DEFAULT_MAX_CONCURRENT_RUNS;
let stack: DrillStack;

beforeAll(async () => {
  // No worker yet: no run can end during the burst, so the count of 202s is exact.
  stack = await startDrillStack({ users: USERS, inProcessWorker: false });
});

afterAll(async () => {
  await stack?.stop();
});

interface Timed {
  name: string;
  status: number;
  ms: number;
  retryAfter: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: answers are asserted field by field
  body: any;
}

async function burst(names: string[]): Promise<Timed[]> {
  return Promise.all(
    names.map(async (name) => {
      const started = performance.now();
      const response = await fetch(`${stack.api.url}/api/marketing/sync-users`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${TEST_SECRET}`,
          'content-type': 'application/json',
          prefer: 'respond-async',
        },
        body: JSON.stringify({ audienceName: name }),
      });
      return {
        name,
        status: response.status,
        ms: since(started),
        retryAfter: response.headers.get('retry-after'),
        body: await response.json(),
      };
    }),
  );
}

const apiConnections = async () =>
  (
    await stack.db.sql<{ count: number }[]>`
      select count(*)::int as count from pg_stat_activity
      where application_name = 'audience-sync-drill-api'`
  )[0]?.count ?? 0;

function expectConsistent(answers: Timed[], free: number): Timed[] {
  expect(answers.filter((answer) => answer.status >= 500)).toEqual([]);
  const accepted = answers.filter((answer) => answer.status === 202);
  const refused = answers.filter((answer) => answer.status === 429);
  expect(accepted.length + refused.length).toBe(answers.length);
  expect(accepted).toHaveLength(Math.min(free, answers.length));
  for (const answer of refused) {
    expect(answer.body.error.code).toBe('too_many_runs');
    expect(answer.body.error.details).toEqual([{ running: LIMIT, limit: LIMIT }]);
    expect(answer.retryAfter).toBe('30');
  }
  return accepted;
}

describe('50 sync requests at once', () => {
  it('answers each with 202 or 429 too_many_runs as the limit says, and every started run completes once', async () => {
    const names = Array.from({ length: REQUESTS }, (_, i) => `Burst ${i}`);
    let peakConnections = 0;
    let sampling = true;
    const sampler = (async () => {
      while (sampling) {
        peakConnections = Math.max(peakConnections, await apiConnections());
        await new Promise((resolve) => setImmediate(resolve));
      }
    })();
    const burstStart = performance.now();
    const first = await burst(names);
    const burstMs = since(burstStart);
    sampling = false;
    await sampler;
    const firstAccepted = expectConsistent(first, LIMIT);
    expect(peakConnections).toBeLessThanOrEqual(10);

    // The refused clients come back once the started runs have ended.
    const workerStart = performance.now();
    stack.worker = await startDrillWorker(stack.workerConfig, stack.db.sql);
    const firstRuns = await Promise.all(
      firstAccepted.map((answer) => waitForRunEnd(stack, answer.body.runId, 90_000)),
    );
    const firstWaveMs = since(workerStart);
    // No worker during the second burst either: a run that ended in the middle of it would free
    // a place, and the count of 202s would depend on timing.
    await stack.worker?.stop();
    stack.worker = undefined;
    const retryStart = performance.now();
    const retried = await burst(first.filter((answer) => answer.status === 429).map((a) => a.name));
    const secondAccepted = expectConsistent(retried, LIMIT);
    stack.worker = await startDrillWorker(stack.workerConfig, stack.db.sql);
    const secondRuns = await Promise.all(
      secondAccepted.map((answer) => waitForRunEnd(stack, answer.body.runId, 90_000)),
    );
    const secondWaveMs = since(retryStart);

    // Every started run ended once, whole, in an audience of its own; refused ones made nothing.
    const started = [...firstAccepted, ...secondAccepted];
    expect(new Set(started.map((answer) => answer.body.runId)).size).toBe(started.length);
    const runs = [...firstRuns, ...secondRuns];
    for (const [i, run] of runs.entries()) {
      await expectRunWhole(stack, run, started[i]?.name ?? '');
    }
    const segments = await emulatorAdmin<{ data: { name: string }[] }>(stack.emulator, '/segments');
    expect(segments.data.map((segment) => segment.name).sort()).toEqual(
      started.map((answer) => answer.name).sort(),
    );
    const [records] = await stack.db.sql<{ count: number; completed: number }[]>`
      select count(*)::int as count, count(*) filter (where status = 'completed')::int as completed
      from audience_sync.runs`;
    expect(records).toEqual({ count: started.length, completed: started.length });
    for (const answer of started) {
      const description = await stack.client.workflow.getHandle(answer.body.runId).describe();
      expect(description.status.name).toBe('COMPLETED');
    }

    const log = await requestLog(stack.emulator);
    const figures = {
      drill: 'fifty-at-once',
      limit: LIMIT,
      requests: REQUESTS,
      firstBurst: { accepted: firstAccepted.length, http429: first.length - firstAccepted.length },
      burstMs,
      slowestAnswerMs: Math.max(...first.map((answer) => answer.ms)),
      peakApiConnections: peakConnections,
      firstWaveDoneAfterWorkerStartMs: firstWaveMs,
      retry: { accepted: secondAccepted.length, http429: retried.length - secondAccepted.length },
      secondWaveMs,
      runsCompleted: runs.length,
      resendRequests: log.length,
      resend429: log.filter((entry) => entry.status === 429).length,
    };
    process.stdout.write(`drill figures ${JSON.stringify(figures)}\n`);
  }, 150_000);
});
