import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppStack,
  type EmulatedContact,
  emulatedContacts,
  requestLog,
  seedEmulatorContacts,
  startAppStack,
} from '../support/app-stack.js';

let stack: AppStack;

beforeAll(async () => {
  stack = await startAppStack({ users: 300, mix: 'eligible', emulator: { rateLimit: 300 } });
});

afterAll(async () => {
  await stack?.stop();
});

interface UserRow {
  id: string;
  email: string;
  first_name: string;
  last_name: string;
}

/** Contacts already in Resend: every third unsubscribed, every fifth renamed there, some in another case. */
function existingContactsFor(users: UserRow[]) {
  return users.map((user, index) => ({
    email: index % 4 === 0 ? user.email.toUpperCase() : user.email,
    first_name: index % 5 === 0 ? `Renamed ${index}` : user.first_name,
    last_name: index % 5 === 0 ? 'Changed In Resend' : user.last_name,
    unsubscribed: index % 3 === 0,
  }));
}

async function usersBetween(from: number, to: number): Promise<UserRow[]> {
  return stack.db.sql<UserRow[]>`
    select id::text, email, first_name, last_name from users where id between ${from} and ${to} order by id`;
}

const byEmail = (contacts: EmulatedContact[]) =>
  new Map(contacts.map((contact) => [contact.email.toLowerCase(), contact]));

async function expectUntouched(
  seeded: ReturnType<typeof existingContactsFor>,
  ids: string[],
  listId: string,
) {
  const after = byEmail(await emulatedContacts(stack.emulator));
  seeded.forEach((contact, index) => {
    const now = after.get(contact.email.toLowerCase());
    expect(now?.id).toBe(ids[index]);
    // Unsubscribed in Resend: the user is skipped (unsubscribed_in_platform), the contact stays out.
    if (contact.unsubscribed) expect(now?.segment_ids).not.toContain(listId);
    else expect(now?.segment_ids).toContain(listId);
    expect(now?.unsubscribed).toBe(contact.unsubscribed);
    expect([now?.first_name, now?.last_name]).toEqual([contact.first_name, contact.last_name]);
  });
  const creates = await requestLog(stack.emulator, '&method=POST&path_prefix=/contacts');
  const createdEmails = new Set(
    creates.filter((entry) => entry.path === '/contacts').map((entry) => entry.key?.toLowerCase()),
  );
  expect(seeded.filter((contact) => createdEmails.has(contact.email.toLowerCase()))).toEqual([]);
}

describe('a sync over contacts that already exist in Resend', () => {
  it('adds them to the segment without re-subscribing them or touching their names', async () => {
    const seeded = existingContactsFor(await usersBetween(1, 90));
    const ids = await seedEmulatorContacts(stack.emulator, seeded);
    const answer = await stack.call('POST', '/api/marketing/sync-users', {
      audienceName: 'Returning',
    });
    expect(answer.status).toBe(200);
    expect(answer.body.contactsAdded).toBe(270);
    expect(answer.body.contactsSkipped).toBe(30);
    const skipped = await stack.db.sql<{ reason: string; count: number }[]>`
      select reason, count(*)::int as count from audience_sync.run_users
      where run_id = ${answer.body.runId} and outcome = 'skipped' group by reason`;
    expect(skipped.map((row) => ({ ...row }))).toEqual([
      { reason: 'unsubscribed_in_platform', count: 30 },
    ]);
    await expectUntouched(seeded, ids, answer.body.audience.id);
    const contacts = await emulatedContacts(stack.emulator);
    expect(contacts).toHaveLength(300);
  });

  it('also spares contacts that appeared in Resend after an earlier run', async () => {
    const earlier = await stack.call('POST', '/api/marketing/sync-users', {
      audienceName: 'Returning earlier',
    });
    expect(earlier.status).toBe(200);
    const seeded = existingContactsFor(await usersBetween(201, 260)).map((contact) => ({
      ...contact,
      email: `late.${contact.email}`,
    }));
    await stack.db.sql`
      insert into users (id, email, first_name, last_name, full_name, last_active_at)
      select 10000 + id, 'late.' || email, first_name, last_name, full_name, now()
      from users where id between 201 and 260`;
    const ids = await seedEmulatorContacts(stack.emulator, seeded);
    const answer = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      list_name: 'Returning later',
    });
    expect(answer.status).toBe(200);
    // 30 of the first test's contacts and 20 of these are unsubscribed in Resend: skipped.
    expect(answer.body.synced).toBe(310);
    expect(answer.body.skipped).toBe(50);
    await expectUntouched(seeded, ids, answer.body.list_id);
  });
});
