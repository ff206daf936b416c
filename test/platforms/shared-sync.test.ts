import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newRunId, startRun, waitForRun } from '../../client/sync-runs.js';
import type { SyncRequest, SyncRunResult } from '../../common/sync.js';
import { createUsersTable, type DemoMix, seedDemoUsers } from '../../db/demo-users.js';
import { ELIGIBLE_SQL } from '../support/app-stack.js';
import {
  type ContactView,
  type ExistingContact,
  type PlatformsStack,
  type PlatformUnderTest,
  startPlatformsStack,
} from '../support/platforms-stack.js';
import { uniqueName } from '../support/stack.js';

/**
 * The same promises, asserted against three platforms of different shapes through the real
 * workflow, activities, Postgres and Temporal: Resend (through its emulator: a rate limit,
 * creates that reset omitted fields, a directory of existing contacts), Loops (through its
 * emulator: contacts keyed by the user's id, mailing lists that are subscriptions and that only a
 * person can make, no tag lists) and the in-memory, Mailchimp-shaped one (a connection limit,
 * upserts by email, bulk list membership). Where a platform cannot make a list, the test makes it
 * first; where it has no tag lists, the run has no tags.
 */

/** Above 500, so a batch of the memory platform needs more than one bulk call per list. */
const BATCH_SIZE = 700;

let stack: PlatformsStack;

beforeAll(async () => {
  stack = await startPlatformsStack({
    emulator: { rateLimit: 500 },
    worker: { SYNC_BATCH_SIZE: String(BATCH_SIZE) },
  });
});

afterAll(async () => {
  await stack?.stop();
});

const sql = () => stack.app.db.sql;

/** Each test's users have ids (and so emails) of their own: platforms keep earlier tests' contacts. */
let nextFirstId = 1;

/** Replaces the users relation with `count` fresh demo users of the given mix. */
async function freshUsers(count: number, mix: DemoMix): Promise<void> {
  await createUsersTable(sql());
  await sql()`truncate users`;
  await seedDemoUsers(sql(), { count, mix, firstId: nextFirstId });
  nextFirstId += 1_000_000;
}

/** Runs a sync through the Temporal client (the API only names the platforms the service ships). */
async function sync(
  platform: PlatformUnderTest,
  request: Partial<SyncRequest> & { listName: string },
): Promise<SyncRunResult & { listId: string }> {
  const runId = newRunId(`shared-${platform.name}-${request.syncType ?? 'all'}`);
  await startRun(stack.app.client, stack.app.workerConfig.TEMPORAL_TASK_QUEUE, runId, {
    platform: platform.name,
    syncType: 'all',
    tags: [],
    filterActive: false,
    activeDays: 30,
    trigger: 'api',
    ...request,
  });
  const outcome = await waitForRun(stack.app.client, runId, 120_000);
  if (outcome.state !== 'completed') {
    throw new Error(`run ${runId} ended ${JSON.stringify(outcome)}`);
  }
  const { listId } = outcome.result;
  if (!listId) throw new Error(`run ${runId} has no list`);
  return { ...outcome.result, listId };
}

const byEmail = (a: { email: string }, b: { email: string }) =>
  a.email < b.email ? -1 : a.email > b.email ? 1 : 0;

/**
 * What the list must hold, from SQL written apart from the service's: every eligible distinct
 * email once, with the names of its first user by id, subscribed.
 */
async function expectedMembers(): Promise<ContactView[]> {
  const rows = await sql().unsafe<{ email: string; firstName: string; lastName: string }[]>(`
    select distinct on (lower(btrim(email))) lower(btrim(email)) as email,
      first_name as "firstName", last_name as "lastName"
    from users where ${ELIGIBLE_SQL} order by lower(btrim(email)), id`);
  return rows.map((row) => ({ ...row, unsubscribed: false })).sort(byEmail);
}

/** Every user's email (lowercased, trimmed), eligible or not. */
async function everyEmail(): Promise<string[]> {
  const rows = await sql()<{ email: string }[]>`
    select distinct lower(btrim(email)) as email from users where email is not null`;
  return rows.map((row) => row.email);
}

/** Emails whose count in `counts` differs from `expected(email)`, with both numbers. */
function miscounted(
  emails: string[],
  counts: Map<string, number>,
  expected: (email: string) => number,
): string[] {
  return emails
    .filter((email) => (counts.get(email) ?? 0) !== expected(email))
    .map((email) => `${email}: ${counts.get(email) ?? 0} instead of ${expected(email)}`);
}

/** Every user the run looked at has one outcome, and the counts add up to the population. */
async function expectAccountedFor(result: SyncRunResult): Promise<void> {
  const [population] = await sql()<{ count: number }[]>`
    select count(*)::int as count from users where deleted_at is null`;
  const { total, processed, added, skipped, failed } = result.progress;
  expect(processed).toBe(population?.count);
  expect(added + skipped + failed).toBe(processed);
  expect(total).toBe(processed);
  const rows = await sql()<{ outcome: 'added' | 'skipped' | 'failed'; count: number }[]>`
    select outcome, count(*)::int as count from (
      select outcome from audience_sync.run_users where run_id = ${result.runId}
      union all
      select 'added' from audience_sync.run_unchanged_members, unnest(user_ids)
      where run_id = ${result.runId}) recorded
    group by outcome`;
  const recorded = Object.fromEntries(rows.map((row) => [row.outcome, row.count]));
  expect({ added: 0, skipped: 0, failed: 0, ...recorded }).toEqual({ added, skipped, failed });
}

/** `userId:outcome[:reason]` of these users in the run, by user id. */
async function outcomesOf(runId: string, userIds: string[]): Promise<string[]> {
  const rows = await sql()<{ userId: string; outcome: string; reason: string | null }[]>`
    select user_id as "userId", outcome, reason from audience_sync.run_users
    where run_id = ${runId} and user_id = any(${userIds}::text[]) order by user_id::bigint`;
  return rows.map((row) =>
    [row.userId, row.outcome, ...(row.reason ? [row.reason] : [])].join(':'),
  );
}

/** No two contacts of the account share an email. */
async function expectOneContactPerEmail(platform: PlatformUnderTest): Promise<void> {
  const emails = (await platform.contacts()).map((contact) => contact.email);
  expect(emails.length - new Set(emails).size).toBe(0);
}

function platformNamed(name: string): PlatformUnderTest {
  const found = stack.platforms.find((candidate) => candidate.name === name);
  if (!found) throw new Error(`no platform ${name} under test`);
  return found;
}

describe.each(['resend', 'loops', 'memory'])('a sync on %s', (name) => {
  const platform = () => platformNamed(name);

  it('puts every eligible user into the list and its tag list exactly once', async () => {
    const p = platform();
    await freshUsers(800, 'demo');
    const listName = uniqueName('Everyone');
    const tag = uniqueName('vip');
    const list = await p.newList(listName);
    const mark = await p.mark();
    const result = await sync(p, { ...list, tags: p.tagsAsLists ? [tag] : [] });

    const expected = await expectedMembers();
    expect(expected.length).toBeGreaterThan(650);
    expect(await p.members(result.listId)).toEqual(expected);
    expect(await p.listsNamed(listName)).toEqual([result.listId]);
    if (p.tagsAsLists) {
      const tagLists = await p.listsNamed(tag);
      expect(tagLists).toHaveLength(1);
      expect(await p.members(tagLists[0] ?? '')).toEqual(expected);
    }

    // Each eligible email is sent and created once; the others are never sent.
    const eligible = new Set(expected.map((contact) => contact.email));
    const once = (email: string) => (eligible.has(email) ? 1 : 0);
    const writes = await p.contactWrites(mark);
    const emails = await everyEmail();
    expect(miscounted(emails, writes.sent, once)).toEqual([]);
    expect(miscounted(emails, writes.created, once)).toEqual([]);
    await expectOneContactPerEmail(p);

    expect(result.progress.added).toBe(expected.length);
    await expectAccountedFor(result);
    const reasons = await sql()<{ outcome: string; reason: string | null }[]>`
      select distinct outcome, reason from audience_sync.run_users
      where run_id = ${result.runId} order by outcome, reason`;
    expect(reasons.map((row) => `${row.outcome}:${row.reason ?? ''}`)).toEqual([
      'added:',
      'failed:invalid_email',
      'skipped:duplicate_email',
      'skipped:opted_out',
    ]);
  });

  it('loses and duplicates nothing when calls fail and writes lose their answers', async () => {
    const p = platform();
    await freshUsers(800, 'eligible');
    const listName = uniqueName('Faulty');
    const list = await p.newList(listName);
    const mark = await p.mark();
    p.injectFaults(41);
    let result: SyncRunResult & { listId: string };
    try {
      result = await sync(p, list);
    } finally {
      p.clearFaults();
    }

    expect(await p.faultsSince(mark)).toEqual(expect.arrayContaining([...p.expectedFaults]));
    const expected = await expectedMembers();
    expect(expected).toHaveLength(800);
    expect(await p.members(result.listId)).toEqual(expected);
    expect(await p.listsNamed(listName)).toEqual([result.listId]);
    const { created } = await p.contactWrites(mark);
    expect(miscounted(await everyEmail(), created, () => 1)).toEqual([]);
    await expectOneContactPerEmail(p);
    expect(result.progress).toMatchObject({ added: 800, skipped: 0, failed: 0 });
    await expectAccountedFor(result);
  });

  it('never re-subscribes or renames contacts that existed before the sync', async () => {
    const p = platform();
    await freshUsers(300, 'eligible');
    const users = await sql()<{ email: string; firstName: string; lastName: string }[]>`
      select email, first_name as "firstName", last_name as "lastName" from users order by id`;
    // The first 90 exist already: every third unsubscribed, every fifth renamed there, every
    // fourth with its email in another case.
    const existing: ExistingContact[] = users.slice(0, 90).map((user, index) => ({
      email: index % 4 === 0 ? user.email.toUpperCase() : user.email,
      firstName: index % 5 === 0 ? `Renamed ${index}` : user.firstName,
      lastName: index % 5 === 0 ? 'Changed Elsewhere' : user.lastName,
      unsubscribed: index % 3 === 0,
    }));
    await p.seedContacts(existing);
    const list = await p.newList(uniqueName('Returning'));
    const mark = await p.mark();
    const result = await sync(p, list);

    const before = new Map(existing.map((contact) => [contact.email.toLowerCase(), contact]));
    const expected = (await expectedMembers()).map((contact) => {
      const seeded = before.get(contact.email);
      return seeded ? { ...seeded, email: contact.email } : contact;
    });
    expect(expected.filter((contact) => contact.unsubscribed)).toHaveLength(30);
    // Where the platform says who unsubscribed, those users are skipped and their contacts stay
    // as they were, out of the new list; elsewhere they join it, still unsubscribed.
    const skipsUnsubscribed = p.skipsUnsubscribedContacts;
    expect(await p.members(result.listId)).toEqual(
      skipsUnsubscribed ? expected.filter((contact) => !contact.unsubscribed) : expected,
    );
    if (skipsUnsubscribed) {
      const now = new Map((await p.contacts()).map((contact) => [contact.email, contact]));
      for (const contact of expected.filter((candidate) => candidate.unsubscribed)) {
        expect(now.get(contact.email)).toEqual(contact);
      }
    }
    const { created } = await p.contactWrites(mark);
    expect(miscounted(await everyEmail(), created, (email) => (before.has(email) ? 0 : 1))).toEqual(
      [],
    );
    await expectOneContactPerEmail(p);
    expect(result.progress).toMatchObject(
      skipsUnsubscribed
        ? { added: 270, skipped: 30, failed: 0 }
        : { added: 300, skipped: 0, failed: 0 },
    );
    await expectAccountedFor(result);
  });

  it('adds and writes nothing in a second run with sync_type new', async () => {
    const p = platform();
    await freshUsers(400, 'demo');
    const tag = uniqueName('weekly');
    const tags = p.tagsAsLists ? [tag] : [];
    const first = await sync(p, { ...(await p.newList(uniqueName('Synced twice'))), tags });
    const expected = await expectedMembers();
    expect(await p.members(first.listId)).toEqual(expected);

    const mark = await p.mark();
    const second = await sync(p, {
      listId: first.listId,
      listName: '',
      syncType: 'new',
      tags,
    });
    expect(second.listId).toBe(first.listId);
    expect(second.progress.added).toBe(0);
    expect(second.progress.processed).toBe(
      second.progress.added + second.progress.skipped + second.progress.failed,
    );
    expect(await p.writesSince(mark)).toEqual([]);
    expect(await p.members(first.listId)).toEqual(expected);
    if (p.tagsAsLists) {
      const tagLists = await p.listsNamed(tag);
      expect(tagLists).toHaveLength(1);
      expect(await p.members(tagLists[0] ?? '')).toEqual(expected);
    }
  });

  it('unsubscribes a user who opted out since, and never re-subscribes them', async () => {
    const p = platform();
    await freshUsers(100, 'eligible');
    const first = await sync(p, await p.newList(uniqueName('Before an opt-out')));
    const expected = await expectedMembers();
    expect(await p.members(first.listId)).toEqual(expected);

    const [user] = await sql()<{ id: string; email: string }[]>`
      update users set marketing_opt_out = true where id = (select min(id) from users)
      returning id::text, lower(email) as email`;
    const newRun = await sync(p, { listId: first.listId, listName: '', syncType: 'new' });
    expect(newRun.progress).toMatchObject({ added: 0, skipped: 1, failed: 0 });
    const withOptOut = expected.map((contact) =>
      contact.email === user?.email ? { ...contact, unsubscribed: true } : contact,
    );
    expect(await p.members(first.listId)).toEqual(withOptOut);

    await sql()`update users set marketing_opt_out = false where id = ${user?.id ?? ''}`;
    const allRun = await sync(p, { listId: first.listId, listName: '' });
    // A platform that reports the contact unsubscribed (as this service marked it) has the user
    // skipped as unsubscribed_in_platform; either way the contact stays unsubscribed.
    expect(allRun.progress).toMatchObject(
      p.skipsUnsubscribedContacts
        ? { added: 99, skipped: 1, failed: 0 }
        : { added: 100, skipped: 0, failed: 0 },
    );
    expect(await p.members(first.listId)).toEqual(withOptOut);
  });

  it('never creates a contact deleted on the platform again, in its list or another, until the app lifts it', async () => {
    const p = platform();
    await freshUsers(20, 'eligible');
    const first = await sync(p, await p.newList(uniqueName('Before a deletion')));
    const [gone, renamed] = await sql()<{ id: string; email: string }[]>`
      select id::text, lower(email) as email from users order by id limit 2`;
    if (!gone || !renamed) throw new Error('the test seeds 20 users');
    // Deleted in the platform's own UI, without a webhook; the app renames one of them.
    await p.deleteContact(gone.email);
    await p.deleteContact(renamed.email);
    await sql()`update users set first_name = 'Renamed' where id = ${renamed.id}`;
    const mark = await p.mark();

    // The rename is a patch of the contact this service knew: the platform says it is gone.
    const same = await sync(p, { listId: first.listId, listName: '' });
    expect(await outcomesOf(same.runId, [renamed.id])).toEqual([
      `${renamed.id}:skipped:deleted_in_platform`,
    ]);
    // Another list: the contact this service knew is joined, not created, and is gone too.
    const other = await sync(p, await p.newList(uniqueName('After a deletion')));
    expect(await outcomesOf(other.runId, [gone.id, renamed.id])).toEqual([
      `${gone.id}:skipped:deleted_in_platform`,
      `${renamed.id}:skipped:deleted_in_platform`,
    ]);
    const deleted = new Set([gone.email, renamed.email]);
    const { created } = await p.contactWrites(mark);
    expect([...created.keys()].filter((email) => deleted.has(email))).toEqual([]);
    const remaining = (await p.contacts()).map((contact) => contact.email);
    expect(remaining.filter((email) => deleted.has(email))).toEqual([]);
    const expected = await expectedMembers();
    expect(await p.members(other.listId)).toEqual(
      expected.filter((contact) => !deleted.has(contact.email)),
    );
    await expectAccountedFor(other);

    // The app says one of them consented again: the next run creates a new, subscribed contact.
    const lifted = await stack.app.call('POST', `/api/marketing/opt-outs/${gone.id}/lift`);
    expect(lifted.status).toBe(200);
    expect(lifted.body).toEqual({ success: true, userId: gone.id, lifted: 1 });
    const after = await sync(p, { listId: other.listId, listName: '' });
    expect(await outcomesOf(after.runId, [gone.id, renamed.id])).toEqual([
      `${gone.id}:added`,
      `${renamed.id}:skipped:deleted_in_platform`,
    ]);
    expect(await p.members(other.listId)).toEqual(
      expected.filter((contact) => contact.email !== renamed.email),
    );
  });
});

describe('the in-memory platform end to end', () => {
  it('upserts each contact once, changes lists in bulk and stays within its connections', async () => {
    const { memory } = stack;
    await freshUsers(1100, 'eligible');
    const mark = memory.store.mark();
    const result = await sync(platformNamed(memory.name), {
      listName: uniqueName('Bulk'),
      tags: [uniqueName('bulk-tag')],
    });
    expect(result.progress.added).toBe(1100);

    const calls = memory.store.callsSince(mark);
    expect(new Set(calls.map((call) => call.op))).toEqual(
      new Set(['createList', 'findLists', 'putMember', 'addToList']),
    );
    expect(calls.filter((call) => call.op === 'putMember')).toHaveLength(1100);
    // Batches of 700 and 400 users: bulk adds of 500 + 200, then 400, for each of the two lists.
    const bulk = calls.filter((call) => call.op === 'addToList').map((call) => call.emails.length);
    expect(bulk.sort((a, b) => a - b)).toEqual([200, 200, 400, 400, 500, 500]);
    expect(memory.store.peakConnections).toBeLessThanOrEqual(10);
    expect(calls.filter((call) => call.outcome === 'too_many_connections')).toEqual([]);
  });
});
