import { describe, expect, it } from 'vitest';
import { cancelRun, newRunId, startRun, waitForRun } from '../../client/sync-runs.js';
import type { SyncRequest } from '../../common/sync.js';
import {
  createEmulatorSegment,
  eligibleEmails,
  emulatedContacts,
  emulatorAdmin,
  requestLog,
  stackPerTest,
  successfulCreates,
  waitForRunEnd,
} from '../support/app-stack.js';
import { startTestWorker, TEST_RESEND_KEY, waitFor } from '../support/stack.js';

/**
 * Drills of one batch attempt and of a run's edges: a refused key, an outage, failing and hung
 * requests, data Postgres cannot store, and a cancellation before the run has a record.
 */
const startStack = stackPerTest();

const request = (overrides: Partial<SyncRequest> = {}): SyncRequest => ({
  platform: 'resend',
  listName: 'Drill',
  syncType: 'all',
  tags: [],
  filterActive: false,
  activeDays: 30,
  trigger: 'api',
  ...overrides,
});

describe('a platform that refuses the account', () => {
  it('fails the run with platform_auth_failed, marks no user failed and frees the list', async () => {
    const stack = await startStack({
      users: 30,
      mix: 'eligible',
      // The emulator knows only the test key; the worker holds one Resend does not accept.
      emulator: { apiKeys: [TEST_RESEND_KEY] },
      worker: { RESEND_API_KEY: 're_revoked_key_of_this_team' },
    });
    const listId = await createEmulatorSegment(stack.emulator, 'Refused');
    const body = { platform: 'resend', list_id: listId };

    const first = await stack.call('POST', '/api/marketing/sync', body);
    expect(first.status).toBe(500);
    expect(first.body.error.code).toBe('sync_failed');
    const runId = first.body.error.details[0].runId;
    expect(first.body.error.details).toEqual([{ runId, reason: 'platform_auth_failed' }]);

    const status = await stack.call('GET', `/api/marketing/sync-users/${runId}`);
    expect(status.body).toMatchObject({
      status: 'failed',
      error: { code: 'platform_auth_failed' },
      progress: { processed: 0, added: 0, failed: 0, skipped: 0 },
      rejected: [],
    });
    expect(status.body.error.message).toMatch(/refused the API key/);

    // The list is free again: the next request starts a run of its own instead of joining one.
    const second = await stack.call('POST', '/api/marketing/sync', body);
    expect(second.status).toBe(500);
    expect(second.body.error.details[0].runId).not.toBe(runId);
    expect(second.body.error.details[0].reason).toBe('platform_auth_failed');
    // Nothing reached Resend but the refused requests.
    expect(await emulatedContacts(stack.emulator)).toEqual([]);
  });
});

describe('an outage of the platform', () => {
  it('is retried, and the status says since when the platform has been unavailable', async () => {
    const stack = await startStack({ users: 40, mix: 'eligible' });
    stack.emulator.setFaults({ serverErrorRate: 1, serverErrorRoute: { path: '/contacts' } });
    const started = await stack.call(
      'POST',
      '/api/marketing/sync-users',
      { audienceName: 'Outage' },
      { prefer: 'respond-async' },
    );
    expect(started.status).toBe(202);
    const runId = started.body.runId;
    const current = stack;
    const during = await waitFor(
      async () => {
        const status = await current.call('GET', `/api/marketing/sync-users/${runId}`);
        return status.body.platformUnavailableSince && status.body;
      },
      { timeoutMs: 60_000, what: 'the status to report the outage' },
    );
    expect(during.status).toBe('running');
    expect(Date.parse(during.platformUnavailableSince)).toBeGreaterThanOrEqual(
      Date.parse(during.startedAt),
    );

    stack.emulator.setFaults({});
    const ended = await waitForRunEnd(stack, runId);
    expect(ended.status).toBe('completed');
    expect(ended.platformUnavailableSince).toBeUndefined();
    const members = await emulatedContacts(stack.emulator, `&segment_id=${ended.audience.id}`);
    expect(members.map((contact) => contact.email.toLowerCase()).sort()).toEqual(
      await eligibleEmails(stack),
    );
  }, 180_000);
});

describe('a batch attempt that fails', () => {
  it('stops sending before it reports the failure: no email is created twice', async () => {
    const stack = await startStack({
      users: 300,
      mix: 'eligible',
      emulator: { rateLimit: 300, seed: 3 },
      worker: { SYNC_BATCH_SIZE: '50' },
    });
    stack.emulator.setFaults({ serverErrorRate: 0.3 }, 5);
    const answer = await stack.call(
      'POST',
      '/api/marketing/sync-users',
      { audienceName: 'Flaky' },
      { prefer: 'respond-async' },
    );
    const ended = await waitForRunEnd(stack, answer.body.runId, 280_000);
    expect(ended.status).toBe('completed');

    const created = successfulCreates(await requestLog(stack.emulator));
    const expected = await eligibleEmails(stack);
    expect([...created.keys()].sort()).toEqual(expected);
    expect([...created.values()].filter((count) => count !== 1)).toEqual([]);
  }, 300_000);

  it("counts in a 'new' run what a failed attempt recorded: everyone once, counts add up", async () => {
    const stack = await startStack({
      users: 300,
      mix: 'eligible',
      emulator: { rateLimit: 300, seed: 4 },
      worker: { SYNC_BATCH_SIZE: '50' },
    });
    const listId = await createEmulatorSegment(stack.emulator, 'Flaky new');
    stack.emulator.setFaults({ serverErrorRate: 0.3 }, 6);
    const answer = await stack.call(
      'POST',
      '/api/marketing/sync',
      { platform: 'resend', list_id: listId, sync_type: 'new' },
      { prefer: 'respond-async' },
    );
    const ended = await waitForRunEnd(stack, answer.body.runId, 280_000);
    expect(ended.status).toBe('completed');

    const expected = await eligibleEmails(stack);
    // Without re-reading what a failed attempt recorded, those users fall out of every count.
    expect(ended.progress).toMatchObject({
      total: expected.length,
      processed: expected.length,
      added: expected.length,
      failed: 0,
      skipped: 0,
    });
    const created = successfulCreates(await requestLog(stack.emulator));
    expect([...created.keys()].sort()).toEqual(expected);
    expect([...created.values()].filter((count) => count !== 1)).toEqual([]);
    const members = await emulatedContacts(stack.emulator, `&segment_id=${listId}`);
    expect(members.map((contact) => contact.email.toLowerCase()).sort()).toEqual(expected);
  }, 300_000);

  it('gives up a hung request in time and finishes with everyone exactly once', async () => {
    const stack = await startStack({ users: 120, mix: 'eligible', emulator: { seed: 9 } });
    stack.emulator.setFaults(
      { hangRate: 0.05, hangRoute: { method: 'POST', path: '/contacts' } },
      13,
    );
    const answer = await stack.call(
      'POST',
      '/api/marketing/sync-users',
      { audienceName: 'Hung' },
      { prefer: 'respond-async' },
    );
    // Well before undici's 300 s headers timeout would have ended a single hung request.
    const ended = await waitForRunEnd(stack, answer.body.runId, 150_000);
    expect(ended.status).toBe('completed');
    const members = await emulatedContacts(stack.emulator, `&segment_id=${ended.audience.id}`);
    expect(members.map((contact) => contact.email.toLowerCase()).sort()).toEqual(
      await eligibleEmails(stack),
    );
    const everyone = await emulatedContacts(stack.emulator);
    expect(new Set(everyone.map((c) => c.email.toLowerCase())).size).toBe(everyone.length);
  }, 180_000);
});

describe('the edges of a run', () => {
  it('answers 404 list_not_found at once for a list id that is no segment id at all', async () => {
    const stack = await startStack({ users: 5, mix: 'eligible' });
    // Resend answers 422 (not a UUID) rather than 404 for such an id.
    const answer = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_id: 'not-a-segment-id',
    });
    expect(answer.status).toBe(404);
    expect(answer.body.error.code).toBe('list_not_found');
    expect(await emulatedContacts(stack.emulator)).toEqual([]);
  });

  it('fails at once with invalid_data when Postgres cannot store a value of the run', async () => {
    const stack = await startStack({ users: 5, mix: 'eligible' });
    const runId = newRunId('drill');
    await startRun(
      stack.client,
      stack.workerConfig.TEMPORAL_TASK_QUEUE,
      runId,
      request({ listName: 'Bad\u0000name' }),
    );
    const outcome = await waitForRun(stack.client, runId, 30_000);
    expect(outcome).toMatchObject({ state: 'failed', code: 'invalid_data' });
    const segments = await emulatorAdmin<{ data: unknown[] }>(stack.emulator, '/segments');
    expect(segments.data).toEqual([]);
  });

  it('ends a run cancelled before it had a record as cancelled, with a record that says so', async () => {
    const stack = await startStack({ users: 5, mix: 'eligible', inProcessWorker: false });
    const runId = newRunId('drill');
    const queue = stack.workerConfig.TEMPORAL_TASK_QUEUE;
    await startRun(stack.client, queue, runId, request({ listName: 'Cancelled early' }));
    await cancelRun(stack.client, runId);
    const worker = await startTestWorker(stack.workerConfig, stack.db.sql);
    try {
      const outcome = await waitForRun(stack.client, runId, 30_000);
      expect(outcome).toEqual({ state: 'cancelled' });
      const status = await stack.call('GET', `/api/marketing/sync-users/${runId}`);
      expect(status.body).toMatchObject({ runId, status: 'cancelled' });
      expect(status.body.error).toBeUndefined();
    } finally {
      await worker.stop();
    }
  });
});
