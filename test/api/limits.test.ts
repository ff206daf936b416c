import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer } from '../../api/server.js';
import { createScheduleService } from '../../client/schedules.js';
import { createLogger } from '../../telemetry/logger.js';
import {
  type AppStack,
  apiCaller,
  emulatedContacts,
  requestLog,
  startAppStack,
  waitForRunEnd,
} from '../support/app-stack.js';
import { uniqueName } from '../support/stack.js';

/**
 * SPEC's "Limits and abuse": `properties` sends only the columns PROPERTY_COLUMNS lists, on every
 * path (a request, a schedule, a request stored before the limit existed), and at most
 * MAX_ACTIVE_ERASURES erasures run at once.
 */
let stack: AppStack;

beforeAll(async () => {
  const allowed = { PROPERTY_COLUMNS: 'plan' };
  stack = await startAppStack({ users: 3, mix: 'eligible', api: allowed, worker: allowed });
  await stack.db.sql`
    alter table users add column plan text default 'pro', add column password_hash text default 'x'`;
});

afterAll(async () => {
  await stack?.stop();
});

const notAllowed = {
  code: 'column_not_allowed',
  message:
    'properties may send only the columns PROPERTY_COLUMNS lists (plan); not "password_hash"',
  details: [
    {
      field: 'properties.secret',
      message: 'names the column "password_hash", which PROPERTY_COLUMNS does not list',
    },
  ],
};

describe('PROPERTY_COLUMNS', () => {
  it('refuses a mapping of any other column, on POST /sync and in a schedule, and sends the listed ones', async () => {
    const properties = { tier: 'plan', secret: 'password_hash' };
    const sync = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      properties,
    });
    expect(sync).toMatchObject({ status: 400, body: { success: false, error: notAllowed } });
    const schedule = await stack.call('POST', '/api/marketing/schedules', {
      scheduleId: uniqueName('columns').replaceAll('_', '-'),
      every: '6h',
      sync: { platform: 'resend', properties },
    });
    expect(schedule).toMatchObject({ status: 400, body: { success: false, error: notAllowed } });
    // Not allowed comes first: the answer says nothing of whether such a column exists.
    const missing = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      properties: { x: 'no_such_column' },
    });
    expect(missing.body.error.code).toBe('column_not_allowed');

    const allowed = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      properties: { tier: 'plan' },
    });
    expect(allowed.status).toBe(200);
    const members = await emulatedContacts(stack.emulator, `&segment_id=${allowed.body.list_id}`);
    expect(members).toHaveLength(3);
    for (const member of members) {
      expect((member as unknown as { properties: unknown }).properties).toEqual({ tier: 'pro' });
    }
  });

  it('stops a run whose stored request maps another column before it sends anything', async () => {
    // A schedule stored before PROPERTY_COLUMNS existed: made without the API's checks.
    const scheduleId = uniqueName('stored').replaceAll('_', '-');
    await createScheduleService(stack.client, stack.workerConfig.TEMPORAL_TASK_QUEUE).createWithin(
      100,
      {
        scheduleId,
        every: '6h',
        paused: true,
        request: {
          platform: 'resend',
          listName: 'Stored before',
          syncType: 'all',
          tags: [],
          filterActive: false,
          activeDays: 30,
          properties: { secret: 'password_hash' },
          trigger: 'schedule',
        },
      },
    );
    try {
      const before = (await requestLog(stack.emulator)).length;
      const triggered = await stack.call('POST', `/api/marketing/schedules/${scheduleId}/trigger`);
      const ended = await waitForRunEnd(stack, triggered.body.runId);
      expect(ended).toMatchObject({
        status: 'failed',
        audience: null,
        error: {
          code: 'column_not_allowed',
          message:
            'properties may send only the columns PROPERTY_COLUMNS lists; not "password_hash"',
        },
      });
      expect((await requestLog(stack.emulator)).slice(before)).toEqual([]);
    } finally {
      await stack.call('DELETE', `/api/marketing/schedules/${scheduleId}`);
    }
  });
});

describe('MAX_ACTIVE_ERASURES', () => {
  it('starts at most that many erasures at once; one more answers 429 too_many_erasures', async () => {
    // An API whose task queue no worker polls: its erasures stay running.
    const api = await startApiServer({
      config: {
        ...stack.apiConfig,
        TEMPORAL_TASK_QUEUE: uniqueName('idle-queue'),
        MAX_ACTIVE_ERASURES: 2,
      },
      sql: stack.db.sql,
      temporal: stack.client,
      logger: createLogger('silent'),
    });
    const call = apiCaller(api.url);
    try {
      const answers = await Promise.all(
        ['1', '2', '3'].map((id) => call('POST', '/api/marketing/erasures', { user_ids: [id] })),
      );
      expect(answers.map((answer) => answer.status).sort()).toEqual([202, 202, 429]);
      const refused = answers.find((answer) => answer.status === 429);
      expect(refused?.headers.get('retry-after')).toBe('30');
      expect(refused?.body).toEqual({
        success: false,
        error: {
          code: 'too_many_erasures',
          message:
            '2 erasures are running, as many as MAX_ACTIVE_ERASURES (2) allows; try again when one has ended',
          details: [{ running: 2, limit: 2 }],
        },
      });
      const recorded = await stack.db.sql<{ erasureId: string }[]>`
        select erasure_id as "erasureId" from audience_sync.erasures order by erasure_id`;
      expect(recorded.map((row) => row.erasureId)).toEqual(
        answers
          .filter((answer) => answer.status === 202)
          .map((answer) => answer.body.erasureId)
          .sort(),
      );
      for (const { erasureId } of recorded) {
        await stack.client.workflow.getHandle(erasureId).terminate('test over');
      }
    } finally {
      await api.close();
    }
  });
});
