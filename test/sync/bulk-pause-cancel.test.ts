import { describe, expect, it } from 'vitest';
import {
  type AppStack,
  eligibleEmails,
  emulatedContacts,
  requestLog,
  runStatusOf,
  seedEmulatorContacts,
  setEmulatorConfig,
  stackPerTest,
  waitForRunEnd,
} from '../support/app-stack.js';
import { waitFor } from '../support/stack.js';

/**
 * Pause and cancel during the bulk pass (RESEND_BULK=auto, the default path of a first sync). A
 * chunk's inner batches are where either takes effect, as everywhere else; a pause that waits on
 * a long step (the chunk's import) answers 202, never 503 while Temporal is up; and the run record
 * and Temporal agree on how the run ended.
 */
const startStack = stackPerTest();

const chunkStatus = async (current: AppStack, runId: string): Promise<string | undefined> => {
  const [row] = await current.db.sql<{ status: string }[]>`
    select status from audience_sync.bulk_chunks where run_id = ${runId} and chunk_no = 1`;
  return row?.status;
};

const startFirstSync = async (current: AppStack, name: string): Promise<string> => {
  const started = await current.call(
    'POST',
    '/api/marketing/sync-users',
    { audienceName: name },
    { prefer: 'respond-async' },
  );
  expect(started.status).toBe(202);
  return started.body.runId;
};

describe('a pause during the bulk pass', () => {
  it('answers 202 while the import runs, holds before the chunk’s first batch, and resumes', async () => {
    const stack = await startStack({
      users: 300,
      mix: 'eligible',
      emulator: { rateLimit: 100 },
      worker: { RESEND_BULK: 'auto', SYNC_BATCH_SIZE: '50' },
    });
    const current = stack;
    // The import stays queued longer than the route waits for a pause to take effect.
    await setEmulatorConfig(current.emulator, { importQueuedMs: 45_000 });
    const runId = await startFirstSync(current, 'Paused bulk sync');
    await waitFor(async () => (await chunkStatus(current, runId)) === 'importing', {
      timeoutMs: 60_000,
      what: 'the chunk to be importing',
    });

    const paused = await current.call('POST', `/api/marketing/sync-users/${runId}/pause`);
    expect(paused.status).toBe(202);
    expect(paused.body).toMatchObject({ success: true, runId, status: 'running' });

    // Once the import ended, the run holds before the chunk's first batch.
    const held = await waitFor(
      async () => {
        const status = await runStatusOf(current, runId);
        return status.status === 'paused' && status;
      },
      { timeoutMs: 120_000, what: 'the run to pause' },
    );
    expect(held.progress.processed).toBe(0);
    const description = await current.client.workflow.getHandle(runId).describe();
    expect(description.raw.pendingActivities ?? []).toEqual([]);
    expect(await chunkStatus(current, runId)).toBe('settled');

    const resumed = await current.call('POST', `/api/marketing/sync-users/${runId}/resume`);
    expect(resumed.status).toBe(200);
    expect(resumed.body).toMatchObject({ runId, status: 'running' });
    const ended = await waitForRunEnd(current, runId);
    expect(ended.status).toBe('completed');
    expect(ended.progress).toMatchObject({ processed: 300, added: 300, failed: 0, skipped: 0 });

    // One import created everyone, once; nobody went one by one.
    const expected = await eligibleEmails(current);
    const members = await emulatedContacts(current.emulator, `&segment_id=${ended.audience.id}`);
    expect(members.map((contact) => contact.email.toLowerCase()).sort()).toEqual(expected);
    const log = await requestLog(current.emulator);
    expect(
      log.filter((entry) => entry.method === 'POST' && entry.path === '/contacts/imports'),
    ).toHaveLength(1);
    expect(log.filter((entry) => entry.method === 'POST' && entry.path === '/contacts')).toEqual(
      [],
    );
  }, 240_000);
});

describe('a cancel during the bulk pass', () => {
  it('stops after the inner batch in flight; the record and Temporal both say cancelled', async () => {
    const stack = await startStack({
      users: 300,
      mix: 'eligible',
      // Existing contacts join one by one, slowly: the chunk's batches take a while.
      emulator: { rateLimit: 10 },
      worker: { RESEND_BULK: 'auto', SYNC_BATCH_SIZE: '30' },
    });
    const current = stack;
    const existing = await current.db.sql<{ email: string }[]>`
      select lower(btrim(email)) as email from users where id % 2 = 0 order by id`;
    await seedEmulatorContacts(
      current.emulator,
      existing.map((user) => ({ email: user.email })),
    );
    const runId = await startFirstSync(current, 'Cancelled bulk sync');
    await waitFor(async () => (await runStatusOf(current, runId)).progress.processed > 0, {
      timeoutMs: 120_000,
      what: "the chunk's first batch",
    });

    const cancelled = await current.call('DELETE', `/api/marketing/sync-users/${runId}`);
    expect(cancelled.status).toBe(202);
    expect(cancelled.body).toMatchObject({ runId, status: 'cancelling' });
    const ended = await waitForRunEnd(current, runId);
    expect(ended.status).toBe('cancelled');
    const description = await current.client.workflow.getHandle(runId).describe();
    expect(description.status.name).toBe('CANCELLED');

    // It stopped before the population's end, and its counts add up.
    const { progress } = ended;
    expect(progress.processed).toBeLessThan(300);
    expect(progress.added + progress.skipped + progress.failed).toBe(progress.processed);

    // Every contact the run put into the list (the import's and the joined ones) is in the
    // ledger as made by it and counted as added, and the ledger names no one else.
    const listId: string = ended.audience.id;
    const members = await emulatedContacts(current.emulator, `&segment_id=${listId}`);
    const ledger = await current.db.sql<{ email: string; origin: string }[]>`
      select lower(btrim(u.email)) as email, m.origin from audience_sync.list_members m
      join users u on u.id::text = m.user_id
      where m.list_id = ${listId}`;
    expect(ledger.map((row) => row.email).sort()).toEqual(
      members.map((contact) => contact.email.toLowerCase()).sort(),
    );
    expect(new Set(ledger.map((row) => row.origin))).toEqual(new Set(['made']));
    const added = await current.db.sql<{ userId: string }[]>`
      select user_id as "userId" from audience_sync.run_users
      where run_id = ${runId} and outcome = 'added'`;
    expect(added).toHaveLength(members.length);
    expect(progress.added).toBe(members.length);
    // The joined existing contacts are fewer than all of them: the cancel stopped the joins.
    const joined = members.filter((contact) =>
      existing.some((user) => user.email === contact.email.toLowerCase()),
    );
    expect(joined.length).toBeLessThan(existing.length);
  }, 240_000);
});
