import { Client, Connection } from '@temporalio/client';
import { afterAll, beforeAll, beforeEach, describe, expect, inject, it } from 'vitest';
import { READY_CHECK_MS } from '../../api/routes/operations.js';
import { type StartedApi, startApiServer } from '../../api/server.js';
import { TEMPORAL_DEADLINES } from '../../client/temporal.js';
import { createUsersTable } from '../../db/demo-users.js';
import { finishRun, insertRun, type NewRun } from '../../db/runs.js';
import { createSql, type Sql } from '../../db/sql.js';
import { createLogger } from '../../telemetry/logger.js';
import {
  connectTestClient,
  TEST_SECRET,
  type TestDatabase,
  testApiConfig,
  uniqueName,
} from '../support/stack.js';
import { expectCallsWithin, temporalCallRecorder } from '../support/temporal-calls.js';
import { createDatabaseOn, freePort } from './support.js';

/**
 * The API while Postgres or Temporal is down: it starts nothing it cannot record, answers 503
 * naming the part with Retry-After in seconds, the status answers from the run record, and
 * /readyz says which part is down.
 */
interface Answer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: answers are asserted field by field
  body: any;
}

async function call(
  api: StartedApi,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const response = await fetch(`${api.url}${path}`, {
    method,
    headers: {
      authorization: `Bearer ${TEST_SECRET}`,
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
  };
}

const expectUnavailable = (answer: Answer, part: 'database' | 'temporal') => {
  expect(answer.status).toBe(503);
  expect(answer.body).toMatchObject({
    success: false,
    error: { code: `${part}_unavailable`, details: [{ part }] },
  });
  expect(Number(answer.headers.get('retry-after'))).toBeGreaterThan(0);
};

const runRecord = (runId: string): NewRun => ({
  runId,
  platform: 'resend',
  syncType: 'all',
  trigger: 'api',
  scheduleId: null,
  listName: 'Outage drill',
  mode: 'add',
  maxRemovals: null,
  dryRun: false,
  properties: {},
  description: null,
  tags: [],
  filterActive: false,
  activeDays: 30,
  activeSince: new Date(),
});

describe('with Postgres down', () => {
  let temporal: Client;
  let sql: Sql;
  let api: StartedApi;
  const queue = uniqueName('queue');

  beforeAll(async () => {
    // Nothing listens there: every query fails to connect, as with a stopped server.
    const deadUrl = `postgres://audience_sync:audience_sync@127.0.0.1:${await freePort()}/gone`;
    sql = createSql(deadUrl);
    temporal = await connectTestClient();
    const config = testApiConfig({ DATABASE_URL: deadUrl, TEMPORAL_TASK_QUEUE: queue });
    api = await startApiServer({ config, sql, temporal, logger: createLogger('silent') });
  });

  afterAll(async () => {
    await api?.close();
    await sql?.end({ timeout: 1 });
    await temporal?.connection.close();
  });

  const startedOnQueue = async () =>
    (await temporal.workflow.count(`TaskQueue = "${queue}"`)).count;

  it.each([
    [
      'POST /sync-users, respond-async',
      '/api/marketing/sync-users',
      {},
      { prefer: 'respond-async' },
    ],
    ['POST /sync-users, waiting', '/api/marketing/sync-users', {}, {}],
    [
      'POST /sync with a key',
      '/api/marketing/sync',
      { platform: 'resend' },
      { 'idempotency-key': 'k-1' },
    ],
  ])(
    '%s answers 503 database_unavailable and starts nothing in Temporal',
    async (_case, path, body, headers) => {
      const answer = await call(api, 'POST', path, body, headers);
      expectUnavailable(answer, 'database');
      expect(await startedOnQueue()).toBe(0);
    },
  );

  it('answers the status route with 503 database_unavailable', async () => {
    const answer = await call(api, 'GET', '/api/marketing/sync-users/sync-users-unknown');
    expectUnavailable(answer, 'database');
  });

  it('says at /readyz that the database is down', async () => {
    const answer = await call(api, 'GET', '/readyz');
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({
      success: false,
      error: { code: 'not_ready', details: [{ part: 'database', status: 'unreachable' }] },
      status: 'not_ready',
      checks: { database: 'unreachable', temporal: 'ok' },
    });
  });
});

describe('with Temporal down', () => {
  let db: TestDatabase;
  let temporal: Client;
  let api: StartedApi;
  // Every call the API makes to Temporal, with its deadline: the API answers without Temporal
  // once a call's deadline passes, so each deadline bounds how long an answer waits on Temporal.
  const temporalCalls = temporalCallRecorder();
  const completedRunId = uniqueName('sync-users-completed');
  const runningRunId = uniqueName('sync-users-running');

  beforeAll(async () => {
    db = await createDatabaseOn(inject('postgresUrl'));
    // A deployment's users relation: only Temporal is down here.
    await createUsersTable(db.sql);
    await insertRun(db.sql, runRecord(completedRunId), []);
    await db.sql`update audience_sync.runs set processed = 3, added = 2, skipped = 1, total = 3
      where run_id = ${completedRunId}`;
    await finishRun(db.sql, completedRunId, 'completed');
    await insertRun(db.sql, runRecord(runningRunId), []);
    await db.sql`update audience_sync.runs set list_id = 'seg-held', processed = 1, added = 1
      where run_id = ${runningRunId}`;
    // A connection that never reached a server: every call fails as with a Temporal that is down.
    // Without the client's gRPC retries: a retry timer still pending when afterAll closes the
    // connection fires on the closed channel and throws outside any test.
    const connection = Connection.lazy({
      address: `127.0.0.1:${await freePort()}`,
      interceptors: [temporalCalls.interceptor],
    });
    temporal = new Client({ connection, namespace: 'default' });
    const config = testApiConfig({ DATABASE_URL: db.url });
    api = await startApiServer({ config, sql: db.sql, temporal, logger: createLogger('silent') });
  });

  afterAll(async () => {
    await api?.close();
    await temporal?.connection.close();
    await db?.drop();
  });

  beforeEach(() => {
    temporalCalls.take();
  });

  const runCount = async () =>
    (await db.sql<{ count: number }[]>`select count(*)::int as count from audience_sync.runs`)[0]
      ?.count;

  it('answers the status route from the run record, saying Temporal is unavailable, after asking it for at most the describe deadline', async () => {
    const completed = await call(api, 'GET', `/api/marketing/sync-users/${completedRunId}`);
    expect(completed.status).toBe(200);
    expect(completed.body).toMatchObject({
      success: true,
      runId: completedRunId,
      status: 'completed',
      temporal: 'unavailable',
      progress: { total: 3, processed: 3, added: 2, skipped: 1, failed: 0 },
      result: { added: 2, skipped: 1, failed: 0 },
    });
    expectCallsWithin(
      temporalCalls.take(),
      ['DescribeWorkflowExecution'],
      TEMPORAL_DEADLINES.describeMs,
    );
    const running = await call(api, 'GET', `/api/marketing/sync-users/${runningRunId}`);
    expect(running.status).toBe(200);
    expect(running.body).toMatchObject({
      status: 'running',
      temporal: 'unavailable',
      audience: { id: 'seg-held' },
    });
    expectCallsWithin(
      temporalCalls.take(),
      ['DescribeWorkflowExecution'],
      TEMPORAL_DEADLINES.describeMs,
    );
  });

  it('answers 503 temporal_unavailable for a run it has no record of, after the describe deadline at most', async () => {
    const answer = await call(api, 'GET', '/api/marketing/sync-users/sync-users-not-recorded');
    expectUnavailable(answer, 'temporal');
    expectCallsWithin(
      temporalCalls.take(),
      ['DescribeWorkflowExecution'],
      TEMPORAL_DEADLINES.describeMs,
    );
  });

  it.each([
    [
      'POST /sync-users',
      '/api/marketing/sync-users',
      {},
      { prefer: 'respond-async' },
      'StartWorkflowExecution',
    ],
    ['POST /sync-users, waiting', '/api/marketing/sync-users', {}, {}, 'StartWorkflowExecution'],
    [
      'POST /sync into a held list',
      '/api/marketing/sync',
      { platform: 'resend', list_id: 'seg-held' },
      {},
      'DescribeWorkflowExecution',
    ],
  ])(
    '%s answers 503 temporal_unavailable after one call with the call deadline, and keeps no record',
    async (_case, path, body, headers, method) => {
      const before = await runCount();
      const answer = await call(api, 'POST', path, body, headers);
      expectUnavailable(answer, 'temporal');
      expectCallsWithin(temporalCalls.take(), [method], TEMPORAL_DEADLINES.callMs);
      expect(await runCount()).toBe(before);
    },
  );

  it('answers cancel, pause and resume with 503 temporal_unavailable after the describe deadline at most', async () => {
    for (const [method, suffix] of [
      ['DELETE', ''],
      ['POST', '/pause'],
      ['POST', '/resume'],
    ] as const) {
      const answer = await call(api, method, `/api/marketing/sync-users/${runningRunId}${suffix}`);
      expectUnavailable(answer, 'temporal');
      // The run's status is read first; Temporal not answering it, nothing more is asked.
      expectCallsWithin(
        temporalCalls.take(),
        ['DescribeWorkflowExecution'],
        TEMPORAL_DEADLINES.describeMs,
      );
    }
  });

  it('answers the schedule routes with the call deadline, not after the SDK retries for 20 s', async () => {
    const answer = await call(api, 'GET', '/api/marketing/schedules');
    expect(answer.status).toBe(503);
    expect(answer.body.error.code).toBe('temporal_unavailable');
    expectCallsWithin(temporalCalls.take(), ['ListSchedules'], TEMPORAL_DEADLINES.callMs);
  });

  it('says at /readyz that Temporal is down, having asked it with the readiness deadline', async () => {
    const answer = await call(api, 'GET', '/readyz');
    expect(answer.status).toBe(503);
    expect(answer.body).toMatchObject({
      error: { code: 'not_ready', details: [{ part: 'temporal', status: 'unreachable' }] },
      checks: { database: 'ok', temporal: 'unreachable' },
    });
    expectCallsWithin(temporalCalls.take(), ['GetSystemInfo'], READY_CHECK_MS);
  });
});
