import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppStack, emulatorAdmin, startAppStack } from '../support/app-stack.js';

/** Postgres text cannot hold NUL: every string field refuses it up front, naming the field. */

let stack: AppStack;

beforeAll(async () => {
  stack = await startAppStack();
});

afterAll(async () => {
  await stack?.stop();
});

const NUL = '\u0000';
const NUL_MESSAGE = 'must not contain a NUL character (\\u0000)';

describe('a NUL character, which Postgres text cannot hold', () => {
  it.each([
    ['audienceName', { audienceName: `Spring${NUL}sale` }],
    ['audienceDescription', { audienceDescription: `Everyone${NUL}` }],
  ])('in POST /sync-users %s answers 400 naming it', async (field, body) => {
    const answer = await stack.call('POST', '/api/marketing/sync-users', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_request');
    expect(answer.body.error.details).toEqual([{ field, message: NUL_MESSAGE }]);
  });

  it.each([
    ['platform', { platform: `resend${NUL}` }],
    ['list_id', { platform: 'resend', list_id: `seg${NUL}1` }],
    ['list_name', { platform: 'resend', list_name: `News${NUL}letter` }],
    ['tags.1', { platform: 'resend', tags: ['vip', `v${NUL}ip`] }],
    ['user_ids.1', { platform: 'resend', sync_type: 'specific', user_ids: ['1', `2${NUL}`] }],
  ])('in POST /sync %s answers 400 naming it', async (field, body) => {
    const answer = await stack.call('POST', '/api/marketing/sync', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_request');
    expect(answer.body.error.details).toEqual([{ field, message: NUL_MESSAGE }]);
  });

  it.each([
    ['cron', { scheduleId: 'nul-cron', cron: `0 6 * * 1${NUL}`, sync: { platform: 'resend' } }],
    [
      'timezone',
      { scheduleId: 'nul-zone', every: '6h', timezone: `UTC${NUL}`, sync: { platform: 'resend' } },
    ],
    [
      'note',
      { scheduleId: 'nul-note', every: '6h', note: `a${NUL}b`, sync: { platform: 'resend' } },
    ],
    [
      'list_name',
      { scheduleId: 'nul-sync', every: '6h', sync: { platform: 'resend', list_name: `a${NUL}` } },
    ],
  ])('in POST /schedules %s answers 400 naming it', async (field, body) => {
    const answer = await stack.call('POST', '/api/marketing/schedules', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_request');
    expect(answer.body.error.details).toEqual([{ field, message: NUL_MESSAGE }]);
  });

  it.each([
    ['scheduleId', { scheduleId: `s${NUL}`, every: '6h', sync: { platform: 'resend' } }],
    ['every', { scheduleId: 'nul-every', every: `6h${NUL}`, sync: { platform: 'resend' } }],
  ])('in POST /schedules %s (a pattern) answers 400 naming it', async (field, body) => {
    const answer = await stack.call('POST', '/api/marketing/schedules', body);
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([{ field, message: expect.any(String) }]);
  });

  it.each(['pause', 'unpause'])(
    'in the note of a schedule %s answers 400 naming it',
    async (action) => {
      const answer = await stack.call('POST', `/api/marketing/schedules/any/${action}`, {
        note: `a${NUL}b`,
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error.details).toEqual([{ field: 'note', message: NUL_MESSAGE }]);
    },
  );

  it.each([
    ['filterActive', 'filterActive=true%00'],
    ['activeDays', 'filterActive=true&activeDays=7%00'],
  ])('in the preview query %s answers 400 naming it', async (field, query) => {
    const answer = await stack.call('GET', `/api/marketing/sync-users?${query}`);
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([{ field, message: expect.any(String) }]);
  });

  it('started nothing for any of them', async () => {
    const [runs] = await stack.db.sql<{ count: number }[]>`
      select count(*)::int as count from audience_sync.runs`;
    expect(runs?.count).toBe(0);
    const started = [];
    for await (const run of stack.client.workflow.list({
      query: `TaskQueue = "${stack.workerConfig.TEMPORAL_TASK_QUEUE}"`,
    })) {
      started.push(run.workflowId);
    }
    expect(started).toEqual([]);
    const schedules: { scheduleId: string }[] = (
      await stack.call('GET', '/api/marketing/schedules')
    ).body.schedules;
    expect(schedules.filter((schedule) => schedule.scheduleId.startsWith('nul-'))).toEqual([]);
    const segments = await emulatorAdmin<{ data: unknown[] }>(stack.emulator, '/segments');
    expect(segments.data).toEqual([]);
  });
});
