import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { emptyCounts } from '../../common/sync.js';
import { createUsersTable } from '../../db/demo-users.js';
import { deleteExpiredRunData } from '../../db/retention.js';
import { recordUnchangedMembers } from '../../db/unchanged-members.js';
import {
  type AppStack,
  emulatedContacts,
  type LoggedRequest,
  requestLog,
  startAppStack,
} from '../support/app-stack.js';
import { uniqueName, waitFor } from '../support/stack.js';
import { outcomesOf, type TestUser, testUsers } from '../support/test-users.js';

/**
 * A list kept by recurring mirror runs (`sync_type: all`) reads only its change set: the users a
 * run has something to do for are read and sent batch by batch, and its unchanged members are
 * recorded without being read one by one, so every user still ends with an outcome and the
 * counts add up. Batches of two users make the reading visible in the run's checkpoints. The
 * unchanged members are kept compactly, not as a row each, and everything that answers about the
 * run's users answers as it did with a row each: the users listing (pages, filters, CSV), the
 * counts, the leavers, a repeat of the recording, erasure and retention.
 */

let stack: AppStack;
const users = testUsers(() => stack.db.sql);
const allowed = { PROPERTY_COLUMNS: 'plan' };

beforeAll(async () => {
  stack = await startAppStack({
    emulator: { rateLimit: 300 },
    api: allowed,
    worker: { ...allowed, SYNC_BATCH_SIZE: '2' },
  });
  await createUsersTable(stack.db.sql);
  await stack.db.sql`alter table users add column plan text`;
});

afterAll(async () => {
  await stack?.stop();
});

// Mirror runs sync the whole relation: each test's population is its own users.
beforeEach(async () => {
  await stack.db.sql`delete from users`;
});

async function sync(body: Record<string, unknown>) {
  const answer = await stack.call('POST', '/api/marketing/sync', {
    platform: 'resend',
    mode: 'mirror',
    sync_type: 'all',
    properties: { plan: 'plan' },
    ...body,
  });
  expect(answer.status).toBe(200);
  return { runId: answer.body.runId as string, listId: answer.body.list_id as string };
}

const lastSeq = async () => (await requestLog(stack.emulator)).at(-1)?.seq ?? 0;

/** The requests since `mark`, as `METHOD path`, sorted. */
const routesSince = async (mark: number): Promise<string[]> =>
  (await requestLog(stack.emulator, `&since_seq=${mark}`))
    .map((entry: LoggedRequest) => `${entry.method} ${entry.path}`)
    .sort();

const contactsByEmail = async () =>
  new Map((await emulatedContacts(stack.emulator)).map((contact) => [contact.email, contact]));

/** The run's counts as GET run answers them. */
const countsOf = async (runId: string) => {
  const answer = await stack.call('GET', `/api/marketing/sync-users/${encodeURIComponent(runId)}`);
  expect(answer.status).toBe(200);
  const { total, processed, added, updated, skipped, failed, removed, unsubscribed } =
    answer.body.progress;
  return { total, processed, added, updated, skipped, failed, removed, unsubscribed };
};

/** The run's checkpointed batches. */
const batchesOf = async (runId: string) =>
  (
    await stack.db.sql<{ batchNo: number }[]>`
      select batch_no as "batchNo" from audience_sync.run_batches
      where run_id = ${runId} order by batch_no`
  ).map((row) => row.batchNo);

const everyAdded = (of: TestUser[]) => Object.fromEntries(of.map((user) => [user.id, 'added']));

describe('an all run reads only what changed', () => {
  it('finds a mapped field, an email and a leaver that changed, and sends nothing for the rest', async () => {
    const everyone = await users.addMany('changeset', 10);
    await stack.db.sql`update users set plan = 'free'`;
    const [, planChanged, , , moved, , , leaver] = everyone;
    if (!planChanged || !moved || !leaver) throw new Error('no users');
    const first = await sync({ list_name: uniqueName('Change set') });
    const segment = first.listId;
    expect(await outcomesOf(stack.db.sql, first.runId, everyone)).toEqual(everyAdded(everyone));
    const before = await contactsByEmail();

    const newEmail = `new.${moved.email}`;
    await stack.db.sql`update users set plan = 'pro' where id = ${planChanged.id}`;
    await stack.db.sql`update users set email = ${newEmail} where id = ${moved.id}`;
    await stack.db.sql`update users set deleted_at = now() where id = ${leaver.id}`;
    const stayers = everyone.filter((user) => user !== leaver);
    const mark = await lastSeq();
    const run = await sync({ list_id: segment });

    expect(await outcomesOf(stack.db.sql, run.runId, everyone)).toEqual(everyAdded(stayers));
    expect(await countsOf(run.runId)).toEqual({
      total: 9,
      processed: 9,
      added: 9,
      updated: 1,
      skipped: 0,
      failed: 0,
      removed: 1,
      unsubscribed: 0,
    });
    // Two changed users in the population: one batch of them, then the end of the population.
    expect(await batchesOf(run.runId)).toEqual([1, 2]);
    const routes = await routesSince(mark);
    expect(routes.filter((route) => !route.startsWith('GET '))).toEqual(
      [
        `DELETE /contacts/${before.get(moved.email)?.id}/segments/${segment}`,
        `DELETE /contacts/${before.get(leaver.email)?.id}/segments/${segment}`,
        `PATCH /contacts/${before.get(planChanged.email)?.id}`,
        'POST /contacts',
      ].sort(),
    );
    for (const user of stayers.filter((one) => one !== planChanged && one !== moved)) {
      const id = before.get(user.email)?.id ?? '';
      expect(routes.filter((route) => route.includes(id) || route.includes(user.email))).toEqual(
        [],
      );
    }
    const after = await contactsByEmail();
    expect(after.get(planChanged.email)?.properties).toEqual({ plan: 'pro' });
    const members = await emulatedContacts(stack.emulator, `&segment_id=${segment}`);
    expect(members.map((contact) => contact.email).sort()).toEqual(
      stayers.map((user) => (user === moved ? newEmail : user.email)).sort(),
    );

    // Nothing changed since: no user is read, every one is recorded, no contact is named.
    const quietMark = await lastSeq();
    const quiet = await sync({ list_id: segment });
    expect(await outcomesOf(stack.db.sql, quiet.runId, everyone)).toEqual(everyAdded(stayers));
    expect(await countsOf(quiet.runId)).toEqual({
      total: 9,
      processed: 9,
      added: 9,
      updated: 0,
      skipped: 0,
      failed: 0,
      removed: 0,
      unsubscribed: 0,
    });
    expect(await batchesOf(quiet.runId)).toEqual([1]);
    expect((await routesSince(quietMark)).filter((route) => !route.startsWith('GET '))).toEqual([]);
  });

  it('meets a member again once when its fields were sent under other credentials', async () => {
    const [kept, rekeyed] = await users.addMany('rekeyed', 2);
    if (!kept || !rekeyed) throw new Error('no users');
    const first = await sync({ list_name: uniqueName('Rekeyed') });
    const segment = first.listId;
    const rekeyedId = (await contactsByEmail()).get(rekeyed.email)?.id ?? '';
    // As a new API key leaves them: what was sent is known for the old account only.
    await stack.db.sql`
      update audience_sync.contact_fields set account = 'resend:an-older-key'
      where user_id = ${rekeyed.id}`;
    const accountsOf = async () =>
      (
        await stack.db.sql<{ account: string }[]>`
          select account from audience_sync.contact_fields where user_id = ${rekeyed.id}`
      ).length;

    // Met again (it is in the list, with names): its fields are known for this account now.
    const mark = await lastSeq();
    const met = await sync({ list_id: segment });
    expect(await outcomesOf(stack.db.sql, met.runId, [kept, rekeyed])).toEqual(
      everyAdded([kept, rekeyed]),
    );
    expect(await batchesOf(met.runId)).toEqual([1]);
    expect((await routesSince(mark)).filter((route) => !route.startsWith('GET '))).toEqual([]);
    expect(await accountsOf()).toBe(2);

    // So a change in the app is found again, and patched.
    await stack.db.sql`update users set first_name = 'Renamed' where id = ${rekeyed.id}`;
    const renameMark = await lastSeq();
    const renamed = await sync({ list_id: segment });
    expect(await countsOf(renamed.runId)).toMatchObject({ processed: 2, added: 2, updated: 1 });
    expect((await routesSince(renameMark)).filter((route) => !route.startsWith('GET '))).toEqual([
      `PATCH /contacts/${rekeyedId}`,
    ]);
    expect((await contactsByEmail()).get(rekeyed.email)?.first_name).toBe('Renamed');
  });

  it('reads the members missing from a tag list the run adds, then nobody', async () => {
    const tagged = await users.addMany('tagged', 3);
    const tag = uniqueName('weekly');
    const first = await sync({ list_name: uniqueName('Tagged'), tags: [tag] });
    const segment = first.listId;
    const before = await contactsByEmail();
    const segmentsOf = (contacts: Map<string, { segment_ids: string[] }>) =>
      tagged.map((user) => [...(contacts.get(user.email)?.segment_ids ?? [])].sort());
    const [tagSegment] = (segmentsOf(before)[0] ?? []).filter((id) => id !== segment);
    expect(segmentsOf(before)).toEqual(tagged.map(() => [segment, tagSegment].sort()));

    // A second tag: every member is missing from it, so each one is read and joins it.
    const second = uniqueName('monthly');
    const mark = await lastSeq();
    const run = await sync({ list_id: segment, tags: [tag, second] });
    expect(await outcomesOf(stack.db.sql, run.runId, tagged)).toEqual(everyAdded(tagged));
    const after = await contactsByEmail();
    const [secondSegment] = (segmentsOf(after)[0] ?? []).filter(
      (id) => id !== segment && id !== tagSegment,
    );
    expect(segmentsOf(after)).toEqual(
      tagged.map(() => [segment, tagSegment, secondSegment].sort()),
    );
    expect((await routesSince(mark)).filter((route) => !route.startsWith('GET '))).toEqual(
      [
        'POST /segments',
        ...tagged.map(
          (user) => `POST /contacts/${before.get(user.email)?.id}/segments/${secondSegment}`,
        ),
      ].sort(),
    );

    // In every list now: nobody is read, every one is recorded, nothing is sent.
    const quietMark = await lastSeq();
    const quiet = await sync({ list_id: segment, tags: [tag, second] });
    expect(await outcomesOf(stack.db.sql, quiet.runId, tagged)).toEqual(everyAdded(tagged));
    expect(await countsOf(quiet.runId)).toMatchObject({ total: 3, processed: 3, added: 3 });
    expect(await batchesOf(quiet.runId)).toEqual([1]);
    expect((await routesSince(quietMark)).filter((route) => !route.startsWith('GET '))).toEqual([]);
  });

  it('records an unchanged member that shares an earlier user’s email as that user’s duplicate', async () => {
    const [owner, other] = await users.addMany('shared', 2);
    if (!owner || !other) throw new Error('no users');
    await stack.db.sql`update users set email = ${owner.email} where id = ${other.id}`;
    const first = await sync({ list_name: uniqueName('Shared') });
    const expected = { [owner.id]: 'added', [other.id]: 'skipped:duplicate_email' };
    expect(await outcomesOf(stack.db.sql, first.runId, [owner, other])).toEqual(expected);

    const mark = await lastSeq();
    const again = await sync({ list_id: first.listId });
    expect(await outcomesOf(stack.db.sql, again.runId, [owner, other])).toEqual(expected);
    expect(await countsOf(again.runId)).toMatchObject({
      total: 2,
      processed: 2,
      added: 1,
      skipped: 1,
    });
    expect((await routesSince(mark)).filter((route) => !route.startsWith('GET '))).toEqual([]);
  });
});

type UserRow = { userId: string; outcome: string; reason: string | null };

const usersPath = (runId: string, query: string) =>
  `/api/marketing/sync-users/${encodeURIComponent(runId)}/users?${query}`;

/** Every user of the run through the JSON pages (following `next`), in the order answered. */
async function listed(runId: string, query = 'limit=2'): Promise<UserRow[]> {
  const rows: UserRow[] = [];
  for (let cursor: string | null = null; ; ) {
    const answer = await stack.call(
      'GET',
      usersPath(runId, `${query}${cursor ? `&cursor=${cursor}` : ''}`),
    );
    expect(answer.status).toBe(200);
    rows.push(...answer.body.users);
    cursor = answer.body.next;
    if (!cursor) return rows;
  }
}

/** The run's users as the CSV download has them, one line each after the header. */
async function csvLines(runId: string): Promise<string[]> {
  const response = await fetch(`${stack.api.url}${usersPath(runId, 'format=csv')}`, {
    headers: { authorization: `Bearer ${stack.apiConfig.MARKETING_API_SECRET}` },
  });
  expect(response.status).toBe(200);
  return (await response.text())
    .split('\r\n')
    .filter((line) => line !== '')
    .slice(1);
}

/** The run's counts as GET run answers them. */
const outcomeRows = async (runId: string) =>
  (
    await stack.db.sql<{ userId: string }[]>`
      select user_id as "userId" from audience_sync.run_users where run_id = ${runId}
      order by user_id`
  ).map((row) => row.userId);

const byId = (rows: UserRow[]) => [...rows].sort((a, b) => (a.userId < b.userId ? -1 : 1));
const addedRows = (of: TestUser[]): UserRow[] =>
  byId(of.map((user) => ({ userId: user.id, outcome: 'added', reason: null })));

describe('unchanged members of a mirror run', () => {
  it('are listed, filtered, downloaded and counted as when each had a row, without one', async () => {
    const members = await users.addMany('quiet', 5);
    const first = await sync({ list_name: uniqueName('Quiet') });
    const before = await listed(first.runId);
    expect(before).toEqual(addedRows(members));

    const again = await sync({ list_id: first.listId });
    expect(await outcomeRows(again.runId)).toEqual([]);
    expect(await listed(again.runId)).toEqual(before);
    expect(await listed(again.runId, 'limit=100')).toEqual(before);
    expect(await listed(again.runId, 'limit=3&outcome=added')).toEqual(before);
    expect(await listed(again.runId, 'outcome=skipped')).toEqual([]);
    expect(await listed(again.runId, 'outcome=updated')).toEqual([]);
    expect(await listed(again.runId, 'reason=duplicate_email')).toEqual([]);
    expect(await csvLines(again.runId)).toEqual(before.map((row) => `${row.userId},added,`));
    expect(await csvLines(again.runId)).toEqual(await csvLines(first.runId));
    expect(await countsOf(again.runId)).toEqual({
      total: 5,
      processed: 5,
      added: 5,
      updated: 0,
      skipped: 0,
      failed: 0,
      removed: 0,
      unsubscribed: 0,
    });
  });

  it('records an unchanged member whose email a new user claimed as its duplicate', async () => {
    const members = await users.addMany('claimed', 3);
    const [holder] = members;
    if (!holder) throw new Error('no users');
    const first = await sync({ list_name: uniqueName('Claimed') });
    const joiner = await users.add(() => holder.email);

    const again = await sync({ list_id: first.listId });
    const expected = byId([
      ...addedRows([...members.slice(1), joiner]),
      { userId: holder.id, outcome: 'skipped', reason: 'duplicate_email' },
    ]);
    expect(await listed(again.runId)).toEqual(expected);
    expect(await listed(again.runId, 'reason=duplicate_email')).toEqual([
      { userId: holder.id, outcome: 'skipped', reason: 'duplicate_email' },
    ]);
    expect(await listed(again.runId, 'outcome=added')).toEqual(
      addedRows([...members.slice(1), joiner]),
    );
    expect(await countsOf(again.runId)).toMatchObject({
      total: 4,
      processed: 4,
      added: 3,
      skipped: 1,
      removed: 0,
    });
  });

  it('takes out exactly the member that left, and counts nobody twice when recorded again', async () => {
    const members = await users.addMany('leaving', 4);
    const [leaver, ...staying] = members;
    if (!leaver) throw new Error('no users');
    const first = await sync({ list_name: uniqueName('Leaving') });
    await stack.db.sql`delete from users where id = ${leaver.id}`;

    const again = await sync({ list_id: first.listId });
    expect(await countsOf(again.runId)).toMatchObject({ processed: 3, added: 3, removed: 1 });
    const leavers = await stack.db.sql<{ userId: string; outcome: string }[]>`
      select user_id as "userId", outcome from audience_sync.run_leavers where run_id = ${again.runId}`;
    expect(leavers).toEqual([{ userId: leaver.id, outcome: 'removed' }]);
    expect(await listed(again.runId)).toEqual(addedRows(staying));

    const repeat = await recordUnchangedMembers(stack.db.sql, {
      runId: again.runId,
      platform: 'resend',
      listId: first.listId,
    });
    expect(repeat).toEqual(emptyCounts());
    expect(await countsOf(again.runId)).toMatchObject({ processed: 3, added: 3, removed: 1 });
  });

  it('forgets an erased member in the run’s list of users, and all of them after retention', async () => {
    const members = await users.addMany('erased', 3);
    const [erased, ...kept] = members;
    if (!erased) throw new Error('no users');
    const first = await sync({ list_name: uniqueName('Erased') });
    const again = await sync({ list_id: first.listId });
    expect(await listed(again.runId)).toEqual(addedRows(members));

    const started = await stack.call('POST', '/api/marketing/erasures', { user_ids: [erased.id] });
    expect(started.status).toBe(202);
    const erasureId = started.body.erasureId as string;
    await waitFor(
      async () => {
        const status = await stack.call('GET', `/api/marketing/erasures/${erasureId}`);
        return status.body.status === 'completed' ? status.body : undefined;
      },
      { timeoutMs: 180_000, what: 'the erasure to complete' },
    );
    expect(await listed(again.runId)).toEqual(addedRows(kept));
    expect(await listed(first.runId)).toEqual(addedRows(kept));
    const named = await stack.db.sql`
      select 1 from audience_sync.run_unchanged_members where ${erased.id} = any(user_ids)`;
    expect(named).toEqual([]);

    await stack.db.sql`
      update audience_sync.runs set finished_at = now() - interval '31 days'
      where run_id = ${again.runId}`;
    const result = await deleteExpiredRunData(stack.db.sql, 30);
    expect(result.rows.run_unchanged_members).toBe(1);
    const left = await stack.db.sql`
      select 1 from audience_sync.run_unchanged_members where run_id = ${again.runId}`;
    expect(left).toEqual([]);
    const gone = await stack.call('GET', usersPath(again.runId, 'limit=2'));
    expect(gone.status).toBe(410);
    expect(gone.body.error.code).toBe('outcomes_expired');
  });
});
