import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { errorHandler } from '../../api/errors.js';
import { syncRouter } from '../../api/routes/sync.js';
import { syncUsersRouter } from '../../api/routes/sync-users.js';
import { createSyncLauncher } from '../../api/sync-launcher.js';
import { createPreviewActivities } from '../../db/preview.js';
import { createSql, type Sql } from '../../db/sql.js';
import { waitForRunEnd } from '../support/app-stack.js';
import { waitFor } from '../support/stack.js';
import { type DrillStack, expectRunWhole, startDrillStack, startDrillWorker } from './support.js';

/**
 * MAX_CONCURRENT_RUNS through the sync routes, with a limit of 3 and two API processes (two
 * launchers, each with its own pool) on one database: concurrent requests never start more runs
 * than the limit between them; repeats, joins and paused runs are counted as SPEC says.
 */
const LIMIT = 3;
let stack: DrillStack;
let otherPool: Sql;
const servers: Server[] = [];
const urls: string[] = [];

async function serve(sql: Sql, newRunId?: (kind: string) => string): Promise<string> {
  const launcher = createSyncLauncher({
    sql,
    temporal: stack.client,
    taskQueue: stack.workerConfig.TEMPORAL_TASK_QUEUE,
    waitMs: 0,
    maxConcurrentRuns: LIMIT,
    newRunId,
  });
  const { previewUsers, unknownColumns } = createPreviewActivities({ sql, usersSource: 'users' });
  const app = express();
  app.use(express.json());
  const now = () => new Date();
  const configuredPlatforms = new Set(['resend']);
  app.use(
    '/api/marketing/sync-users',
    syncUsersRouter({ launcher, temporal: stack.client, previewUsers, now, configuredPlatforms }),
  );
  app.use(
    '/api/marketing/sync',
    syncRouter({
      launcher,
      now,
      propertyColumns: { allowed: [], unknownColumns },
      configuredPlatforms,
    }),
  );
  app.use(errorHandler);
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, () => resolve(listening));
  });
  servers.push(server);
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

// Each test gets its own stack (database, task queue, emulator) and its own two API processes.
beforeEach(async () => {
  stack = await startDrillStack({
    users: 20,
    emulator: { rateLimit: 10 },
    worker: { SYNC_BATCH_SIZE: '5' },
    inProcessWorker: false,
  });
  otherPool = createSql(stack.db.url);
  urls.push(await serve(stack.apiSql), await serve(otherPool));
});

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  }
  urls.splice(0);
  await otherPool?.end({ timeout: 5 });
  await stack?.stop();
});

interface Answer {
  status: number;
  retryAfter: string | null;
  // biome-ignore lint/suspicious/noExplicitAny: answers are asserted field by field
  body: any;
}

async function post(
  url: string,
  path: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', prefer: 'respond-async', ...headers },
    body: JSON.stringify(body),
  });
  return {
    status: response.status,
    retryAfter: response.headers.get('retry-after'),
    body: await response.json(),
  };
}

const syncUsers = (i: number, headers: Record<string, string> = {}) =>
  post(urls[i % 2] ?? '', '/api/marketing/sync-users', { audienceName: `Limited ${i}` }, headers);

const runningRecords = async () =>
  (
    await stack.db.sql<{ count: number }[]>`
      select count(*)::int as count from audience_sync.runs where status = 'running'`
  )[0]?.count;

/** Runs (workflow ids) started in Temporal on the stack's queue; continue-as-new is one run. */
async function startedInTemporal(): Promise<number> {
  const ids = new Set<string>();
  const query = `TaskQueue = "${stack.workerConfig.TEMPORAL_TASK_QUEUE}"`;
  for await (const execution of stack.client.workflow.list({ query }))
    ids.add(execution.workflowId);
  return ids.size;
}

/** 20 concurrent requests with Idempotency-Keys, no worker yet: the limit's worth start. */
async function fillToLimit() {
  const answers = await Promise.all(
    Array.from({ length: 20 }, (_, i) => syncUsers(i, { 'idempotency-key': `limited-${i}` })),
  );
  const started: string[] = [];
  const keyOf = new Map<string, string>();
  let refusedKey = '';
  answers.forEach((answer, i) => {
    if (answer.status === 202) {
      started.push(answer.body.runId);
      keyOf.set(answer.body.runId, `limited-${i}`);
    } else refusedKey = `limited-${i}`;
  });
  return { answers, started, keyOf, refusedKey };
}

describe('MAX_CONCURRENT_RUNS', () => {
  it('gives a request whose drawn run id is already taken a run of its own, not the other run', async () => {
    const drawn = ['sync-users-drawn-twice', 'sync-users-drawn-twice', 'sync-users-drawn-again'];
    const url = await serve(stack.apiSql, () => drawn.shift() ?? 'no-more-ids');
    const first = await post(url, '/api/marketing/sync-users', { audienceName: 'Drawn A' });
    const second = await post(url, '/api/marketing/sync-users', { audienceName: 'Drawn B' });
    expect([first.status, second.status]).toEqual([202, 202]);
    expect([first.body.runId, second.body.runId]).toEqual([
      'sync-users-drawn-twice',
      'sync-users-drawn-again',
    ]);
    expect(
      await stack.db.sql`
        select run_id as "runId", list_name as "listName" from audience_sync.runs order by list_name`,
    ).toEqual([
      { runId: 'sync-users-drawn-twice', listName: 'Drawn A' },
      { runId: 'sync-users-drawn-again', listName: 'Drawn B' },
    ]);

    stack.worker = await startDrillWorker(stack.workerConfig, stack.db.sql);
    for (const [answer, name] of [
      [first, 'Drawn A'],
      [second, 'Drawn B'],
    ] as const) {
      await expectRunWhole(stack, await waitForRunEnd(stack, answer.body.runId, 90_000), name);
    }
  });

  it('starts exactly the limit of 20 concurrent requests to two API processes; the rest get 429 too_many_runs', async () => {
    const { answers } = await fillToLimit();
    const accepted = answers.filter((answer) => answer.status === 202);
    const refused = answers.filter((answer) => answer.status === 429);
    expect(accepted).toHaveLength(LIMIT);
    expect(refused).toHaveLength(20 - LIMIT);
    for (const answer of refused) {
      expect(answer.body).toEqual({
        success: false,
        error: {
          code: 'too_many_runs',
          message: expect.stringContaining('MAX_CONCURRENT_RUNS (3)'),
          details: [{ running: LIMIT, limit: LIMIT }],
        },
      });
      expect(answer.retryAfter).toBe('30');
    }
    expect(await runningRecords()).toBe(LIMIT);
    expect(await startedInTemporal()).toBe(LIMIT);
  });

  it('answers a repeated Idempotency-Key of a started run with that run, at the limit too', async () => {
    const { started, keyOf, refusedKey } = await fillToLimit();
    const runId = started[0] ?? '';
    const index = Number(keyOf.get(runId)?.split('-')[1]);
    const repeat = await syncUsers(index, { 'idempotency-key': keyOf.get(runId) ?? '' });
    expect(repeat.status).toBe(202);
    expect(repeat.body.runId).toBe(runId);
    // A refused key has no run: repeating it is a new run, refused while at the limit.
    const refusedIndex = Number(refusedKey.split('-')[1]);
    const again = await syncUsers(refusedIndex, { 'idempotency-key': refusedKey });
    expect(again.status).toBe(429);
    expect(await startedInTemporal()).toBe(LIMIT);
  });

  it('counts a paused run, lets a request join a running list, and starts again once runs end', async () => {
    const { started } = await fillToLimit();
    expect(started).toHaveLength(LIMIT);
    const [pausedRunId, ...others] = started;
    const path = `/api/marketing/sync-users/${pausedRunId}/pause`;
    // Paused before its first batch: the update is taken as soon as a worker runs the run.
    const pausing = fetch(`${urls[0]}${path}`, { method: 'POST' });
    const worker = await startDrillWorker(stack.workerConfig, stack.db.sql);
    stack.worker = worker;
    expect((await pausing).status).toBe(200);
    for (const runId of others)
      expect((await waitForRunEnd(stack, runId)).status).toBe('completed');
    const paused = await stack.call('GET', `/api/marketing/sync-users/${pausedRunId}`);
    expect(paused.body.status).toBe('paused');

    // One place is held by the paused run: of three requests, two start.
    const wave = await Promise.all([20, 21, 22].map((i) => syncUsers(i)));
    expect(wave.map((answer) => answer.status).sort()).toEqual([202, 202, 429]);
    expect(await runningRecords()).toBe(LIMIT);

    // At the limit, a request for the paused run's list joins that run.
    const join = await post(urls[1] ?? '', '/api/marketing/sync', {
      platform: 'resend',
      list_id: paused.body.audience.id,
    });
    expect(join.status).toBe(202);
    expect(join.body.runId).toBe(pausedRunId);

    const resumed = await fetch(`${urls[0]}/api/marketing/sync-users/${pausedRunId}/resume`, {
      method: 'POST',
    });
    expect(resumed.status).toBe(200);
    const waveRuns = wave.filter((answer) => answer.status === 202).map((a) => a.body.runId);
    for (const runId of [pausedRunId ?? '', ...waveRuns]) {
      expect((await waitForRunEnd(stack, runId)).status).toBe('completed');
    }
    await waitFor(async () => (await runningRecords()) === 0, { what: 'no run left running' });
    const after = await syncUsers(23);
    expect(after.status).toBe(202);
    const last = await waitForRunEnd(stack, after.body.runId);

    // Every started run ended once, whole.
    const all = [...started, ...waveRuns, after.body.runId];
    expect(new Set(all).size).toBe(LIMIT + 2 + 1);
    expect(await startedInTemporal()).toBe(all.length);
    await expectRunWhole(stack, last, 'Limited 23');
  }, 120_000);
});
