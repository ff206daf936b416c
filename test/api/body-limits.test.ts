import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppStack, startAppStack, waitForRunEnd } from '../support/app-stack.js';
import { waitFor } from '../support/stack.js';

/** SPEC: 64 KiB per body, except POST /sync, where 10,000 user ids (UUIDs) fit in 1 MiB. */

let stack: AppStack;

beforeAll(async () => {
  stack = await startAppStack({ users: 20 });
});

afterAll(async () => {
  await stack?.stop();
});

const specificBody = (userIds: string[]) => ({
  platform: 'resend',
  list_name: 'Ten thousand',
  sync_type: 'specific',
  user_ids: userIds,
});

const uuids = (count: number): string[] => Array.from({ length: count }, () => randomUUID());

describe('body limits', () => {
  it('POST /sync takes 10,000 user ids given as UUIDs', async () => {
    const userIds = uuids(10_000);
    expect(JSON.stringify(specificBody(userIds)).length).toBeGreaterThan(64 * 1024);
    const answer = await stack.call('POST', '/api/marketing/sync', specificBody(userIds), {
      prefer: 'respond-async',
    });
    expect(answer.status).toBe(202);
    const runId: string = answer.body.runId;
    // The run counts every id it was given; then it is stopped, sparing the suite its 100 batches.
    const counted = await waitFor(
      async () => {
        const status = await stack.call('GET', `/api/marketing/sync-users/${runId}`);
        return status.body.progress?.total > 0 && status.body;
      },
      { what: 'the run to count its users' },
    );
    expect(counted.progress.total).toBe(10_000);
    const cancel = await stack.call('DELETE', `/api/marketing/sync-users/${runId}`);
    expect(cancel.status).toBe(202);
    const ended = await waitForRunEnd(stack, runId);
    expect(ended.status).toBe('cancelled');
    expect(ended.progress.total).toBe(10_000);
  });

  it('POST /sync refuses 10,001 user ids with 400 naming user_ids', async () => {
    const answer = await stack.call('POST', '/api/marketing/sync', specificBody(uuids(10_001)));
    expect(answer.status).toBe(400);
    expect(answer.body.error.details).toEqual([
      { field: 'user_ids', message: 'must have at most 10000 ids' },
    ]);
  });

  it('POST /sync answers 413 for a body over 1 MiB', async () => {
    const answer = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_name: 'x'.repeat(2 * 1024 * 1024),
    });
    expect(answer.status).toBe(413);
    expect(answer.body).toEqual({
      success: false,
      error: { code: 'payload_too_large', message: 'The request body is over the 1 MiB limit' },
    });
  });

  it.each([
    ['/api/marketing/sync-users', { audienceDescription: 'x'.repeat(70 * 1024) }],
    [
      '/api/marketing/schedules',
      { scheduleId: 'big', every: '6h', note: 'x'.repeat(70 * 1024), sync: { platform: 'resend' } },
    ],
  ])('POST %s keeps the 64 KiB limit', async (path, body) => {
    const answer = await stack.call('POST', path, body);
    expect(answer.status).toBe(413);
    expect(answer.body).toEqual({
      success: false,
      error: { code: 'payload_too_large', message: 'The request body is over the 64 KiB limit' },
    });
  });
});
