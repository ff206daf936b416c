import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsersTable } from '../../db/demo-users.js';
import type { StartedLoopsEmulator } from '../../emulator/loops/index.js';
import { type AppStack, startAppStack } from '../support/app-stack.js';
import {
  createMailingList,
  loopsAdmin,
  loopsContacts,
  loopsMark,
  loopsPerson,
  loopsWritesSince,
} from '../support/loops-admin.js';
import { uniqueName, waitFor } from '../support/stack.js';
import { outcomesOf, type TestUser, testUsers } from '../support/test-users.js';

/**
 * SPEC "Platforms", Loops, through the official SDK against the Loops emulator: contacts keyed by
 * email and by the user's id, a mailing list as the list, unsubscribes never undone, a mirror
 * removal as `mailingLists: { <id>: false }`, erasure by delete. No webhooks here: what the
 * service learns, it learns from Loops' answers.
 */

let stack: AppStack;
let loops: StartedLoopsEmulator;

beforeAll(async () => {
  stack = await startAppStack({
    loops: { rateLimit: 50 },
    api: { PROPERTY_COLUMNS: 'full_name' },
    worker: { PROPERTY_COLUMNS: 'full_name' },
  });
  if (!stack.loops) throw new Error('the stack runs a Loops emulator');
  loops = stack.loops;
  await createUsersTable(stack.db.sql);
});

afterAll(async () => {
  await stack?.stop();
});

const users = testUsers(() => stack.db.sql);
const lower = (user: TestUser) => user.email.toLowerCase();

async function sync(body: Record<string, unknown>) {
  const answer = await stack.call('POST', '/api/marketing/sync', { platform: 'loops', ...body });
  expect(answer.status).toBe(200);
  return answer.body as { runId: string; synced: number; skipped: number; failed: number };
}

const syncSome = (listId: string, some: TestUser[], extra: Record<string, unknown> = {}) =>
  sync({ list_id: listId, sync_type: 'specific', user_ids: some.map((u) => u.id), ...extra });

/** The list's members as Loops holds them, by email. */
async function members(listId: string) {
  return (await loopsContacts(loops, `&listId=${listId}`))
    .map((contact) => ({
      email: contact.email.toLowerCase(),
      userId: contact.userId,
      firstName: contact.firstName,
      lastName: contact.lastName,
      subscribed: contact.subscribed,
      properties: contact.properties,
    }))
    .sort((a, b) => (a.email < b.email ? -1 : 1));
}

const contactOf = async (user: TestUser) =>
  (await loopsContacts(loops, `&userId=${user.id}`))[0] ?? null;

describe('a sync into a Loops mailing list', () => {
  it('creates exactly the users’ contacts in it, with their properties, and sends nothing the second time', async () => {
    const list = await createMailingList(loops, uniqueName('News'));
    const some = await users.addMany('loops-first', 4);
    const mark = await loopsMark(loops);
    const body = { properties: { fullName: 'full_name' } };
    const first = await syncSome(list.id, some, body);
    expect(first).toMatchObject({ synced: 4, skipped: 0, failed: 0 });

    expect(await members(list.id)).toEqual(
      some
        .map((user) => ({
          email: lower(user),
          userId: user.id,
          firstName: 'Given',
          lastName: 'Family',
          subscribed: true,
          properties: { fullName: 'Given Family' },
        }))
        .sort((a, b) => (a.email < b.email ? -1 : 1)),
    );
    // One create per contact, with its list; the property is created once.
    expect((await loopsWritesSince(loops, mark)).sort()).toEqual(
      [
        'POST /v1/contacts/properties fullName 200',
        ...some.map((user) => `POST /v1/contacts/create ${lower(user)} 200`),
      ].sort(),
    );

    const again = await loopsMark(loops);
    const second = await syncSome(list.id, some, body);
    expect(second).toMatchObject({ synced: 4, skipped: 0, failed: 0 });
    expect(await loopsWritesSince(loops, again)).toEqual([]);
  });

  it('changes an email with one update of the same contact, which stays in the list', async () => {
    const list = await createMailingList(loops, uniqueName('Moves'));
    const [user] = await users.addMany('loops-mover', 1);
    if (!user) throw new Error('one user');
    await syncSome(list.id, [user]);
    const before = await contactOf(user);

    const moved = { id: user.id, email: `moved.${uniqueName('m')}@example.com` };
    await stack.db.sql`update users set email = ${moved.email} where id = ${user.id}`;
    const mark = await loopsMark(loops);
    const run = await syncSome(list.id, [moved]);
    expect(await outcomesOf(stack.db.sql, run.runId)).toEqual({ [user.id]: 'added' });

    const updates = (await loopsWritesSince(loops, mark)).filter((w) => w.startsWith('PUT'));
    expect(updates).toEqual([`PUT /v1/contacts/update ${moved.email} 200`]);
    const after = await contactOf(user);
    expect(after).toMatchObject({
      id: before?.id,
      email: moved.email,
      subscribed: true,
      mailingLists: [list.id],
      resubscriptions: 0,
    });
    expect(await loopsContacts(loops, `&email=${lower(user)}`)).toEqual([]);
  });

  it('never re-subscribes a contact unsubscribed from everything or from the list', async () => {
    const list = await createMailingList(loops, uniqueName('Consent'));
    const [everything, leaver] = await users.addMany('loops-unsub', 2);
    if (!everything || !leaver) throw new Error('two users');
    // One unsubscribed from everything before this service met it.
    await loopsAdmin(loops, 'POST', '/contacts/bulk', {
      contacts: [{ email: everything.email, subscribed: false }],
    });
    // The other joined the list through this service, then left it, then changed its email (so
    // the next run sends it again).
    await syncSome(list.id, [leaver]);
    await loopsPerson(loops, 'unsubscribe-from-list', { userId: leaver.id, listId: list.id });
    const leaverNow = { id: leaver.id, email: `left.${uniqueName('l')}@example.com` };
    await stack.db.sql`update users set email = ${leaverNow.email} where id = ${leaver.id}`;

    const mark = await loopsMark(loops);
    const run = await syncSome(list.id, [everything, leaverNow]);
    expect(await outcomesOf(stack.db.sql, run.runId)).toEqual({
      [everything.id]: 'skipped:unsubscribed_in_platform',
      [leaver.id]: 'skipped:unsubscribed_in_platform',
    });
    expect(await members(list.id)).toEqual([]);
    expect((await loopsWritesSince(loops, mark)).filter((w) => w.startsWith('PUT'))).toEqual([]);
    const seeded = (await loopsContacts(loops, `&email=${lower(everything)}`))[0];
    expect(seeded).toMatchObject({ subscribed: false, mailingLists: [], resubscriptions: 0 });
    expect(await contactOf(leaver)).toMatchObject({
      email: lower(leaver),
      subscribed: true,
      mailingLists: [],
      optedOutLists: [list.id],
      resubscriptions: 0,
    });
    // Both are in the opt-outs feed, as a webhook's unsubscribe would put them.
    const feed = await stack.call('GET', '/api/marketing/opt-outs?limit=1000');
    const origins = (feed.body.data as { userId: string; origin: string }[])
      .filter((entry) => entry.userId === everything.id || entry.userId === leaver.id)
      .map((entry) => `${entry.userId}:${entry.origin}`)
      .sort();
    expect(origins).toEqual([`${everything.id}:unsubscribed`, `${leaver.id}:unsubscribed`].sort());
  });

  it('removes a mirror leaver with mailingLists false, and joins it again when it comes back', async () => {
    await stack.db.sql`truncate users`;
    const list = await createMailingList(loops, uniqueName('Mirror'));
    const [stays, leaves] = await users.addMany('loops-mirror', 2);
    if (!stays || !leaves) throw new Error('two users');
    await sync({ list_id: list.id, mode: 'mirror' });
    expect((await members(list.id)).map((m) => m.userId).sort()).toEqual(
      [stays.id, leaves.id].sort(),
    );

    await stack.db.sql`update users set deleted_at = now() where id = ${leaves.id}`;
    const mark = await loopsMark(loops);
    await sync({ list_id: list.id, mode: 'mirror' });
    expect((await members(list.id)).map((m) => m.userId)).toEqual([stays.id]);
    expect(await loopsWritesSince(loops, mark)).toEqual([
      `PUT /v1/contacts/update ${leaves.id} 200`,
    ]);
    // The contact stays, subscribed: only its membership went.
    expect(await contactOf(leaves)).toMatchObject({ subscribed: true, mailingLists: [] });

    await stack.db.sql`update users set deleted_at = null where id = ${leaves.id}`;
    const back = await sync({ list_id: list.id, mode: 'mirror' });
    expect(await outcomesOf(stack.db.sql, back.runId)).toEqual({
      [stays.id]: 'added',
      [leaves.id]: 'added',
    });
    expect((await members(list.id)).map((m) => m.userId).sort()).toEqual(
      [stays.id, leaves.id].sort(),
    );
  });

  it('skips a contact deleted in Loops and never creates it again', async () => {
    const list = await createMailingList(loops, uniqueName('Deleted'));
    const [user] = await users.addMany('loops-deleted', 1);
    if (!user) throw new Error('one user');
    await syncSome(list.id, [user]);
    await loopsPerson(loops, 'delete', { userId: user.id });
    await stack.db.sql`update users set first_name = 'Renamed' where id = ${user.id}`;

    const run = await syncSome(list.id, [user]);
    expect(await outcomesOf(stack.db.sql, run.runId)).toEqual({
      [user.id]: 'skipped:deleted_in_platform',
    });
    const other = await createMailingList(loops, uniqueName('Elsewhere'));
    const elsewhere = await syncSome(other.id, [user]);
    expect(await outcomesOf(stack.db.sql, elsewhere.runId)).toEqual({
      [user.id]: 'skipped:deleted_in_platform',
    });
    expect(await contactOf(user)).toBeNull();
  });

  it('deletes an erased user’s contact', async () => {
    const list = await createMailingList(loops, uniqueName('Erasure'));
    const [user] = await users.addMany('loops-erased', 1);
    if (!user) throw new Error('one user');
    await syncSome(list.id, [user]);
    const mark = await loopsMark(loops);
    const started = await stack.call('POST', '/api/marketing/erasures', { user_ids: [user.id] });
    expect(started.status).toBe(202);
    const ended = await waitFor(
      async () => {
        const status = await stack.call('GET', `/api/marketing/erasures/${started.body.erasureId}`);
        return status.body.status !== 'running' && status.body;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'the erasure to end' },
    );
    expect(ended.status).toBe('completed');
    expect(await contactOf(user)).toBeNull();
    expect(await loopsWritesSince(loops, mark)).toContain(
      `POST /v1/contacts/delete ${user.id} 200`,
    );
  });
});
