import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppStack,
  eligibleEmails,
  emulatedContacts,
  requestLog,
  seedEmulatorContacts,
  startAppStack,
} from '../support/app-stack.js';

/** The worker reads users through this view, which a switch can empty (a broken view). */
const POPULATION_VIEW = 'mirror_population';
const ACTIVE = `last_active_at >= now() - interval '30 days'`;

let stack: AppStack;

beforeAll(async () => {
  stack = await startAppStack({
    users: 300,
    emulator: { rateLimit: 400 },
    worker: { USERS_SOURCE: POPULATION_VIEW },
  });
  await stack.db.sql.unsafe(`
    create table population_switch (open boolean not null);
    insert into population_switch values (true);
    create view ${POPULATION_VIEW} as
      select u.* from users u where (select open from population_switch)`);
});

afterAll(async () => {
  await stack?.stop();
});

const memberEmails = async (listId: string): Promise<string[]> =>
  (await emulatedContacts(stack.emulator, `&segment_id=${listId}`))
    .map((contact) => contact.email.toLowerCase())
    .sort();

const activeEligible = () => eligibleEmails(stack, ACTIVE);

const lastSeq = async (): Promise<number> => (await requestLog(stack.emulator)).at(-1)?.seq ?? 0;
const requestsSince = (seq: number) => requestLog(stack.emulator, `&since_seq=${seq}`);

/** A list of the test's own holding every active eligible user, synced by a mirror run. */
async function mirroredList(name: string): Promise<string> {
  const answer = await stack.call('POST', '/api/marketing/sync', {
    platform: 'resend',
    list_name: name,
    mode: 'mirror',
    filterActive: true,
  });
  expect(answer.status).toBe(200);
  expect(await memberEmails(answer.body.list_id)).toEqual(await activeEligible());
  return answer.body.list_id;
}

/** Active eligible users with an email no other user has, `count` of them after `offset`. */
async function pickUsers(count: number, offset: number) {
  return stack.db.sql.unsafe<{ id: string; email: string }[]>(
    `select id::text, lower(btrim(email)) as email from users u
     where ${ACTIVE} and deleted_at is null and not marketing_opt_out and email like '%@%.%'
       and (select count(*) from users o where lower(btrim(o.email)) = lower(btrim(u.email))) = 1
     order by id offset ${offset} limit ${count}`,
  );
}

const idsOf = (users: { id: string }[]) => users.map((user) => user.id);

describe('mode mirror', () => {
  it('takes out of the list exactly the users who left and keeps contacts others added', async () => {
    const listId = await mirroredList('Mirrored');
    const [hand] = await seedEmulatorContacts(stack.emulator, [
      { email: 'added.by.hand@example.org', segment_ids: [listId] },
    ]);
    expect(hand).toBeDefined();

    const inactive = await pickUsers(3, 0);
    const deleted = await pickUsers(3, 3);
    const optedOut = await pickUsers(3, 6);
    const invalid = await pickUsers(3, 9);
    const gone = await pickUsers(2, 12);
    const sql = stack.db.sql;
    await sql`update users set last_active_at = now() - interval '90 days' where id::text = any(${idsOf(inactive)})`;
    await sql`update users set deleted_at = now() where id::text = any(${idsOf(deleted)})`;
    await sql`update users set marketing_opt_out = true where id::text = any(${idsOf(optedOut)})`;
    await sql`update users set email = 'no-at-sign-' || id where id::text = any(${idsOf(invalid)})`;
    await sql`delete from users where id::text = any(${idsOf(gone)})`;
    const leavers = [...inactive, ...deleted, ...optedOut, ...invalid, ...gone];

    const before = await lastSeq();
    const answer = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_id: listId,
      mode: 'mirror',
      filterActive: true,
    });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ removed: leavers.length, unsubscribed: optedOut.length });
    expect(await memberEmails(listId)).toEqual(
      [...(await activeEligible()), 'added.by.hand@example.org'].sort(),
    );
    const members = new Set(await memberEmails(listId));
    expect(leavers.filter((user) => members.has(user.email))).toEqual([]);

    // Membership only: every leaver's contact stays in Resend; opted-out ones are unsubscribed.
    const contacts = new Map(
      (await emulatedContacts(stack.emulator)).map((contact) => [contact.email, contact]),
    );
    for (const user of leavers) expect(contacts.has(user.email)).toBe(true);
    expect(
      [...contacts.values()]
        .filter((contact) => contact.unsubscribed && leavers.some((u) => u.email === contact.email))
        .map((contact) => contact.email)
        .sort(),
    ).toEqual(optedOut.map((user) => user.email).sort());

    const writes = (await requestsSince(before)).filter((entry) => entry.method !== 'GET');
    const removals = writes.filter(
      (entry) => entry.method === 'DELETE' && entry.path.includes(`/segments/${listId}`),
    );
    expect(removals).toHaveLength(leavers.length);

    const status = await stack.call('GET', `/api/marketing/sync-users/${answer.body.runId}`);
    expect(status.body.progress).toMatchObject({
      removed: leavers.length,
      unsubscribed: optedOut.length,
    });
    expect(status.body.result).toMatchObject({
      removed: leavers.length,
      unsubscribed: optedOut.length,
    });
    expect(status.body.progress.processed).toBe(
      status.body.progress.added + status.body.progress.skipped + status.body.progress.failed,
    );
    const ledger = await sql<{ userId: string }[]>`
      select user_id as "userId" from audience_sync.list_members where list_id = ${listId}`;
    const tracked = new Set(ledger.map((row) => row.userId));
    expect(leavers.filter((user) => tracked.has(user.id))).toEqual([]);
  });

  it('sends no write at all on a second mirror run right after one', async () => {
    const listId = await mirroredList('Mirrored twice');
    const leaving = await pickUsers(2, 30);
    await stack.db
      .sql`update users set last_active_at = now() - interval '90 days' where id::text = any(${idsOf(leaving)})`;
    const body = { platform: 'resend', list_id: listId, mode: 'mirror', filterActive: true };
    const first = await stack.call('POST', '/api/marketing/sync', body);
    expect(first.status).toBe(200);
    expect(first.body.removed).toBe(2);

    const quiet = await lastSeq();
    const again = await stack.call('POST', '/api/marketing/sync', body);
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ removed: 0, unsubscribed: 0 });
    expect((await requestsSince(quiet)).filter((entry) => entry.method !== 'GET')).toEqual([]);
    expect(await memberEmails(listId)).toEqual(await activeEligible());
  });

  it('removes nothing when the users view is emptied: the guard trips and says how many', async () => {
    const listId = await mirroredList('Guarded');
    const membersBefore = await memberEmails(listId);
    // Users sharing an email share a contact: it is removed once.
    const [tracked] = await stack.db.sql<{ count: number; contacts: number }[]>`
      select count(*)::int as count, count(distinct contact_id)::int as contacts
      from audience_sync.list_members where list_id = ${listId}`;
    const before = await lastSeq();
    await stack.db.sql`update population_switch set open = false`;
    try {
      const answer = await stack.call('POST', '/api/marketing/sync', {
        platform: 'resend',
        list_id: listId,
        mode: 'mirror',
        filterActive: true,
      });
      expect(answer.status).toBe(409);
      expect(answer.body.error.code).toBe('removal_guard_tripped');
      expect(answer.body.error.message).toBe(
        `The run would remove ${tracked?.contacts} contacts from the list, more than max_removals allows (${Math.floor((tracked?.count ?? 0) / 2)} of ${tracked?.count} tracked members); it removed none`,
      );
      const runId = answer.body.error.details[0].runId;
      const status = await stack.call('GET', `/api/marketing/sync-users/${runId}`);
      expect(status.body).toMatchObject({
        status: 'failed',
        error: { code: 'removal_guard_tripped' },
        progress: { removed: 0, unsubscribed: 0 },
      });
    } finally {
      await stack.db.sql`update population_switch set open = true`;
    }
    expect(await memberEmails(listId)).toEqual(membersBefore);
    const writes = (await requestsSince(before)).filter((entry) => entry.method !== 'GET');
    expect(writes).toEqual([]);
  });

  it('trips on a whole-number limit too, and a limit that allows the leavers removes them', async () => {
    const listId = await mirroredList('Guarded by a count');
    const leaving = await pickUsers(3, 20);
    await stack.db
      .sql`update users set last_active_at = now() - interval '90 days' where id::text = any(${idsOf(leaving)})`;
    const body = { platform: 'resend', list_id: listId, mode: 'mirror', filterActive: true };
    const tripped = await stack.call('POST', '/api/marketing/sync', { ...body, max_removals: 2 });
    expect(tripped.status).toBe(409);
    expect(tripped.body.error.message).toMatch(/^The run would remove 3 contacts/);
    expect(new Set(await memberEmails(listId))).toEqual(
      new Set([...(await activeEligible()), ...leaving.map((user) => user.email)]),
    );
    const allowed = await stack.call('POST', '/api/marketing/sync', { ...body, max_removals: 3 });
    expect(allowed.status).toBe(200);
    expect(allowed.body.removed).toBe(3);
    expect(await memberEmails(listId)).toEqual(await activeEligible());
  });

  it('refuses mirror for sync types other than all', async () => {
    for (const syncType of ['new', 'specific']) {
      const answer = await stack.call('POST', '/api/marketing/sync', {
        platform: 'resend',
        mode: 'mirror',
        sync_type: syncType,
        ...(syncType === 'specific' ? { user_ids: ['1'] } : {}),
      });
      expect(answer.status).toBe(400);
      expect(answer.body.error.details).toContainEqual({
        field: 'mode',
        message: 'mirror needs sync_type all',
      });
    }
  });
});
