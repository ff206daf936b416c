import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer } from '../../api/server.js';
import { createUsersTable } from '../../db/demo-users.js';
import { type AppStack, apiCaller, startAppStack } from '../support/app-stack.js';
import { TEST_RESEND_KEY } from '../support/stack.js';

/**
 * SPEC: an answer's message says what happened (completed, with how many failures, a dry run's
 * "would …"), the status counts skipped and failed users by reason and keeps a platform's own
 * message for a refusal, and a users relation that lacks columns is named at start, by /readyz
 * and by every route that reads it, instead of a bare 500.
 */
let stack: AppStack;

beforeAll(async () => {
  const allowed = { PROPERTY_COLUMNS: 'plan' };
  stack = await startAppStack({ emulator: { rateLimit: 300 }, api: allowed, worker: allowed });
  await createUsersTable(stack.db.sql);
  await stack.db.sql`alter table users add column plan text`;
});

afterAll(async () => {
  await stack?.stop();
});

async function addUsers(ids: number[], activeDaysAgo = 0, email?: (id: number) => string) {
  for (const id of ids) {
    await stack.db.sql`
      insert into users (id, email, first_name, last_name, full_name, last_active_at, plan)
      values (${id}, ${email ? email(id) : `truth.${id}@example.com`}, 'Given', 'Family',
        'Given Family', now() - make_interval(days => ${activeDaysAgo}), 'pro')`;
  }
}

/** Resend's API as the worker reaches it (the emulator), with the worker's key. */
async function resend(method: string, path: string) {
  const response = await fetch(`${stack.emulator.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${TEST_RESEND_KEY}` },
  });
  if (!response.ok) throw new Error(`${method} ${path} answered ${response.status}`);
  return (await response.json()) as { data: { id: string; key: string }[] };
}

const status = (runId: string) =>
  stack.call('GET', `/api/marketing/sync-users/${encodeURIComponent(runId)}`);

describe('answers that tell the truth', () => {
  it('a run Resend refused is "completed with failures", with reasons and the platform message', async () => {
    await addUsers([1, 2, 3]);
    const first = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      sync_type: 'specific',
      user_ids: ['1', '2', '3'],
      properties: { tier: 'plan' },
    });
    expect(first.body).toMatchObject({ message: 'Sync completed successfully', synced: 3 });
    // Someone deletes the property in Resend; this service still knows it as defined.
    const tier = (await resend('GET', '/contact-properties')).data.find((p) => p.key === 'tier');
    await resend('DELETE', `/contact-properties/${tier?.id}`);

    await addUsers([4, 5, 6, 7, 8]);
    await addUsers([9], 0, () => 'not-an-email');
    const refused = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      sync_type: 'specific',
      user_ids: ['4', '5', '6', '7', '8', '9', '999999'],
      properties: { tier: 'plan' },
    });
    const message =
      "Sync completed with 6 failures: of 7 users, 0 added, 1 skipped, 6 failed (the reasons are in the run's status)";
    expect(refused.status).toBe(200);
    expect(refused.body).toMatchObject({ message, synced: 0, failed: 6, skipped: 1 });

    const answer = await status(refused.body.runId);
    expect(answer.body).toMatchObject({ status: 'completed', message });
    expect(answer.body.reasons).toEqual({
      skipped: { not_found: 1 },
      failed: { invalid_email: 1, 'rejected_by_platform:validation_error': 5 },
    });
    const platformMessage =
      'The property `tier` does not exist. Create it with POST /contact-properties first.';
    expect([...answer.body.rejected].sort((a, b) => a.userId.localeCompare(b.userId))).toEqual([
      ...['4', '5', '6', '7', '8'].map((userId) => ({
        userId,
        reason: 'rejected_by_platform:validation_error',
        platformMessage,
      })),
      { userId: '9', reason: 'invalid_email' },
    ]);
  });

  it('a dry run says what a real run would do, and that its removal guard would stop it', async () => {
    await addUsers([20, 21, 22, 23, 24, 25, 26, 27, 28, 29]);
    const population = { platform: 'resend', mode: 'mirror', filterActive: true, activeDays: 1 };
    // Everyone else of this file was active too: they leave the filter first.
    await stack.db.sql`update users set last_active_at = now() - interval '100 days' where id < 20`;
    const synced = await stack.call('POST', '/api/marketing/sync', {
      ...population,
      list_name: 'Guarded',
    });
    expect(synced.body).toMatchObject({ message: 'Sync completed successfully', synced: 10 });
    await stack.db.sql`
      update users set last_active_at = now() - interval '100 days' where id between 20 and 27`;
    const dry = await stack.call('POST', '/api/marketing/sync', {
      ...population,
      list_id: synced.body.list_id,
      dry_run: true,
    });
    const message =
      'Dry run, nothing written: a real run would stop with removal_guard_tripped and remove nothing, as it would remove 8 contacts, more than the 5 max_removals allows; before that it would change nothing (2 already in the list, 0 skipped, 0 failed)';
    expect(dry.status).toBe(200);
    expect(dry.body).toMatchObject({ dryRun: true, message });
    expect((await status(dry.body.runId)).body).toMatchObject({ status: 'completed', message });
  });
});

describe('a users relation that lacks columns', () => {
  it('is named at start, by /readyz and by every route that reads users, and starts nothing', async () => {
    await stack.db.sql`create view users_partial as select id, email, created_at from users`;
    const problem =
      'USERS_SOURCE "users_partial" lacks the column(s) first_name, last_name, full_name, last_active_at; create a view that provides them';
    const logged: string[] = [];
    const api = await startApiServer({
      config: { ...stack.apiConfig, USERS_SOURCE: 'users_partial' },
      sql: stack.db.sql,
      temporal: stack.client,
      logger: pino({ level: 'error' }, { write: (line: string) => logged.push(line) }),
    });
    try {
      expect(logged.map((line) => JSON.parse(line).msg)).toEqual([
        `${problem}; not ready until then`,
      ]);
      const ready = await fetch(`${api.url}/readyz`);
      expect(ready.status).toBe(503);
      expect(await ready.json()).toMatchObject({
        status: 'not_ready',
        checks: { database: 'ok', temporal: 'ok', usersSource: 'invalid' },
        error: {
          code: 'not_ready',
          message: `Not ready: ${problem}`,
          details: [{ part: 'usersSource', status: 'invalid', message: problem }],
        },
      });
      const call = apiCaller(api.url);
      const runsBefore = await stack.db.sql`select run_id from audience_sync.runs`;
      for (const [method, path, body] of [
        ['GET', '/api/marketing/sync-users', undefined],
        ['POST', '/api/marketing/sync-users', {}],
        ['POST', '/api/marketing/sync', { platform: 'resend' }],
        [
          'POST',
          '/api/marketing/schedules',
          { scheduleId: 'partial', every: '6h', sync: { platform: 'resend' } },
        ],
      ] as const) {
        const answer = await call(method, path, body);
        expect({ route: `${method} ${path}`, status: answer.status, body: answer.body }).toEqual({
          route: `${method} ${path}`,
          status: 503,
          body: {
            success: false,
            error: {
              code: 'users_source_invalid',
              message: problem,
              details: [{ part: 'usersSource' }],
            },
          },
        });
      }
      expect(await stack.db.sql`select run_id from audience_sync.runs`).toEqual(runsBefore);
    } finally {
      await api.close();
    }
  });
});
