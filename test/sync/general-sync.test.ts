import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppStack,
  ELIGIBLE_SQL,
  eligibleEmails as eligibleEmailsOf,
  emulatedContacts,
  emulatorAdmin,
  requestLog,
  startAppStack,
  waitForRunEnd,
} from '../support/app-stack.js';
import { waitFor } from '../support/stack.js';

/** The emulator's rate limit for this file; tests that need slow runs lower it for a while. */
const USUAL_RATE = 400;

let stack: AppStack;

beforeAll(async () => {
  stack = await startAppStack({ users: 400, emulator: { rateLimit: USUAL_RATE } });
});

afterAll(async () => {
  await stack?.stop();
});

const eligibleEmails = () => eligibleEmailsOf(stack);

const segmentsNamed = async (name: string) =>
  (
    await emulatorAdmin<{ data: { id: string; name: string }[] }>(stack.emulator, '/segments')
  ).data.filter((segment) => segment.name === name);

const memberEmails = async (segmentId: string): Promise<string[]> =>
  (await emulatedContacts(stack.emulator, `&segment_id=${segmentId}`))
    .map((contact) => contact.email.toLowerCase())
    .sort();

const runEnded = (runId: string) => waitForRunEnd(stack, runId, 120_000);

/** A new list of the test's own, with every eligible user synced into it. */
async function syncedList(name: string): Promise<string> {
  const answer = await stack.call('POST', '/api/marketing/sync', {
    platform: 'resend',
    list_name: name,
  });
  expect(answer.status).toBe(200);
  return answer.body.list_id;
}

/** Twenty active users with ids above 5000, `newcomer.N@example.org`; added once per file. */
const addNewcomers = () => stack.db.sql`
  insert into users (id, email, first_name, last_name, full_name, last_active_at)
  select 5000 + g, 'newcomer.' || g || '@example.org', 'New', 'Comer', 'New Comer', now()
  from generate_series(1, 20) g
  on conflict (id) do nothing`;

/** Runs `work` with the emulator at a low rate limit, so runs last long enough to act on. */
async function atSlowRate(requestsPerSecond: number, work: () => Promise<void>): Promise<void> {
  stack.emulator.setRateLimit(requestsPerSecond);
  try {
    await work();
  } finally {
    stack.emulator.setRateLimit(USUAL_RATE);
  }
}

describe('POST /api/marketing/sync', () => {
  it('syncs all eligible users into a new list and into one list per tag', async () => {
    const answer = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_name: 'Product updates',
      tags: ['vip', 'newsletter', 'vip'],
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toEqual({
      success: true,
      message: expect.any(String),
      synced: expect.any(Number),
      failed: expect.any(Number),
      skipped: expect.any(Number),
      removed: 0,
      unsubscribed: 0,
      updated: 0,
      list_id: expect.any(String),
      runId: expect.stringMatching(/^sync-all-/),
    });
    const listId = answer.body.list_id;
    const expected = await eligibleEmails();
    expect(answer.body.synced).toBe(expected.length);
    // The demo users include invalid emails: the run says it completed with those failures.
    const { synced, skipped, failed } = answer.body;
    expect(failed).toBeGreaterThan(0);
    expect(answer.body.message).toBe(
      `Sync completed with ${failed} failures: of ${synced + skipped + failed} users, ${synced} added, ${skipped} skipped, ${failed} failed (the reasons are in the run's status)`,
    );
    expect(await memberEmails(listId)).toEqual(expected);
    for (const tag of ['vip', 'newsletter']) {
      const [segment, ...others] = await segmentsNamed(tag);
      expect(others).toEqual([]);
      expect(await memberEmails(segment?.id ?? '')).toEqual(expected);
    }
  });

  it('adds nothing the second time with sync_type new', async () => {
    const listId = await syncedList('Synced twice');
    const before = await requestLog(stack.emulator);
    const answer = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_id: listId,
      sync_type: 'new',
    });
    expect(answer.status).toBe(200);
    expect(answer.body.synced).toBe(0);
    const writes = (
      await requestLog(stack.emulator, `&since_seq=${before.at(-1)?.seq ?? 0}`)
    ).filter((entry) => entry.method !== 'GET');
    expect(writes).toEqual([]);
  });

  it('adds only users never synced into the list with sync_type new', async () => {
    const listId = await syncedList('Synced before the newcomers');
    await addNewcomers();
    const answer = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_id: listId,
      sync_type: 'new',
      tags: ['vip'],
    });
    expect(answer.status).toBe(200);
    expect(answer.body.synced).toBe(20);
    expect(await memberEmails(listId)).toEqual(await eligibleEmails());
    const [vip] = await segmentsNamed('vip');
    expect(
      (await memberEmails(vip?.id ?? '')).filter((email) => email.startsWith('newcomer.')),
    ).toHaveLength(20);
  });

  it('syncs exactly the given users, reporting unknown and ineligible ones', async () => {
    await addNewcomers();
    const [eligible, deleted, optedOut, invalid] = await Promise.all(
      [
        `${ELIGIBLE_SQL} and id > 5000`,
        'deleted_at is not null',
        'marketing_opt_out and deleted_at is null',
        "email not like '%@%.%' and deleted_at is null",
      ].map(async (where) => {
        const [row] = await stack.db.sql.unsafe<{ id: string }[]>(
          `select id::text from users where ${where} order by id limit 1`,
        );
        return row?.id ?? '';
      }),
    );
    const answer = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_name: 'Hand picked',
      sync_type: 'specific',
      user_ids: [eligible, 'not-a-user', 999_999, deleted, optedOut, invalid],
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ synced: 1, skipped: 4, failed: 1 });
    expect(await memberEmails(answer.body.list_id)).toHaveLength(1);
    const outcomes = await stack.db.sql<
      { userId: string; outcome: string; reason: string | null }[]
    >`
      select user_id as "userId", outcome, reason from audience_sync.run_users
      where run_id = ${answer.body.runId} order by user_id`;
    expect(outcomes).toEqual(
      expect.arrayContaining([
        { userId: eligible, outcome: 'added', reason: null },
        { userId: 'not-a-user', outcome: 'skipped', reason: 'not_found' },
        { userId: '999999', outcome: 'skipped', reason: 'not_found' },
        { userId: deleted, outcome: 'skipped', reason: 'deleted' },
        { userId: optedOut, outcome: 'skipped', reason: 'opted_out' },
        { userId: invalid, outcome: 'failed', reason: 'invalid_email' },
      ]),
    );
    const status = await stack.call('GET', `/api/marketing/sync-users/${answer.body.runId}`);
    expect(status.body.rejected).toEqual([{ userId: invalid, reason: 'invalid_email' }]);
  });

  it('unsubscribes, and never re-subscribes, a synced user who opted out since', async () => {
    await addNewcomers();
    const listId = await syncedList('Synced before an opt-out');
    const [user] = await stack.db.sql<{ id: string; email: string }[]>`
      update users set marketing_opt_out = true
      where id = (select min(id) from users where id > 5000)
      returning id::text, lower(email) as email`;
    const contactOf = async () =>
      (
        await emulatedContacts(stack.emulator, `&email=${encodeURIComponent(user?.email ?? '')}`)
      )[0];
    expect((await contactOf())?.unsubscribed).toBe(false);

    const newRun = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_id: listId,
      sync_type: 'new',
    });
    expect(newRun.status).toBe(200);
    expect(newRun.body.synced).toBe(0);
    expect((await contactOf())?.unsubscribed).toBe(true);

    await stack.db.sql`update users set marketing_opt_out = false where id = ${user?.id ?? ''}`;
    const allRun = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_id: listId,
    });
    expect(allRun.status).toBe(200);
    expect((await contactOf())?.unsubscribed).toBe(true);
  });

  it('fails fast for a list the platform does not know, creating nothing', async () => {
    const segmentsBefore = (await emulatorAdmin<{ data: unknown[] }>(stack.emulator, '/segments'))
      .data.length;
    const answer = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_id: '3f2b6f9e-0000-4000-8000-000000000000',
      tags: ['never-created'],
    });
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('list_not_found');
    expect(answer.body.error.details).toEqual([
      expect.objectContaining({ runId: expect.any(String) }),
    ]);
    expect(
      (await emulatorAdmin<{ data: unknown[] }>(stack.emulator, '/segments')).data,
    ).toHaveLength(segmentsBefore);
    const status = await stack.call(
      'GET',
      `/api/marketing/sync-users/${answer.body.error.details[0].runId}`,
    );
    expect(status.body).toMatchObject({ status: 'failed', error: { code: 'ListNotFound' } });
  });

  it('creates a new tag once when two runs start together with it', async () => {
    const start = (name: string) =>
      stack.call(
        'POST',
        '/api/marketing/sync',
        {
          platform: 'resend',
          list_name: name,
          tags: ['launch-week'],
          filterActive: true,
          activeDays: 3,
        },
        { prefer: 'respond-async' },
      );
    const [first, second] = await Promise.all([start('Twin A'), start('Twin B')]);
    await Promise.all([runEnded(first.body.runId), runEnded(second.body.runId)]);
    expect(await segmentsNamed('launch-week')).toHaveLength(1);
  });
});

describe('runs in progress', () => {
  it('answers a second request for a busy list with the run already syncing into it', async () => {
    const listId = await syncedList('Busy');
    await atSlowRate(20, async () => {
      const first = await stack.call(
        'POST',
        '/api/marketing/sync',
        { platform: 'resend', list_id: listId },
        { prefer: 'respond-async' },
      );
      expect(first.status).toBe(202);
      const second = await stack.call('POST', '/api/marketing/sync', {
        platform: 'resend',
        list_id: listId,
        sync_type: 'new',
      });
      expect(second.status).toBe(202);
      expect(second.body.runId).toBe(first.body.runId);
      expect(second.body.statusUrl).toBe(`/api/marketing/sync-users/${first.body.runId}`);
      await stack.call('DELETE', `/api/marketing/sync-users/${first.body.runId}`);
      await runEnded(first.body.runId);
    });
  });

  it('frees the list of a run terminated from outside', async () => {
    const listId = await syncedList('Held by a terminated run');
    await atSlowRate(20, async () => {
      const first = await stack.call(
        'POST',
        '/api/marketing/sync',
        { platform: 'resend', list_id: listId },
        { prefer: 'respond-async' },
      );
      expect(first.status).toBe(202);
      await waitFor(
        async () =>
          (await stack.call('GET', `/api/marketing/sync-users/${first.body.runId}`)).body.audience,
        { what: 'the first run to hold the list' },
      );
      await stack.client.workflow.getHandle(first.body.runId).terminate('operator test');
      const next = await stack.call(
        'POST',
        '/api/marketing/sync',
        { platform: 'resend', list_id: listId, sync_type: 'new' },
        { prefer: 'respond-async' },
      );
      expect(next.status).toBe(202);
      expect(next.body.runId).not.toBe(first.body.runId);
      const terminated = await stack.call('GET', `/api/marketing/sync-users/${first.body.runId}`);
      expect(terminated.body).toMatchObject({
        status: 'failed',
        error: { code: 'RunEndedOutside' },
      });
      expect((await runEnded(next.body.runId)).status).toBe('completed');
    });
  });

  it('cancels a run after the batch in flight, keeping the contacts already added', async () => {
    await atSlowRate(40, async () => {
      const started = await stack.call(
        'POST',
        '/api/marketing/sync',
        { platform: 'resend', list_name: 'Cancelled halfway' },
        { prefer: 'respond-async' },
      );
      const runId: string = started.body.runId;
      await waitFor(
        async () =>
          (await stack.call('GET', `/api/marketing/sync-users/${runId}`)).body.progress.processed >=
          100,
        { timeoutMs: 60_000, what: 'the first batch' },
      );
      const cancel = await stack.call('DELETE', `/api/marketing/sync-users/${runId}`);
      expect(cancel.status).toBe(202);
      const ended = await runEnded(runId);
      expect(ended.status).toBe('cancelled');
      expect(ended.progress.processed).toBeLessThan(420);
      expect(ended.progress.processed % 100).toBe(0);
      const members = await memberEmails(ended.audience.id);
      expect(members).toHaveLength(ended.progress.added);
      const again = await stack.call('DELETE', `/api/marketing/sync-users/${runId}`);
      expect(again.status).toBe(409);
    });
  });
});
