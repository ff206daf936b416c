import proto from '@temporalio/proto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ensureReconciliationSchedule,
  RECONCILIATION_WORKFLOW_TYPE,
  reconciliationScheduleId,
} from '../../client/reconciliation-schedule.js';
import { createScheduleService } from '../../client/schedules.js';
import { type AppStack, startAppStack } from '../support/app-stack.js';
import { uniqueName } from '../support/stack.js';

/**
 * The run-id routes act on sync runs only, and the schedule routes on the schedules created
 * through them: an erasure, the daily reconciliation and its schedule, or another deployment's
 * schedule are not theirs to show, cancel, pause, trigger or delete. No worker runs here, so
 * every workflow started stays running and anything that touched it would show.
 */
const { EventType } = proto.temporal.api.enums.v1;
let stack: AppStack;

beforeAll(async () => {
  stack = await startAppStack({ users: 1, inProcessWorker: false });
});

afterAll(async () => {
  await stack?.client.schedule
    .getHandle(reconciliationScheduleId(stack.workerConfig.TEMPORAL_TASK_QUEUE))
    .delete()
    .catch(() => undefined);
  await stack?.stop();
});

const RUN_ROUTES = [
  ['GET', ''],
  ['DELETE', ''],
  ['POST', '/pause'],
  ['POST', '/resume'],
] as const;

/** Every run-id route answers 404 run_not_found for this id. */
async function expectNoRun(id: string): Promise<void> {
  for (const [method, suffix] of RUN_ROUTES) {
    const answer = await stack.call(
      method,
      `/api/marketing/sync-users/${encodeURIComponent(id)}${suffix}`,
    );
    expect({ route: `${method} ${suffix}`, status: answer.status, body: answer.body }).toEqual({
      route: `${method} ${suffix}`,
      status: 404,
      body: {
        success: false,
        error: { code: 'run_not_found', message: `There is no run ${id}` },
      },
    });
  }
}

/** The workflow still runs and nobody asked it to stop. */
async function expectUntouched(workflowId: string): Promise<void> {
  const handle = stack.client.workflow.getHandle(workflowId);
  expect((await handle.describe()).status.name).toBe('RUNNING');
  const history = await handle.fetchHistory();
  const types = (history.events ?? []).map((event) => event.eventType);
  expect(types).not.toContain(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CANCEL_REQUESTED);
  expect(types).not.toContain(EventType.EVENT_TYPE_WORKFLOW_EXECUTION_UPDATE_ACCEPTED);
}

describe('run-id routes', () => {
  it('do not show, cancel, pause or resume an erasure', async () => {
    const started = await stack.call('POST', '/api/marketing/erasures', { user_ids: ['42'] });
    expect(started.status).toBe(202);
    const erasureId: string = started.body.erasureId;
    await expectNoRun(erasureId);
    await expectUntouched(erasureId);
    const erasure = await stack.call('GET', `/api/marketing/erasures/${erasureId}`);
    expect(erasure.body).toMatchObject({ status: 'running', progress: { requested: 1 } });
  });

  it('do not show, cancel, pause or resume the daily reconciliation', async () => {
    const workflowId = uniqueName('reconciliation-run');
    await stack.client.workflow.start(RECONCILIATION_WORKFLOW_TYPE, {
      workflowId,
      taskQueue: stack.workerConfig.TEMPORAL_TASK_QUEUE,
      args: [],
    });
    await expectNoRun(workflowId);
    await expectUntouched(workflowId);
    await stack.client.workflow.getHandle(workflowId).terminate('test over');
  });

  it("do not show another deployment's sync run", async () => {
    const workflowId = uniqueName('other-deployment-run');
    await stack.client.workflow.start('SyncUsersWorkflow', {
      workflowId,
      taskQueue: uniqueName('other-queue'),
      args: [],
    });
    await expectNoRun(workflowId);
    await stack.client.workflow.getHandle(workflowId).terminate('test over');
  });
});

describe('schedule routes', () => {
  it("list, describe, pause, unpause, trigger and delete neither the reconciliation's schedule nor another deployment's", async () => {
    const queue = stack.workerConfig.TEMPORAL_TASK_QUEUE;
    await ensureReconciliationSchedule(stack.client, queue);
    const reconciliation = reconciliationScheduleId(queue);
    const otherId = uniqueName('other-deployment').replaceAll('_', '-');
    await createScheduleService(stack.client, uniqueName('other-queue')).createWithin(100, {
      scheduleId: otherId,
      every: '6h',
      paused: false,
      request: {
        platform: 'resend',
        listName: 'Elsewhere',
        syncType: 'all',
        tags: [],
        filterActive: false,
        activeDays: 30,
        trigger: 'schedule',
      },
    });
    const ownId = uniqueName('own').replaceAll('_', '-');
    const own = await stack.call('POST', '/api/marketing/schedules', {
      scheduleId: ownId,
      every: '6h',
      paused: true,
      sync: { platform: 'resend', list_name: 'Own' },
    });
    expect(own.status).toBe(201);
    try {
      const listed = await stack.call('GET', '/api/marketing/schedules');
      const ids = listed.body.schedules.map(
        (schedule: { scheduleId: string }) => schedule.scheduleId,
      );
      expect(ids).toContain(ownId);
      expect(ids).not.toContain(reconciliation);
      expect(ids).not.toContain(otherId);

      for (const id of [reconciliation, otherId]) {
        for (const [method, suffix] of [
          ['GET', ''],
          ['POST', '/pause'],
          ['POST', '/unpause'],
          ['POST', '/trigger'],
          ['DELETE', ''],
        ] as const) {
          const answer = await stack.call(method, `/api/marketing/schedules/${id}${suffix}`);
          expect({
            id,
            route: `${method} ${suffix}`,
            status: answer.status,
            body: answer.body,
          }).toEqual({
            id,
            route: `${method} ${suffix}`,
            status: 404,
            body: {
              success: false,
              error: { code: 'schedule_not_found', message: `There is no schedule ${id}` },
            },
          });
        }
        const description = await stack.client.schedule.getHandle(id).describe();
        expect(description.state.paused).toBe(false);
        expect(description.info.recentActions).toEqual([]);
        expect(description.info.runningActions).toEqual([]);
      }
    } finally {
      await stack.client.schedule.getHandle(otherId).delete();
      await stack.call('DELETE', `/api/marketing/schedules/${ownId}`);
    }
  });
});
