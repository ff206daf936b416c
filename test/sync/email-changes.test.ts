import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createUsersTable } from '../../db/demo-users.js';
import {
  type AppStack,
  emulatedContacts,
  requestLog,
  seedEmulatorContacts,
  startAppStack,
} from '../support/app-stack.js';
import { uniqueName } from '../support/stack.js';
import { outcomesOf, type TestUser, testUsers } from '../support/test-users.js';

/**
 * A user whose email changed ends with the new address's contact in the list, or skipped or
 * failed with a reason, and in every case its old contact out of the list: on the per-contact
 * path and the bulk one (RESEND_BULK=auto, as deployments run by default), whether the ledger
 * knows the old contact's id or only its email. Addresses are compared by one normalisation.
 */

let stack: AppStack;

beforeAll(async () => {
  stack = await startAppStack({ emulator: { rateLimit: 300 }, worker: { RESEND_BULK: 'auto' } });
  await createUsersTable(stack.db.sql);
});

afterAll(async () => {
  await stack?.stop();
});

const users = testUsers(() => stack.db.sql);

/** A user with the address `email(id)`, as the test knows it (trimmed, lowercased). */
async function addUser(email: (id: number) => string): Promise<TestUser> {
  const user = await users.add(email);
  return { id: user.id, email: user.email.trim().toLowerCase() };
}

const fresh = (prefix: string) => (id: number) => `${prefix}.${id}.${uniqueName('e')}@example.com`;

async function changeEmail(user: TestUser, email: string): Promise<TestUser> {
  await stack.db.sql`update users set email = ${email} where id = ${user.id}`;
  return { id: user.id, email };
}

async function sync(userIds: string[], body: Record<string, unknown>) {
  const answer = await stack.call('POST', '/api/marketing/sync', {
    platform: 'resend',
    sync_type: 'specific',
    user_ids: userIds,
    ...body,
  });
  expect(answer.status).toBe(200);
  return { runId: answer.body.runId as string, listId: answer.body.list_id as string };
}

const outcomes = (runId: string) => outcomesOf(stack.db.sql, runId);

/** The emails of the list's members in Resend, sorted. */
async function members(listId: string): Promise<string[]> {
  return (await emulatedContacts(stack.emulator, `&segment_id=${listId}`))
    .map((contact) => contact.email.toLowerCase())
    .sort();
}

const contactEmails = async () =>
  new Set((await emulatedContacts(stack.emulator)).map((c) => c.email.toLowerCase()));

const ledgerContactIds = async (listId: string, users: TestUser[]) =>
  stack.db.sql<{ userId: string; contactId: string | null }[]>`
    select user_id as "userId", contact_id as "contactId" from audience_sync.list_members
    where list_id = ${listId} and user_id = any(${users.map((user) => user.id)}::text[])
    order by user_id::int`;

describe('an email change', () => {
  it('takes the old contact out of the list whatever happens to the new address', async () => {
    const unsubscribing = await addUser(fresh('unsub'));
    const refused = await addUser(fresh('refused'));
    const owner = await addUser(fresh('owner'));
    const sharing = await addUser(fresh('sharing'));
    const ids = [unsubscribing, refused, owner, sharing].map((user) => user.id);
    const first = await sync(ids, { list_name: uniqueName('Moves') });
    expect(await outcomes(first.runId)).toEqual(Object.fromEntries(ids.map((id) => [id, 'added'])));
    const before = [unsubscribing, refused, owner, sharing].map((user) => user.email).sort();
    expect(await members(first.listId)).toEqual(before);

    // New addresses: one unsubscribed in Resend, one Resend refuses, one another user's.
    const unsubscribedThere = `unsubscribed.${uniqueName('there')}@example.com`;
    await seedEmulatorContacts(stack.emulator, [{ email: unsubscribedThere, unsubscribed: true }]);
    await changeEmail(unsubscribing, unsubscribedThere);
    await changeEmail(refused, `refused.${refused.id}+!@example.com`);
    await changeEmail(sharing, owner.email);

    const second = await sync(ids, { list_id: first.listId });
    expect(await outcomes(second.runId)).toEqual({
      [unsubscribing.id]: 'skipped:unsubscribed_in_platform',
      [refused.id]: expect.stringMatching(/^failed:rejected_by_platform:/),
      [owner.id]: 'added',
      [sharing.id]: 'skipped:duplicate_email',
    });
    // Only the owner's contact is left; the old contacts stay in Resend, out of the list.
    expect(await members(first.listId)).toEqual([owner.email]);
    const existing = await contactEmails();
    for (const user of [unsubscribing, refused, sharing])
      expect(existing.has(user.email)).toBe(true);

    // Nothing is left to move: the next run sends no request for them.
    const mark = (await requestLog(stack.emulator)).at(-1)?.seq ?? 0;
    const third = await sync(ids, { list_id: first.listId });
    expect((await outcomes(third.runId))[unsubscribing.id]).toBe(
      'skipped:unsubscribed_in_platform',
    );
    const removals = (await requestLog(stack.emulator, `&since_seq=${mark}`)).filter(
      (entry) => entry.method === 'DELETE',
    );
    expect(removals).toEqual([]);
    expect(await members(first.listId)).toEqual([owner.email]);
  });

  it('takes the old contact out on the bulk path, right after a bulk first sync too', async () => {
    const importedAgain = await addUser(fresh('imported'));
    const joining = await addUser(fresh('joining'));
    const ids = [importedAgain.id, joining.id];
    const first = await sync(ids, { list_name: uniqueName('Bulk moves') });
    expect(await outcomes(first.runId)).toEqual({
      [importedAgain.id]: 'added',
      [joining.id]: 'added',
    });
    // Created by a Contact Import: the ledger knows the contacts by the ids the page read after
    // the import shows (a contact of a larger import below that page is known by its email only:
    // test/sync/imported-members.test.ts moves one).
    const idOf = new Map(
      (await emulatedContacts(stack.emulator)).map((contact) => [contact.email, contact.id]),
    );
    expect(await ledgerContactIds(first.listId, [importedAgain, joining])).toEqual([
      { userId: importedAgain.id, contactId: idOf.get(importedAgain.email) },
      { userId: joining.id, contactId: idOf.get(joining.email) },
    ]);

    // One new address nobody has (an import creates it), one that exists in Resend already.
    const existingAddress = `existing.${uniqueName('x')}@example.com`;
    await seedEmulatorContacts(stack.emulator, [{ email: existingAddress }]);
    const movedImported = await changeEmail(importedAgain, `new.${uniqueName('n')}@example.com`);
    const movedJoining = await changeEmail(joining, existingAddress);
    const second = await sync(ids, { list_id: first.listId });
    expect(await outcomes(second.runId)).toEqual({
      [importedAgain.id]: 'added',
      [joining.id]: 'added',
    });
    expect(await members(first.listId)).toEqual([movedImported.email, movedJoining.email].sort());
  });

  it('treats an address valid only through a non-ASCII case mapping as invalid, never as another', async () => {
    // Under a Unicode collation, lower() folds the Kelvin sign into k: "Kate" would be "kate".
    await stack.db.sql`alter table users alter column email type text collate "en-x-icu"`;
    const suffix = uniqueName('k');
    const someoneElse = `kate.${suffix}@example.com`;
    await seedEmulatorContacts(stack.emulator, [{ email: someoneElse }]);
    const kelvin = await addUser(() => `\u212Aate.${suffix}@example.com`);
    const plain = await addUser(fresh('plain'));
    const mark = (await requestLog(stack.emulator)).at(-1)?.seq ?? 0;
    const run = await sync([kelvin.id, plain.id], { list_name: uniqueName('Kelvin') });
    expect(await outcomes(run.runId)).toEqual({
      [kelvin.id]: 'failed:invalid_email',
      [plain.id]: 'added',
    });
    expect(await members(run.listId)).toEqual([plain.email]);
    const named = (await requestLog(stack.emulator, `&since_seq=${mark}`)).filter((entry) =>
      entry.key?.toLowerCase().includes(suffix),
    );
    expect(named).toEqual([]);
  });
});
