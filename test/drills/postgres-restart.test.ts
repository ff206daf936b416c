import { createWriteStream, type WriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isDatabaseUnavailable } from '../../db/runs.js';
import { type LocalPostgres, startEmbeddedPostgres } from '../../dev/postgres.js';
import { repeatedCreates, requestLog, waitForRunEnd } from '../support/app-stack.js';
import { waitFor } from '../support/stack.js';
import {
  checkpoints,
  type DrillStack,
  expectRunWhole,
  freePort,
  since,
  startDrillStack,
} from './support.js';

/**
 * Drill: the service's Postgres is stopped in the middle of a run and started again on the same
 * data. Meanwhile the API answers 503 naming the database and /readyz says it is down; then the
 * run goes on by itself (its batches are retried) and completes with everyone exactly once.
 */
const USERS = 600;
const AUDIENCE = 'Survives a Postgres restart';
const dataDir = path.resolve('.data', 'test', `drill-postgres-${process.pid}`);
let port: number;
let log: WriteStream;
let postgres: LocalPostgres | undefined;
let stack: DrillStack | undefined;

const startPostgres = () =>
  startEmbeddedPostgres({
    dataDir: path.join(dataDir, 'postgres'),
    port,
    persistent: true,
    onLog: (line) => log.write(`${line}\n`),
  });

beforeAll(async () => {
  await mkdir(dataDir, { recursive: true });
  log = createWriteStream(path.join(dataDir, 'postgres.log'));
  port = await freePort();
  postgres = await startPostgres();
  stack = await startDrillStack({
    postgresUrl: postgres.url,
    users: USERS,
    emulator: { rateLimit: 50 },
    worker: { SYNC_BATCH_SIZE: '50' },
  });
});

afterAll(async () => {
  await stack?.stop();
  await postgres?.stop();
  log?.end();
  await rm(dataDir, { recursive: true, force: true });
});

describe('Postgres stopped in the middle of a run', () => {
  it('answers 503 while it is down, and the run completes exactly once after it is back', async () => {
    if (!stack || !postgres) throw new Error('the stack did not start');
    const current = stack;
    const started = await current.call(
      'POST',
      '/api/marketing/sync-users',
      { audienceName: AUDIENCE },
      { prefer: 'respond-async' },
    );
    expect(started.status).toBe(202);
    const runId: string = started.body.runId;
    await waitFor(async () => (await checkpoints(current, runId)) >= 3, {
      timeoutMs: 60_000,
      what: 'three checkpointed batches',
    });
    const checkpointsBefore = await checkpoints(current, runId);

    const stopStart = performance.now();
    await postgres.stop();
    postgres = undefined;
    const stopMs = since(stopStart);

    // While the database is down: 503 naming it, and nothing is started.
    const answers = [];
    const sync = await current.call('POST', '/api/marketing/sync-users', { audienceName: 'No' });
    answers.push(sync);
    expect(sync.status).toBe(503);
    expect(sync.body.error).toEqual({
      code: 'database_unavailable',
      message: expect.any(String),
      details: [{ part: 'database' }],
    });
    expect(sync.headers.get('retry-after')).toBe('5');
    const status = await current.call('GET', `/api/marketing/sync-users/${runId}`);
    answers.push(status);
    expect(status.status).toBe(503);
    expect(status.body.error.code).toBe('database_unavailable');
    const ready = await current.call('GET', '/readyz');
    answers.push(ready);
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toEqual({
      database: 'unreachable',
      temporal: 'ok',
      usersSource: 'unknown',
    });
    expect(ready.body.error.details).toEqual([{ part: 'database', status: 'unreachable' }]);

    // Down until the worker has met it: the batch in flight failed and waits for its retry.
    const failedAttempt = await waitFor(
      async () => {
        const description = await current.client.workflow.getHandle(runId).describe();
        const pending = description.raw.pendingActivities ?? [];
        const retrying = pending.find((activity) => (activity.attempt ?? 1) > 1);
        return retrying ? (retrying.attempt ?? 0) : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 100, what: 'a batch attempt to fail on the database' },
    );

    const restartStart = performance.now();
    postgres = await startPostgres();
    const restartMs = since(restartStart);
    const downMs = since(stopStart);
    const readyAgain = await waitFor(
      async () => (await current.call('GET', '/readyz')).status === 200,
      { what: '/readyz to say ready again' },
    );
    expect(readyAgain).toBe(true);
    const readyMs = since(restartStart);
    // The test's own pool may still hold a connection the restart ended: such a probe waits on.
    const checkpointsNow = () =>
      checkpoints(current, runId).catch((error: unknown) => {
        if (isDatabaseUnavailable(error)) return undefined;
        throw error;
      });
    await waitFor(async () => ((await checkpointsNow()) ?? 0) > checkpointsBefore, {
      timeoutMs: 90_000,
      intervalMs: 100,
      what: 'a checkpoint after the restart',
    });
    const recoverMs = since(restartStart);
    const ended = await waitForRunEnd(current, runId, 90_000);
    const whole = await expectRunWhole(current, ended, AUDIENCE);
    expect(whole.population).toBe(USERS);
    // The refused sync left nothing behind.
    const [runs] = await current.db.sql<{ count: number }[]>`
      select count(*)::int as count from audience_sync.runs`;
    expect(runs?.count).toBe(1);

    const requests = await requestLog(current.emulator);
    const resent = repeatedCreates(requests);
    expect(resent.size).toBeLessThanOrEqual(current.workerConfig.SYNC_BATCH_SIZE);
    const figures = {
      drill: 'postgres-stop',
      users: USERS,
      checkpointsBefore,
      stopMs,
      databaseDownMs: downMs,
      restartMs,
      readyAgainAfterRestartMs: readyMs,
      firstCheckpointAfterRestartMs: recoverMs,
      apiAnswersWhileDown: answers.map((answer) => answer.status),
      batchAttemptWhenRestarted: failedAttempt,
      requests: requests.length,
      http429: requests.filter((entry) => entry.status === 429).length,
      resentCreates: resent.size,
      processed: ended.progress.processed,
      added: ended.progress.added,
      skipped: ended.progress.skipped,
      failed: ended.progress.failed,
    };
    process.stdout.write(`drill figures ${JSON.stringify(figures)}\n`);
  }, 180_000);
});
