import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppStack,
  eligibleEmails,
  emulatedContacts,
  startAppStack,
} from '../support/app-stack.js';
import { uniqueName, waitFor } from '../support/stack.js';

let stack: AppStack;
let listId: string;
const scheduleId = uniqueName('weekly-newsletter').replaceAll('_', '-');

beforeAll(async () => {
  stack = await startAppStack({ users: 150, emulator: { rateLimit: 400 } });
  const first = await stack.call('POST', '/api/marketing/sync', {
    platform: 'resend',
    list_name: 'Newsletter',
  });
  listId = first.body.list_id;
});

/** Schedules the tests made for themselves, deleted with the file's. */
const ownSchedules: string[] = [];

afterAll(async () => {
  for (const id of [scheduleId, ...ownSchedules]) {
    await stack?.call('DELETE', `/api/marketing/schedules/${id}`);
  }
  await stack?.stop();
});

const scheduleBody = {
  scheduleId,
  every: '12h',
  note: 'New users into the newsletter list',
  sync: { platform: 'resend', list_id: '', sync_type: 'new' },
};

/** A schedule of the test's own, like the file's: `new` runs into the newsletter list. */
async function createOwnSchedule(prefix: string): Promise<string> {
  const id = uniqueName(prefix).replaceAll('_', '-');
  const answer = await stack.call('POST', '/api/marketing/schedules', {
    ...scheduleBody,
    scheduleId: id,
    sync: { ...scheduleBody.sync, list_id: listId },
  });
  expect(answer.status).toBe(201);
  ownSchedules.push(id);
  return id;
}

describe('/api/marketing/schedules', () => {
  it('creates a schedule with its spec and next run times', async () => {
    const answer = await stack.call('POST', '/api/marketing/schedules', {
      ...scheduleBody,
      sync: { ...scheduleBody.sync, list_id: listId },
    });
    expect(answer.status).toBe(201);
    expect(answer.body.schedule).toMatchObject({
      scheduleId,
      paused: false,
      note: 'New users into the newsletter list',
      spec: { cron: [], every: ['12h'] },
      recentRuns: [],
    });
    expect(answer.body.schedule.nextRunTimes.length).toBeGreaterThan(0);
    expect(Date.parse(answer.body.schedule.nextRunTimes[0])).toBeGreaterThan(Date.now());
  });

  it('refuses a second schedule with the same id', async () => {
    const scheduleId = await createOwnSchedule('twice');
    const answer = await stack.call('POST', '/api/marketing/schedules', {
      ...scheduleBody,
      scheduleId,
      sync: { ...scheduleBody.sync, list_id: listId },
    });
    expect(answer.status).toBe(409);
    expect(answer.body.error.code).toBe('schedule_exists');
  });

  it.each([
    ['both cron and every', { cron: '0 6 * * 1' }, 'cron'],
    ['neither cron nor every', { every: undefined }, 'cron'],
    ['a bad interval', { every: 'weekly' }, 'every'],
    ['an unknown time zone', { timezone: 'Mars/Olympus' }, 'timezone'],
    ['no sync body', { sync: undefined }, 'sync'],
    ['a bad sync body', { sync: { platform: 'resend', sync_type: 'specific' } }, 'user_ids'],
  ])('answers 400 for %s', async (_case, change, field) => {
    const answer = await stack.call('POST', '/api/marketing/schedules', {
      ...scheduleBody,
      scheduleId: uniqueName('bad').replaceAll('_', '-'),
      sync: { ...scheduleBody.sync, list_id: listId },
      ...change,
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.details.map((detail: { field: string }) => detail.field)).toContain(
      field,
    );
  });

  it('answers 400 for a cron expression Temporal refuses', async () => {
    const answer = await stack.call('POST', '/api/marketing/schedules', {
      scheduleId: uniqueName('bad-cron').replaceAll('_', '-'),
      cron: 'every tuesday',
      sync: { platform: 'resend', list_id: listId, sync_type: 'new' },
    });
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_schedule');
  });

  it('lists it', async () => {
    const scheduleId = await createOwnSchedule('listed');
    const answer = await stack.call('GET', '/api/marketing/schedules');
    expect(answer.status).toBe(200);
    expect(
      answer.body.schedules.map((schedule: { scheduleId: string }) => schedule.scheduleId),
    ).toContain(scheduleId);
  });

  it('runs an ordinary sync when triggered, visible in the status endpoint and the describe', async () => {
    const scheduleId = await createOwnSchedule('triggered');
    await stack.db.sql`
      insert into users (id, email, first_name, last_name, full_name, last_active_at)
      select 7000 + g, 'scheduled.' || g || '@example.org', 'Sched', 'Uled', 'Sched Uled', now()
      from generate_series(1, 7) g`;
    const trigger = await stack.call('POST', `/api/marketing/schedules/${scheduleId}/trigger`);
    expect(trigger.status).toBe(202);

    const runId = await waitFor(
      async () => {
        const answer = await stack.call('GET', `/api/marketing/schedules/${scheduleId}`);
        return answer.body.schedule.recentRuns[0]?.runId as string | undefined;
      },
      { what: 'the triggered run' },
    );
    expect(runId.startsWith(`${scheduleId}-`)).toBe(true);

    const ended = await waitFor(
      async () => {
        const status = await stack.call(
          'GET',
          `/api/marketing/sync-users/${encodeURIComponent(runId)}`,
        );
        return status.body.status === 'completed' && status.body;
      },
      { timeoutMs: 60_000, what: 'the scheduled run to complete' },
    );
    expect(ended.progress.added).toBe(7);
    const members = await emulatedContacts(stack.emulator, `&segment_id=${listId}`);
    expect(members.filter((contact) => contact.email.startsWith('scheduled.'))).toHaveLength(7);

    const described = await stack.call('GET', `/api/marketing/schedules/${scheduleId}`);
    expect(described.body.schedule.recentRuns[0]).toMatchObject({
      runId,
      status: 'completed',
      added: 7,
    });
    expect(described.body.schedule.sync).toMatchObject({
      listId,
      syncType: 'new',
      trigger: 'schedule',
      scheduleId,
    });

    const found = await waitFor(
      async () => {
        for await (const run of stack.client.workflow.list({
          query: `SyncTrigger = "schedule" AND SyncListId = "${listId}"`,
        })) {
          if (run.workflowId === runId) return run;
        }
        return undefined;
      },
      { what: 'the run in the visibility store' },
    );
    expect(found.type).toBe('SyncUsersWorkflow');
  });

  it('runs a scheduled mirror sync that keeps "active in the last 30 days" exact', async () => {
    const active = `last_active_at >= now() - interval '30 days'`;
    const first = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_name: 'Active this month',
      mode: 'mirror',
      filterActive: true,
      activeDays: 30,
    });
    expect(first.status).toBe(200);
    const mirrorListId: string = first.body.list_id;
    const id = uniqueName('mirror').replaceAll('_', '-');
    const created = await stack.call('POST', '/api/marketing/schedules', {
      scheduleId: id,
      every: '24h',
      sync: {
        platform: 'resend',
        list_id: mirrorListId,
        mode: 'mirror',
        max_removals: '100%',
        filterActive: true,
        activeDays: 30,
      },
    });
    expect(created.status).toBe(201);
    ownSchedules.push(id);

    // Two members of the list on either side of the window's edge, by ten minutes.
    const [stays, leaves] = await stack.db.sql<{ id: string; email: string }[]>`
      select m.user_id as id, lower(btrim(u.email)) as email
      from audience_sync.list_members m join users u on u.id::text = m.user_id
      where m.list_id = ${mirrorListId}
        and (select count(*) from users o where lower(btrim(o.email)) = lower(btrim(u.email))) = 1
      order by m.user_id limit 2`;
    await stack.db.sql`
      update users set last_active_at = now() - interval '30 days' + interval '10 minutes'
      where id::text = ${stays?.id ?? ''}`;
    await stack.db.sql`
      update users set last_active_at = now() - interval '30 days' - interval '10 minutes'
      where id::text = ${leaves?.id ?? ''}`;

    expect((await stack.call('POST', `/api/marketing/schedules/${id}/trigger`)).status).toBe(202);
    const runId = await waitFor(
      async () => {
        const answer = await stack.call('GET', `/api/marketing/schedules/${id}`);
        return answer.body.schedule.recentRuns[0]?.runId as string | undefined;
      },
      { what: 'the triggered mirror run' },
    );
    const ended = await waitFor(
      async () => {
        const status = await stack.call(
          'GET',
          `/api/marketing/sync-users/${encodeURIComponent(runId)}`,
        );
        return status.body.status !== 'running' && status.body;
      },
      { timeoutMs: 120_000, what: 'the scheduled mirror run to end' },
    );
    expect(ended).toMatchObject({ status: 'completed', progress: { removed: 1 } });
    const members = (await emulatedContacts(stack.emulator, `&segment_id=${mirrorListId}`))
      .map((contact) => contact.email.toLowerCase())
      .sort();
    expect(members).toEqual(await eligibleEmails(stack, active));
    expect(members).toContain(stays?.email);
    expect(members).not.toContain(leaves?.email);
    const described = await stack.call('GET', `/api/marketing/schedules/${id}`);
    expect(described.body.schedule.recentRuns[0]).toMatchObject({
      runId,
      status: 'completed',
      removed: 1,
      unsubscribed: 0,
    });
    expect(described.body.schedule.sync).toMatchObject({ mode: 'mirror', maxRemovals: '100%' });
  });

  it('pauses and unpauses', async () => {
    const scheduleId = await createOwnSchedule('paused');
    const paused = await stack.call('POST', `/api/marketing/schedules/${scheduleId}/pause`, {
      note: 'holiday',
    });
    expect(paused.body.schedule).toMatchObject({ paused: true, note: 'holiday' });
    const unpaused = await stack.call('POST', `/api/marketing/schedules/${scheduleId}/unpause`);
    expect(unpaused.body.schedule.paused).toBe(false);
  });

  it('deletes it', async () => {
    const scheduleId = await createOwnSchedule('deleted');
    const deleted = await stack.call('DELETE', `/api/marketing/schedules/${scheduleId}`);
    expect(deleted.status).toBe(200);
    const gone = await stack.call('GET', `/api/marketing/schedules/${scheduleId}`);
    expect(gone.status).toBe(404);
    expect(gone.body.error.code).toBe('schedule_not_found');
    const triggerGone = await stack.call('POST', `/api/marketing/schedules/${scheduleId}/trigger`);
    expect(triggerGone.status).toBe(404);
  });
});
