import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createUsersTable } from '../../db/demo-users.js';
import {
  type AppStack,
  emulatedContacts,
  type LoggedRequest,
  requestLog,
  startAppStack,
} from '../support/app-stack.js';
import { uniqueName } from '../support/stack.js';
import { outcomesOf, type TestUser, testUsers } from '../support/test-users.js';

/**
 * A list kept by recurring mirror runs (`sync_type: all`) reads only its change set: the users a
 * run has something to do for are read and sent batch by batch, and its unchanged members are
 * recorded without being read one by one, so every user still ends with an outcome and the
 * counts add up. Batches of two users make the reading visible in the run's checkpoints.
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
