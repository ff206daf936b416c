import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailHash } from '../../common/emails.js';
import { seedDemoUsers } from '../../db/demo-users.js';
import { deleteExpiredRunData } from '../../db/retention.js';
import type { WorkerProcess } from '../../dev/worker-process.js';
import {
  type AppStack,
  emulatedContacts,
  startAppStack,
  waitForRunEnd,
} from '../support/app-stack.js';
import { exportRunHistories, historyText } from '../support/histories.js';
import { schemaColumnsHolding } from '../support/schema-search.js';
import { waitFor } from '../support/stack.js';
import { killableWorkers } from '../support/worker-processes.js';

let stack: AppStack;
let firstWorker: WorkerProcess | undefined;
const workers = killableWorkers();

/** Ids far from anything else the schema holds, so a search for one finds only that user. */
const FIRST_ID = 8_100_000_001;

beforeAll(async () => {
  stack = await startAppStack({ emulator: { rateLimit: 200 }, inProcessWorker: false });
  firstWorker = workers.start(stack.workerConfig);
});

afterAll(async () => {
  await workers.stopAll();
  await stack?.stop();
});

interface UserRow {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
  full_name: string;
}

/** Seeds `count` users from `firstId` and syncs them into a new audience; answers the users. */
async function syncedUsers(firstId: number, count: number, audienceName: string) {
  await seedDemoUsers(stack.db.sql, { count, firstId, mix: 'eligible' });
  const started = await stack.call(
    'POST',
    '/api/marketing/sync',
    {
      platform: 'resend',
      list_name: audienceName,
      sync_type: 'specific',
      user_ids: Array.from({ length: count }, (_, index) => String(firstId + index)),
    },
    { prefer: 'respond-async' },
  );
  expect(started.status).toBe(202);
  const finished = await waitForRunEnd(stack, started.body.runId);
  expect(finished).toMatchObject({ status: 'completed', progress: { added: count } });
  const users = await stack.db.sql<UserRow[]>`
    select id::text as id, lower(email) as email, first_name, last_name, full_name from users
    where id between ${firstId} and ${firstId + count - 1} order by id`;
  return { users, runId: started.body.runId as string, listId: finished.audience.id as string };
}

async function erase(userIds: string[]) {
  const started = await stack.call('POST', '/api/marketing/erasures', { user_ids: userIds });
  expect(started.status).toBe(202);
  expect(started.headers.get('location')).toBe(started.body.statusUrl);
  return started.body.erasureId as string;
}

async function waitForErasureEnd(erasureId: string, timeoutMs = 180_000) {
  return waitFor(
    async () => {
      const status = await stack.call('GET', `/api/marketing/erasures/${erasureId}`);
      return status.status === 200 && status.body.status !== 'running' && status.body;
    },
    { timeoutMs, intervalMs: 200, what: `erasure ${erasureId} to end` },
  );
}

const contactEmails = async () =>
  (await emulatedContacts(stack.emulator)).map((contact) => contact.email.toLowerCase()).sort();

describe('POST /api/marketing/erasures', () => {
  it('deletes the contacts and leaves only a tombstone naming the users; a repeat is harmless', async () => {
    const { users, runId } = await syncedUsers(FIRST_ID, 10, 'Erasure audience');
    const erased = users.slice(0, 3);
    const kept = users.slice(3);
    // One of them is gone from the users relation already: found through the service's tables.
    await stack.db.sql`delete from users where id = ${erased[0]?.id ?? ''}`;
    const everyoneBefore = await contactEmails();
    expect(everyoneBefore).toEqual(expect.arrayContaining(users.map((user) => user.email)));

    const erasureId = await erase(erased.map((user) => user.id));
    const finished = await waitForErasureEnd(erasureId);
    expect(finished).toMatchObject({
      success: true,
      erasureId,
      status: 'completed',
      trigger: 'api',
      progress: { requested: 3, erased: 3, contactsDeleted: 3, failed: 0, pending: 0 },
    });

    const erasedEmails = erased.map((user) => user.email);
    expect(await contactEmails()).toEqual(
      everyoneBefore.filter((email) => !erasedEmails.includes(email)),
    );
    for (const user of erased) {
      expect(Object.fromEntries(await schemaColumnsHolding(stack.db.sql, user.id))).toEqual({
        'erasure_tombstones.user_id': 1,
      });
    }
    // The others keep their rows: their outcomes and their place in the ledger.
    for (const user of kept) {
      const found = await schemaColumnsHolding(stack.db.sql, user.id);
      expect(found.get('run_users.user_id')).toBe(1);
      expect(found.get('list_members.user_id')).toBe(1);
    }
    const tombstones = await stack.db.sql<{ userId: string; emailHash: string }[]>`
      select user_id as "userId", email_hash as "emailHash" from audience_sync.erasure_tombstones
      where user_id = any(${erased.map((user) => user.id)}::text[]) order by user_id`;
    expect(tombstones).toEqual(
      erased.map((user) => ({ userId: user.id, emailHash: emailHash(user.email) })),
    );
    // The run's summary stays.
    const [run] = await stack.db.sql`
      select added, processed from audience_sync.runs where run_id = ${runId}`;
    expect(run).toEqual({ added: 10, processed: 10 });

    const repeatId = await erase(erased.map((user) => user.id));
    expect(repeatId).not.toBe(erasureId);
    expect(await waitForErasureEnd(repeatId)).toMatchObject({
      status: 'completed',
      progress: { requested: 3, erased: 3, contactsDeleted: 0, failed: 0, pending: 0 },
    });
    expect(await contactEmails()).toEqual(
      everyoneBefore.filter((email) => !erasedEmails.includes(email)),
    );
    const [{ count } = { count: -1 }] = await stack.db.sql<{ count: number }[]>`
      select count(*)::int as count from audience_sync.erasure_tombstones
      where user_id = any(${erased.map((user) => user.id)}::text[])`;
    expect(count).toBe(3);
    for (const user of erased) {
      expect([...(await schemaColumnsHolding(stack.db.sql, user.id)).keys()]).toEqual([
        'erasure_tombstones.user_id',
      ]);
    }

    const text = historyText([
      ...(await exportRunHistories(stack.client, erasureId)),
      ...(await exportRunHistories(stack.client, repeatId)),
    ]);
    expect(text).toContain(erasureId);
    const leaks = erased.filter(
      (user) =>
        text.includes(user.email) ||
        text.includes(user.full_name) ||
        text.includes(`"${user.last_name}"`),
    );
    expect(leaks).toEqual([]);
  });

  it('keeps a later sync from re-creating an erased contact', async () => {
    const firstId = FIRST_ID + 500;
    const { users } = await syncedUsers(firstId, 3, 'Before the erasure');
    const [keptUser, ...erased] = users;
    if (!keptUser) throw new Error('seeding failed');
    const erasureId = await erase(erased.map((user) => user.id));
    expect(await waitForErasureEnd(erasureId)).toMatchObject({ status: 'completed' });

    const again = await stack.call(
      'POST',
      '/api/marketing/sync',
      {
        platform: 'resend',
        list_name: 'After the erasure',
        sync_type: 'specific',
        user_ids: users.map((user) => user.id),
      },
      { prefer: 'respond-async' },
    );
    const finished = await waitForRunEnd(stack, again.body.runId);
    expect(finished).toMatchObject({
      status: 'completed',
      progress: { processed: 3, added: 1, skipped: 2, failed: 0 },
    });
    const skipped = await stack.db.sql`
      select user_id, reason from audience_sync.run_users
      where run_id = ${again.body.runId} and outcome = 'skipped' order by user_id`;
    expect(skipped).toEqual(
      erased.map((user) => ({ user_id: user.id, reason: 'deleted_in_platform' })),
    );
    const left = new Set(await contactEmails());
    expect(erased.filter((user) => left.has(user.email))).toEqual([]);
    expect(left.has(keptUser.email)).toBe(true);
    // The feed names them once, as erased (the skip adds no second opt-out).
    const feed = await stack.call('GET', '/api/marketing/opt-outs?limit=1000');
    expect(feed.status).toBe(200);
    const mentions = feed.body.data.filter((entry: { userId: string }) =>
      erased.some((user) => user.id === entry.userId),
    );
    expect(mentions.map((entry: { userId: string; origin: string }) => entry)).toEqual(
      erased.map((user) => expect.objectContaining({ userId: user.id, origin: 'erased' })),
    );
  });

  it('reports ids of no user as not_found, leaves nothing of them and does not fail', async () => {
    const erasureId = await erase(['no-such-user', '8100999999']);
    expect(await waitForErasureEnd(erasureId)).toMatchObject({
      status: 'completed',
      progress: { requested: 2, erased: 0, notFound: 2, contactsDeleted: 0, failed: 0, pending: 0 },
    });
    for (const id of ['no-such-user', '8100999999']) {
      expect([...(await schemaColumnsHolding(stack.db.sql, id)).keys()]).toEqual([]);
    }
  });

  it('deletes the contact of an email the user changed longer ago than the retention', async () => {
    const { users, runId: firstRunId, listId } = await syncedUsers(FIRST_ID + 700, 1, 'Old email');
    const [user] = users;
    if (!user) throw new Error('seeding failed');
    const newEmail = `changed.${user.email}`;
    await stack.db.sql`update users set email = ${newEmail} where id = ${user.id}`;
    // Synced again into the same list: a new contact; the old one leaves the list but stays.
    const again = await stack.call(
      'POST',
      '/api/marketing/sync',
      { platform: 'resend', list_id: listId, sync_type: 'specific', user_ids: [user.id] },
      { prefer: 'respond-async' },
    );
    expect(await waitForRunEnd(stack, again.body.runId)).toMatchObject({
      status: 'completed',
      progress: { added: 1 },
    });
    expect(await contactEmails()).toEqual(expect.arrayContaining([user.email, newEmail]));
    // Both runs ended longer ago than RUN_RETENTION_DAYS: retention deletes their per-user rows.
    await stack.db.sql`
      update audience_sync.runs set finished_at = now() - interval '31 days'
      where run_id = any(${[firstRunId, again.body.runId]}::text[])`;
    await deleteExpiredRunData(stack.db.sql, 30);
    expect(
      await stack.db.sql`
      select 1 from audience_sync.run_emails where user_id = ${user.id}`,
    ).toEqual([]);

    const erasureId = await erase([user.id]);
    expect(await waitForErasureEnd(erasureId)).toMatchObject({
      status: 'completed',
      progress: { requested: 1, erased: 1, contactsDeleted: 2, failed: 0, pending: 0 },
    });
    const left = await contactEmails();
    expect([user.email, newEmail].filter((email) => left.includes(email))).toEqual([]);
    const tombstones = await stack.db.sql<{ emailHash: string }[]>`
      select email_hash as "emailHash" from audience_sync.erasure_tombstones
      where user_id = ${user.id} order by 1`;
    expect(tombstones.map((row) => row.emailHash)).toEqual(
      [emailHash(user.email), emailHash(newEmail)].sort(),
    );
    expect([...(await schemaColumnsHolding(stack.db.sql, user.id)).keys()]).toEqual([
      'erasure_tombstones.user_id',
    ]);
  });

  it('resumes on another worker after the first is killed mid-erasure', async () => {
    const firstId = FIRST_ID + 1000;
    const { users } = await syncedUsers(firstId, 300, 'Erasure crash audience');
    // Slow enough that the erasure is still going when the worker dies.
    await fetch(`${stack.emulator.url}/_emulator/config`, {
      method: 'PUT',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ rateLimit: 10 }),
    });
    try {
      const erasureId = await erase(users.map((user) => user.id));
      await waitFor(
        async () => {
          const status = await stack.call('GET', `/api/marketing/erasures/${erasureId}`);
          return status.body.progress.erased >= 100 && status.body.progress.pending > 0;
        },
        { timeoutMs: 120_000, intervalMs: 100, what: 'the first batches of the erasure' },
      );
      const first = firstWorker;
      if (!first) throw new Error('no worker');
      first.child.kill('SIGKILL');
      expect(await first.exited).toBe('SIGKILL');
      const atCrash = await stack.call('GET', `/api/marketing/erasures/${erasureId}`);
      expect(atCrash.body.progress.pending).toBeGreaterThan(0);

      workers.start(stack.workerConfig);
      const finished = await waitForErasureEnd(erasureId, 240_000);
      expect(finished).toMatchObject({
        status: 'completed',
        progress: { requested: 300, erased: 300, failed: 0, pending: 0 },
      });
      // A contact deleted just before the crash is not found again: it counts once or not at all.
      expect(finished.progress.contactsDeleted).toBeLessThanOrEqual(300);
      expect(finished.progress.contactsDeleted).toBeGreaterThanOrEqual(300 - 100);
      const left = new Set(await contactEmails());
      expect(users.filter((user) => left.has(user.email))).toEqual([]);
      const tombstoned = await stack.db.sql<{ userId: string }[]>`
        select distinct user_id as "userId" from audience_sync.erasure_tombstones
        where user_id = any(${users.map((user) => user.id)}::text[]) order by 1`;
      expect(tombstoned.map((row) => row.userId)).toEqual(users.map((user) => user.id).sort());
      const [pending] = await stack.db.sql`
        select count(*)::int as count from audience_sync.erasure_users where erasure_id = ${erasureId}`;
      expect(pending).toEqual({ count: 0 });
    } finally {
      await fetch(`${stack.emulator.url}/_emulator/config`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ rateLimit: 200 }),
      });
    }
  }, 420_000);

  it('refuses a body without user ids, with too many, or with fields it does not know', async () => {
    for (const body of [
      {},
      { user_ids: [] },
      { user_ids: 'x' },
      { user_ids: ['1'], extra: true },
      { user_ids: Array.from({ length: 10_001 }, (_, index) => String(index)) },
    ]) {
      const answer = await stack.call('POST', '/api/marketing/erasures', body);
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ success: false, error: { code: 'invalid_request' } });
    }
    const unknown = await stack.call('GET', '/api/marketing/erasures/erasure-unknown');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ success: false, error: { code: 'erasure_not_found' } });
  });
});
