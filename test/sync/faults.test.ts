import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppStack,
  emulatedContacts,
  emulatorAdmin,
  requestLog,
  startAppStack,
  waitForRunEnd,
} from '../support/app-stack.js';
import { waitFor } from '../support/stack.js';

let stack: AppStack;

beforeAll(async () => {
  stack = await startAppStack({
    users: 1200,
    mix: 'eligible',
    emulator: { rateLimit: 300, seed: 7 },
  });
});

afterAll(async () => {
  await stack?.stop();
});

const allEmails = async (): Promise<string[]> =>
  (await stack.db.sql<{ email: string }[]>`select lower(email) as email from users order by 1`).map(
    (row) => row.email,
  );

const finishedRun = (runId: string) => waitForRunEnd(stack, runId);

async function expectExactlyOnceEach(listId: string): Promise<void> {
  const members = await emulatedContacts(stack.emulator, `&segment_id=${listId}`);
  expect(members.map((contact) => contact.email.toLowerCase()).sort()).toEqual(await allEmails());
  const everyone = await emulatedContacts(stack.emulator);
  expect(new Set(everyone.map((contact) => contact.email.toLowerCase())).size).toBe(
    everyone.length,
  );
}

describe('a sync against a faulty Resend', () => {
  it('creates one segment although every segment create is accepted and then answered 500', async () => {
    stack.emulator.setFaults(
      {
        acceptThenFailRate: 1,
        acceptThenFailRoute: { method: 'POST', path: '/segments' },
        serverErrorRate: 0.05,
      },
      11,
    );
    const answer = await stack.call('POST', '/api/marketing/sync-users', {
      audienceName: 'Faulty segments',
    });
    expect(answer.status).toBe(200);
    const segments = await emulatorAdmin<{ data: { id: string; name: string }[] }>(
      stack.emulator,
      '/segments',
    );
    expect(segments.data.filter((segment) => segment.name === 'Faulty segments')).toEqual([
      expect.objectContaining({ id: answer.body.audience.id }),
    ]);
    const log = await requestLog(stack.emulator, '&method=POST&path_prefix=/segments');
    expect(log.filter((entry) => entry.outcome === 'accept_then_fail').length).toBeGreaterThan(0);
    await expectExactlyOnceEach(answer.body.audience.id);
    expect(answer.body.contactsAdded).toBe((await allEmails()).length);
  });

  it('loses and duplicates nothing through 5xx answers, accept-then-fail creates and 429 storms', async () => {
    stack.emulator.reset();
    await stack.db
      .sql`truncate audience_sync.contact_directory, audience_sync.contact_directory_state`;
    stack.emulator.setFaults(
      {
        serverErrorRate: 0.05,
        acceptThenFailRate: 0.1,
        acceptThenFailRoute: { method: 'POST', path: '/contacts' },
      },
      23,
    );
    const started = await stack.call(
      'POST',
      '/api/marketing/sync-users',
      { audienceName: 'Stormy' },
      { prefer: 'respond-async' },
    );
    expect(started.status).toBe(202);
    const runId: string = started.body.runId;

    // Two storms while the run is sending: every request answered 429 for a while.
    for (const progressMark of [200, 600]) {
      await waitFor(
        async () => {
          const status = await stack.call('GET', `/api/marketing/sync-users/${runId}`);
          return status.body.progress.processed >= progressMark || status.body.status !== 'running';
        },
        { timeoutMs: 120_000, what: `${progressMark} users processed` },
      );
      stack.emulator.setFaults(
        {
          serverErrorRate: 0.05,
          acceptThenFailRate: 0.1,
          acceptThenFailRoute: { method: 'POST', path: '/contacts' },
          rateLimitStorm: { durationMs: 1500, retryAfterSeconds: 1 },
        },
        29 + progressMark,
      );
    }

    const finished = await finishedRun(runId);
    expect(finished.status).toBe('completed');
    const { added, failed, skipped, processed } = finished.progress;
    expect([added, failed, skipped, processed]).toEqual([1200, 0, 0, 1200]);
    await expectExactlyOnceEach(finished.audience.id);

    const log = await requestLog(stack.emulator);
    const outcomes = new Set(log.map((entry) => entry.outcome));
    expect(outcomes).toContain('server_error');
    expect(outcomes).toContain('accept_then_fail');
    expect(outcomes).toContain('storm_rate_limited');
    const segments = await emulatorAdmin<{ data: { name: string }[] }>(stack.emulator, '/segments');
    expect(segments.data.filter((segment) => segment.name === 'Stormy')).toHaveLength(1);
  });
});
