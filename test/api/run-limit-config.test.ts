import { afterAll, beforeAll, expect, it } from 'vitest';
import { type AppStack, startAppStack } from '../support/app-stack.js';

/** The API takes MAX_CONCURRENT_RUNS from its configuration. */
let stack: AppStack;

beforeAll(async () => {
  // No worker: a started run stays running, so it keeps its place.
  stack = await startAppStack({
    users: 1,
    inProcessWorker: false,
    api: { MAX_CONCURRENT_RUNS: '1' },
  });
});

afterAll(async () => {
  await stack?.stop();
});

it('refuses a second run while one runs when MAX_CONCURRENT_RUNS is 1', async () => {
  const async = { prefer: 'respond-async' };
  const first = await stack.call('POST', '/api/marketing/sync-users', { audienceName: 'A' }, async);
  expect(first.status).toBe(202);
  const second = await stack.call(
    'POST',
    '/api/marketing/sync-users',
    { audienceName: 'B' },
    async,
  );
  expect(second.status).toBe(429);
  expect(second.headers.get('retry-after')).toBe('30');
  expect(second.body.error).toMatchObject({
    code: 'too_many_runs',
    details: [{ running: 1, limit: 1 }],
  });
  await stack.call('DELETE', `/api/marketing/sync-users/${first.body.runId}`);
});
