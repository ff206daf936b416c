import { rm } from 'node:fs/promises';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { READY_CHECK_MS } from '../../api/routes/operations.js';
import { TEMPORAL_DEADLINES } from '../../client/temporal.js';
import { SEARCH_ATTRIBUTES } from '../../common/search-attributes.js';
import { type LocalTemporal, startTemporalDevServer } from '../../dev/temporal.js';
import { repeatedCreates, requestLog, waitForRunEnd } from '../support/app-stack.js';
import { waitFor } from '../support/stack.js';
import { expectCallsWithin } from '../support/temporal-calls.js';
import {
  checkpoints,
  type DrillStack,
  expectRunWhole,
  findProcess,
  freePort,
  installDrillRuntime,
  since,
  startDrillStack,
} from './support.js';

/**
 * Drill: the Temporal server is killed (SIGKILL) in the middle of a run and started again on the
 * same data. Meanwhile the API answers from the run record and refuses new syncs with 503; then
 * the worker reconnects by itself and the run completes with everyone exactly once.
 */
const USERS = 1000;
const AUDIENCE = 'Survives a Temporal crash';
const dataDir = path.resolve('.data', 'test', `drill-temporal-${process.pid}`);
let port: number;
let temporal: LocalTemporal | undefined;
let stack: DrillStack | undefined;

const startServer = () =>
  startTemporalDevServer({
    port,
    dbFilename: path.join(dataDir, 'temporal.sqlite'),
    searchAttributes: SEARCH_ATTRIBUTES,
  });

beforeAll(async () => {
  installDrillRuntime();
  port = await freePort();
  temporal = await startServer();
  stack = await startDrillStack({
    temporalAddress: temporal.address,
    users: USERS,
    emulator: { rateLimit: 50 },
    worker: { SYNC_BATCH_SIZE: '50' },
  });
});

afterAll(async () => {
  await stack?.stop();
  await temporal?.stop();
  await rm(dataDir, { recursive: true, force: true });
});

describe('the Temporal server killed in the middle of a run', () => {
  it('comes back on the same data, the worker reconnects and the run completes exactly once', async () => {
    if (!stack || !temporal) throw new Error('the stack did not start');
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

    const pid = findProcess(['start-dev', '--port', String(port)]);
    if (!pid) throw new Error(`no Temporal dev server listens on port ${port}`);
    process.kill(pid, 'SIGKILL');
    const killedAt = performance.now();
    await waitFor(() => findProcess(['start-dev', '--port', String(port)]) === undefined, {
      what: 'the killed server to be gone',
    });
    const checkpointsAtKill = await checkpoints(current, runId);
    // The SDK's handle on the dead server is of no more use; its teardown finds nothing to stop.
    await temporal.stop().catch(() => {});
    temporal = undefined;

    // While Temporal is down: the status answers from the record, new syncs get 503, each after
    // asking Temporal with a deadline (not after the SDK's retries of a refused connection).
    current.temporalCalls.take();
    const statusStart = performance.now();
    const status = await current.call('GET', `/api/marketing/sync-users/${runId}`);
    const statusMs = since(statusStart);
    expect(status.status).toBe(200);
    expect(status.body).toMatchObject({ runId, status: 'running', temporal: 'unavailable' });
    expectCallsWithin(
      current.temporalCalls.take(),
      ['DescribeWorkflowExecution'],
      TEMPORAL_DEADLINES.describeMs,
    );
    const syncStart = performance.now();
    const refused = await current.call('POST', '/api/marketing/sync-users', { audienceName: 'No' });
    const syncMs = since(syncStart);
    expect(refused.status).toBe(503);
    expect(refused.body.error.code).toBe('temporal_unavailable');
    expect(refused.headers.get('retry-after')).toBe('5');
    expectCallsWithin(
      current.temporalCalls.take(),
      ['StartWorkflowExecution'],
      TEMPORAL_DEADLINES.callMs,
    );
    const ready = await current.call('GET', '/readyz');
    expect(ready.status).toBe(503);
    expect(ready.body.checks).toEqual({
      database: 'ok',
      temporal: 'unreachable',
      usersSource: 'ok',
    });
    expectCallsWithin(current.temporalCalls.take(), ['GetSystemInfo'], READY_CHECK_MS);

    const restartStart = performance.now();
    temporal = await startServer();
    const restartMs = since(restartStart);
    const downMs = since(killedAt);
    await waitFor(async () => (await checkpoints(current, runId)) > checkpointsAtKill, {
      timeoutMs: 90_000,
      intervalMs: 100,
      what: 'a checkpoint after the restart',
    });
    const recoverMs = since(restartStart);
    const ended = await waitForRunEnd(current, runId, 90_000);
    const whole = await expectRunWhole(current, ended, AUDIENCE);
    expect(whole.population).toBe(USERS);

    // At most the batch in flight at the crash was sent again.
    const log = await requestLog(current.emulator);
    const resent = repeatedCreates(log);
    expect(resent.size).toBeLessThanOrEqual(current.workerConfig.SYNC_BATCH_SIZE);
    const figures = {
      drill: 'temporal-sigkill',
      users: USERS,
      checkpointsAtKill,
      statusWhileDownMs: statusMs,
      syncRefusedWhileDownMs: syncMs,
      serverDownMs: downMs,
      restartMs,
      firstCheckpointAfterRestartMs: recoverMs,
      requests: log.length,
      http429: log.filter((entry) => entry.status === 429).length,
      resentCreates: resent.size,
      processed: ended.progress.processed,
      added: ended.progress.added,
      skipped: ended.progress.skipped,
      failed: ended.progress.failed,
    };
    process.stdout.write(`drill figures ${JSON.stringify(figures)}\n`);
  }, 180_000);
});
