import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailHash } from '../../common/emails.js';
import { createUsersTable } from '../../db/demo-users.js';
import {
  type AppStack,
  emulatedContacts,
  requestLog,
  startAppStack,
} from '../support/app-stack.js';
import { uniqueName } from '../support/stack.js';
import { outcomesOf, type TestUser, testUsers } from '../support/test-users.js';

/**
 * Without webhooks (a compose deployment has none, and the daily reconciliation is a day late), a
 * contact deleted in Resend is learned from the platform's own answer: a 404 for a contact this
 * service knew, on a join, a patch or a removal. The user is skipped `deleted_in_platform` in
 * that run and every later one, and only the app's lift brings it back. Bulk creation is on, as
 * deployments run by default.
 */

let stack: AppStack;
const users = testUsers(() => stack.db.sql);
const addUsers = users.addMany;

beforeAll(async () => {
  stack = await startAppStack({ emulator: { rateLimit: 300 }, worker: { RESEND_BULK: 'auto' } });
  await createUsersTable(stack.db.sql);
});

afterAll(async () => {
  await stack?.stop();
});

async function deleteInResend(user: TestUser): Promise<void> {
  const response = await fetch(`${stack.emulator.url}/_emulator/contacts/delete`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: user.email }),
  });
  expect(response.status).toBe(200);
}

async function sync(body: Record<string, unknown>): Promise<{ runId: string; listId: string }> {
  const answer = await stack.call('POST', '/api/marketing/sync', { platform: 'resend', ...body });
  expect(answer.status).toBe(200);
  return { runId: answer.body.runId, listId: answer.body.list_id };
}

const outcomes = (runId: string, of: TestUser[]) => outcomesOf(stack.db.sql, runId, of);

const contactOf = async (email: string) =>
  (await emulatedContacts(stack.emulator)).find((contact) => contact.email === email);

/** Requests since `mark` that could create a contact with this email. */
const createsOf = async (email: string, mark: number) =>
  (await requestLog(stack.emulator, `&method=POST&since_seq=${mark}`)).filter(
    (entry) => entry.path === '/contacts' && entry.key?.toLowerCase() === email,
  );

const lastSeq = async () => (await requestLog(stack.emulator)).at(-1)?.seq ?? 0;

async function feedOf(users: TestUser[]): Promise<{ userId: string; origin: string }[]> {
  const ids = new Set(users.map((user) => user.id));
  const page = await stack.call('GET', '/api/marketing/opt-outs?limit=1000');
  expect(page.status).toBe(200);
  return page.body.data
    .filter((entry: { userId: string }) => ids.has(entry.userId))
    .map(({ userId, origin }: { userId: string; origin: string }) => ({ userId, origin }));
}

const lift = (userId: string) =>
  stack.call('POST', `/api/marketing/opt-outs/${encodeURIComponent(userId)}/lift`);

describe('a contact deleted in Resend, without webhooks', () => {
  it('is never created again, through a new audience, an all or a new run, until the app lifts it', async () => {
    const [ann, bob, cat] = await addUsers('deleted', 3);
    if (!ann || !bob || !cat) throw new Error('no users');
    const first = await stack.call('POST', '/api/marketing/sync-users', {
      audienceName: uniqueName('Before deletions'),
    });
    expect(first.status).toBe(200);
    const listId: string = first.body.audience.id;
    expect(await outcomes(first.body.runId, [ann, bob, cat])).toEqual({
      [ann.id]: 'added',
      [bob.id]: 'added',
      [cat.id]: 'added',
    });

    // Created by a Contact Import; a second run meets them by id, and the ledger knows their ids.
    const settle = await sync({ list_id: listId });
    expect(await outcomes(settle.runId, [ann, bob, cat])).toEqual({
      [ann.id]: 'added',
      [bob.id]: 'added',
      [cat.id]: 'added',
    });
    const ids = await stack.db.sql<{ contactId: string | null }[]>`
      select contact_id as "contactId" from audience_sync.list_members
      where list_id = ${listId} and user_id = any(${[ann.id, cat.id]}::text[])`;
    expect(ids.map((row) => row.contactId)).toEqual([expect.any(String), expect.any(String)]);

    // Someone deletes two contacts in Resend's dashboard; the app renames one of them.
    await deleteInResend(ann);
    await deleteInResend(cat);
    await stack.db.sql`update users set first_name = 'Renamed' where id = ${cat.id}`;
    const mark = await lastSeq();

    // In the first list, cat's changed name is a patch: Resend's 404 says the contact is gone.
    const patched = await sync({ list_id: listId });
    expect(await outcomes(patched.runId, [cat])).toEqual({
      [cat.id]: 'skipped:deleted_in_platform',
    });
    // A new audience joins known contacts by id: the 404 says ann's is gone too.
    const second = await stack.call('POST', '/api/marketing/sync-users', {
      audienceName: uniqueName('After deletions'),
    });
    expect(second.status).toBe(200);
    expect(await outcomes(second.body.runId, [ann, bob, cat])).toEqual({
      [ann.id]: 'skipped:deleted_in_platform',
      [bob.id]: 'added',
      [cat.id]: 'skipped:deleted_in_platform',
    });
    // A deleted contact is in no list: a 'new' run reads both again, and skips them.
    const later = await sync({ list_id: listId, sync_type: 'new' });
    const another = await sync({ list_name: uniqueName('Later still') });
    const again = await sync({ list_id: listId });
    for (const run of [later, another, again]) {
      expect(await outcomes(run.runId, [ann, cat])).toEqual({
        [ann.id]: 'skipped:deleted_in_platform',
        [cat.id]: 'skipped:deleted_in_platform',
      });
    }
    for (const user of [ann, cat]) {
      expect(await contactOf(user.email)).toBeUndefined();
      expect(await createsOf(user.email, mark)).toEqual([]);
    }
    expect(await feedOf([ann, bob, cat])).toEqual([
      { userId: cat.id, origin: 'deleted' },
      { userId: ann.id, origin: 'deleted' },
    ]);

    // The app says ann consented again (with the id as it writes it): the next run creates her.
    const lifted = await lift(`00${ann.id}`);
    expect(lifted.status).toBe(200);
    expect(lifted.body).toEqual({ success: true, userId: ann.id, lifted: 1 });
    const afterLift = await sync({ list_id: listId });
    expect(await outcomes(afterLift.runId, [ann, cat])).toEqual({
      [ann.id]: 'added',
      [cat.id]: 'skipped:deleted_in_platform',
    });
    const recreated = await contactOf(ann.email);
    expect(recreated).toMatchObject({ unsubscribed: false, segment_ids: [listId] });
    expect(await feedOf([ann, cat])).toEqual([
      { userId: cat.id, origin: 'deleted' },
      { userId: ann.id, origin: 'deleted' },
      { userId: ann.id, origin: 'lifted' },
    ]);
    // Nothing left to lift: no change, no entry.
    expect((await lift(ann.id)).body).toEqual({ success: true, userId: ann.id, lifted: 0 });
    expect(await feedOf([ann])).toHaveLength(2);
  });

  it('is learned from a removal too: the old contact of an email change, and a mirror leaver', async () => {
    const [dan, eve] = await addUsers('removed', 2);
    if (!dan || !eve) throw new Error('no users');
    const first = await sync({ list_name: uniqueName('Removals'), mode: 'mirror' });
    expect(await outcomes(first.runId, [dan, eve])).toEqual({
      [dan.id]: 'added',
      [eve.id]: 'added',
    });

    // dan's contact is deleted in Resend, then dan changes email: the old contact's removal 404s.
    await deleteInResend(dan);
    await stack.db.sql`update users set email = ${`new.${dan.email}`} where id = ${dan.id}`;
    // eve's contact is deleted, and eve leaves the population: the leaver's removal 404s.
    await deleteInResend(eve);
    await stack.db.sql`update users set deleted_at = now() where id = ${eve.id}`;
    const second = await sync({ list_id: first.listId, mode: 'mirror' });
    // eve, out of the population, has no outcome: she is a leaver whose contact is gone.
    expect(await outcomes(second.runId, [dan, eve])).toEqual({ [dan.id]: 'added' });
    const leavers = await stack.db.sql<{ userId: string; outcome: string }[]>`
      select user_id as "userId", outcome from audience_sync.run_leavers
      where run_id = ${second.runId}`;
    expect(leavers).toEqual([{ userId: eve.id, outcome: 'gone' }]);
    const deletedThere = await stack.db.sql<{ emailHash: string }[]>`
      select email_hash as "emailHash" from audience_sync.platform_consent
      where deleted_at is not null and email_hash = any(${[dan.email, eve.email].map(emailHash)})`;
    expect(deletedThere.map((row) => row.emailHash).sort()).toEqual(
      [dan.email, eve.email].map(emailHash).sort(),
    );

    // Back to the old address, back in the population: neither contact is created again.
    const mark = await lastSeq();
    await stack.db.sql`update users set email = ${dan.email} where id = ${dan.id}`;
    await stack.db.sql`update users set deleted_at = null where id = ${eve.id}`;
    const third = await sync({ list_id: first.listId, mode: 'mirror' });
    expect(await outcomes(third.runId, [dan, eve])).toEqual({
      [dan.id]: 'skipped:deleted_in_platform',
      [eve.id]: 'skipped:deleted_in_platform',
    });
    for (const user of [dan, eve]) expect(await createsOf(user.email, mark)).toEqual([]);
  });

  it('lift answers 404 user_not_found for an id that names no user (or cannot), 400 for a NUL', async () => {
    for (const id of ['999999', '99999999999999999999999', 'not-a-number', '%F0%9F%98%80']) {
      const answer = await stack.call('POST', `/api/marketing/opt-outs/${id}/lift`);
      expect(answer.status, id).toBe(404);
      expect(answer.body).toMatchObject({ success: false, error: { code: 'user_not_found' } });
    }
    const nul = await stack.call('POST', '/api/marketing/opt-outs/1%00/lift');
    expect(nul.status).toBe(400);
    expect(nul.body).toMatchObject({ success: false, error: { code: 'invalid_request' } });
    const noSecret = await stack.call('POST', '/api/marketing/opt-outs/1/lift', undefined, {
      authorization: '',
    });
    expect(noSecret.status).toBe(401);
  });
});
