import { ScheduleNotFoundError } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer } from '../../api/server.js';
import { createLogger } from '../../telemetry/logger.js';
import { type AppStack, apiCaller, startAppStack, waitForRunEnd } from '../support/app-stack.js';
import { uniqueName, waitFor } from '../support/stack.js';

/**
 * SPEC's limits around schedules and runs, on the real stack with MAX_CONCURRENT_RUNS and
 * MAX_CONCURRENT_DRY_RUNS of 1 for the API and the worker alike. A run is kept running by making
 * the emulator fail the request it is retrying (an outage the run waits out), never by a sleep.
 */
let stack: AppStack;
const created: string[] = [];

beforeAll(async () => {
  const limits = { MAX_CONCURRENT_RUNS: '1', MAX_CONCURRENT_DRY_RUNS: '1' };
  stack = await startAppStack({ users: 5, worker: limits, api: limits });
});

afterEach(async () => {
  await setFaults({});
  for (const id of created.splice(0)) await stack.call('DELETE', `/api/marketing/schedules/${id}`);
  // Every run a test left running is cancelled, so the next test starts with free places.
  const running = await stack.db.sql<{ runId: string }[]>`
    select run_id as "runId" from audience_sync.runs where status = 'running'`;
  for (const { runId } of running) {
    await stack.call('DELETE', `/api/marketing/sync-users/${runId}`);
    await waitForRunEnd(stack, runId);
  }
});

afterAll(async () => {
  await stack?.stop();
});

async function setFaults(faults: Record<string, unknown>): Promise<void> {
  const response = await fetch(`${stack.emulator.url}/_emulator/faults`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(faults),
  });
  if (!response.ok) throw new Error(`setting faults answered ${response.status}`);
}

/**
 * Resend's top-level routes (creating a segment, listing contacts) answer 500 until the faults are
 * cleared: runs, dry ones too, wait out the outage in their preparation.
 */
const platformDown = () =>
  setFaults({ serverErrorRate: 1, serverErrorRoute: { path: '/:resource' } });

async function createSchedule(
  body: Record<string, unknown> = {},
  call: AppStack['call'] = stack.call,
) {
  const scheduleId = uniqueName('limits').replaceAll('_', '-');
  const answer = await call('POST', '/api/marketing/schedules', {
    scheduleId,
    every: '6h',
    paused: true,
    sync: { platform: 'resend', list_name: `List of ${scheduleId}` },
    ...body,
  });
  if (answer.status === 201) created.push(scheduleId);
  return { scheduleId, answer };
}

const runStatus = (runId: string) =>
  stack.call('GET', `/api/marketing/sync-users/${encodeURIComponent(runId)}`);

describe('POST /schedules/:id/trigger', () => {
  it('answers the run it started, and the run still running when triggered again', async () => {
    await platformDown();
    const { scheduleId } = await createSchedule();
    const first = await stack.call('POST', `/api/marketing/schedules/${scheduleId}/trigger`);
    expect(first.status).toBe(202);
    const runId: string = first.body.runId;
    expect(runId.startsWith(`${scheduleId}-`)).toBe(true);
    expect(first.body).toMatchObject({
      success: true,
      scheduleId,
      started: true,
      statusUrl: `/api/marketing/sync-users/${encodeURIComponent(runId)}`,
    });
    const status = await stack.call('GET', first.body.statusUrl);
    expect(status.body).toMatchObject({ runId, status: 'running' });
    // Begun (recorded, holding its place) before the next trigger and the clean-up look for it.
    await waitFor(
      async () =>
        (await stack.db.sql`select 1 from audience_sync.runs where run_id = ${runId}`).length > 0,
      { what: 'the triggered run to begin' },
    );

    const again = await stack.call('POST', `/api/marketing/schedules/${scheduleId}/trigger`);
    expect(again.status).toBe(202);
    expect(again.body).toMatchObject({ runId, started: false });
    const recent = await stack.call('GET', `/api/marketing/schedules/${scheduleId}`);
    expect(recent.body.schedule.recentRuns.map((run: { runId: string }) => run.runId)).toEqual([
      runId,
    ]);
  });
});

describe('MAX_CONCURRENT_RUNS and MAX_CONCURRENT_DRY_RUNS', () => {
  it('skips a scheduled run started while the limit is full, and says so', async () => {
    await platformDown();
    const holder = await stack.call(
      'POST',
      '/api/marketing/sync-users',
      { audienceName: 'Holds the only place' },
      { prefer: 'respond-async' },
    );
    expect(holder.status).toBe(202);
    const { scheduleId } = await createSchedule();
    const triggered = await stack.call('POST', `/api/marketing/schedules/${scheduleId}/trigger`);
    expect(triggered.body.started).toBe(true);
    const skipped = await waitForRunEnd(stack, triggered.body.runId);
    expect(skipped).toMatchObject({
      status: 'cancelled',
      progress: { total: 0, processed: 0, added: 0 },
      error: {
        code: 'too_many_runs',
        message:
          "Skipped: 1 run is running or paused, as many as MAX_CONCURRENT_RUNS (1) allows; the schedule's next run tries again",
      },
    });
    const running = await stack.db.sql<{ runId: string }[]>`
      select run_id as "runId" from audience_sync.runs where status = 'running'`;
    expect(running).toEqual([{ runId: holder.body.runId }]);
    const outcome = await stack.client.workflow.getHandle(triggered.body.runId).result();
    expect(outcome).toMatchObject({ status: 'skipped', skipped: { code: 'too_many_runs' } });
  });

  it('keeps dry runs to their own limit, beside the runs that write', async () => {
    await platformDown();
    const dry = await stack.call(
      'POST',
      '/api/marketing/sync',
      { platform: 'resend', list_name: 'Planned', dry_run: true },
      { prefer: 'respond-async' },
    );
    expect(dry.status).toBe(202);
    await waitFor(async () => (await runStatus(dry.body.runId)).body.status === 'running', {
      what: 'the dry run to run',
    });
    const secondDry = await stack.call(
      'POST',
      '/api/marketing/sync',
      { platform: 'resend', list_name: 'Planned again', dry_run: true },
      { prefer: 'respond-async' },
    );
    expect(secondDry.status).toBe(429);
    expect(secondDry.headers.get('retry-after')).toBe('30');
    expect(secondDry.body.error).toEqual({
      code: 'too_many_dry_runs',
      message:
        '1 dry run is running, as many as MAX_CONCURRENT_DRY_RUNS (1) allows; try again when one has ended',
      details: [{ running: 1, limit: 1 }],
    });
    const real = await stack.call(
      'POST',
      '/api/marketing/sync-users',
      { audienceName: 'Writes' },
      { prefer: 'respond-async' },
    );
    expect(real.status).toBe(202);
  });
});

describe('MAX_SCHEDULES and the shortest interval', () => {
  it('refuses schedules that run more often than every 5 minutes and keeps none of them', async () => {
    for (const [change, field] of [
      [{ every: '1m' }, 'every'],
      [{ every: '299s' }, 'every'],
      [{ every: undefined, cron: '*/2 * * * *' }, 'cron'],
      [{ every: undefined, cron: '0,3 9 * * *' }, 'cron'],
    ] as const) {
      const { scheduleId, answer } = await createSchedule(change);
      expect({ change, status: answer.status, code: answer.body.error?.code }).toEqual({
        change,
        status: 400,
        code: 'schedule_too_frequent',
      });
      expect(answer.body.error.details).toEqual([
        { field, message: 'must not run more often than every 5 minutes' },
      ]);
      await expect(stack.client.schedule.getHandle(scheduleId).describe()).rejects.toBeInstanceOf(
        ScheduleNotFoundError,
      );
    }
    for (const change of [{ every: '5m' }, { every: undefined, cron: '*/5 * * * *' }]) {
      const { answer } = await createSchedule({ ...change, paused: false });
      expect(answer.status).toBe(201);
      expect(answer.body.schedule.paused).toBe(false);
    }
  });

  it('creates at most MAX_SCHEDULES, also when two creates race for the last place', async () => {
    const api = await startApiServer({
      config: { ...stack.apiConfig, MAX_SCHEDULES: 2 },
      sql: stack.db.sql,
      temporal: stack.client,
      logger: createLogger('silent'),
    });
    try {
      const call = apiCaller(api.url);
      expect((await createSchedule({}, call)).answer.status).toBe(201);
      const race = await Promise.all([createSchedule({}, call), createSchedule({}, call)]);
      expect(race.map(({ answer }) => answer.status).sort()).toEqual([201, 409]);
      const refused = race.find(({ answer }) => answer.status === 409)?.answer;
      expect(refused?.body.error).toEqual({
        code: 'too_many_schedules',
        message:
          '2 schedules exist, as many as MAX_SCHEDULES (2) allows; delete one before creating another',
        details: [{ count: 2, limit: 2 }],
      });
      const listed = await call('GET', '/api/marketing/schedules');
      expect(listed.body.schedules).toHaveLength(2);
      await call('DELETE', `/api/marketing/schedules/${created[0]}`);
      expect((await createSchedule({}, call)).answer.status).toBe(201);
    } finally {
      await api.close();
    }
  });
});
