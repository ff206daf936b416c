import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { emailHash } from '../../common/emails.js';
import { createUsersTable } from '../../db/demo-users.js';
import { newWebhookSecret } from '../../emulator/resend/webhooks.js';
import {
  type AppStack,
  emulatorAdmin,
  startAppStack,
  waitForRunEnd,
} from '../support/app-stack.js';
import { uniqueName, waitFor } from '../support/stack.js';
import { testUsers } from '../support/test-users.js';

/**
 * A mirror run fingerprints the records of what was sent that it found matching the users'
 * values, and the next run's change set takes them as matching without hashing the emails and
 * names again, as long as the values hash the same and the record was not written since. Every
 * change the full rules find is still found: a mapped field, an email, an opt-out, an
 * unsubscribe reported by webhook, another property map, a record another list's run rewrote.
 * A list where nothing changed writes no fingerprint after the first time.
 */

const SECRET = newWebhookSecret();
let stack: AppStack;
const users = testUsers(() => stack.db.sql);
const allowed = { PROPERTY_COLUMNS: 'plan' };

beforeAll(async () => {
  stack = await startAppStack({
    emulator: { rateLimit: 300, webhookRetryDelaysMs: [100, 200, 400] },
    api: { ...allowed, RESEND_WEBHOOK_SECRET: SECRET },
    worker: allowed,
  });
  await createUsersTable(stack.db.sql);
  await stack.db.sql`alter table users add column plan text`;
  await admin('/webhooks', { url: `${stack.api.url}/webhooks/resend`, secret: SECRET });
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
  const runId = answer.body.runId as string;
  await waitForRunEnd(stack, runId);
  return { runId, listId: answer.body.list_id as string };
}

/** The users' fingerprinted records, each with the row's own xmin (a write gives it a new one). */
const fingerprintsOf = async (ids: string[]) =>
  (
    await stack.db.sql<{ userId: string; written: string }[]>`
      select user_id as "userId", xmin::text as written from audience_sync.contact_fields
      where user_id = any(${ids}::text[]) and fingerprint is not null`
  )
    .map((row) => `${row.userId}@${row.written}`)
    .sort();

const fingerprintedUsers = async (ids: string[]) =>
  (await fingerprintsOf(ids)).map((entry) => entry.split('@')[0]).sort();

/** The users of the run's change set. */
const changeSetOf = async (runId: string) =>
  (
    await stack.db.sql<{ userId: string }[]>`
      select user_id as "userId" from audience_sync.run_changes where run_id = ${runId}`
  )
    .map((row) => row.userId)
    .sort();

async function admin(path: string, body: unknown): Promise<void> {
  const response = await fetch(`${stack.emulator.url}/_emulator${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (!response.ok) throw new Error(`emulator admin ${path} answered ${response.status}`);
}

describe('fingerprints of what was sent', () => {
  it('skip nothing that changed, and a steady list writes none after the first time', async () => {
    const everyone = await users.addMany('fingerprint', 8);
    await stack.db.sql`update users set plan = 'free'`;
    const ids = everyone.map((user) => user.id).sort();
    const first = await sync({ list_name: uniqueName('Fingerprints') });
    const list = first.listId;
    // The first run adds everyone and, as it ends, fingerprints what it sent.
    expect(await fingerprintedUsers(ids)).toEqual(ids);
    const written = await fingerprintsOf(ids);

    // Nothing changed: the fingerprints are read, none is written.
    for (let run = 0; run < 2; run += 1) {
      const steady = await sync({ list_id: list });
      expect(await changeSetOf(steady.runId)).toEqual([]);
      expect(await fingerprintsOf(ids)).toEqual(written);
    }

    const [firstName, lastName, email, plan, optedOut, unsubscribed, unchanged] = everyone;
    if (!firstName || !lastName || !email || !plan || !optedOut || !unsubscribed || !unchanged) {
      throw new Error('no users');
    }
    await stack.db.sql`update users set first_name = 'Renamed' where id = ${firstName.id}`;
    await stack.db.sql`update users set last_name = 'Renamed' where id = ${lastName.id}`;
    await stack.db.sql`update users set email = ${`new.${email.email}`} where id = ${email.id}`;
    await stack.db.sql`update users set plan = 'pro' where id = ${plan.id}`;
    await stack.db.sql`update users set marketing_opt_out = true where id = ${optedOut.id}`;
    // Unsubscribed in Resend: the webhook records it as a fact of the platform.
    await admin('/contacts/unsubscribe', { email: unsubscribed.email });
    await waitFor(
      async () => {
        const [fact] = await stack.db.sql`
          select 1 from audience_sync.platform_consent
          where email_hash = ${emailHash(unsubscribed.email)} and unsubscribed`;
        return fact !== undefined;
      },
      { timeoutMs: 20_000, what: 'the unsubscribe recorded' },
    );

    const changed = await sync({ list_id: list });
    const found = [firstName, lastName, email, plan, optedOut, unsubscribed];
    expect(await changeSetOf(changed.runId)).toEqual(found.map((user) => user.id).sort());
    // The records sent again were rewritten and fingerprinted anew as the run ended; the others
    // were not written (the opted-out and the unsubscribed were sent no fields).
    const rewritten = [firstName, lastName, email, plan].map((user) => `${user.id}@`);
    const kept = written.filter((entry) => !rewritten.some((id) => entry.startsWith(id)));
    const now = await fingerprintsOf(ids);
    expect(now.filter((entry) => !rewritten.some((id) => entry.startsWith(id)))).toEqual(kept);
    expect(await fingerprintedUsers(ids)).toEqual(ids);
    expect(now.filter((entry) => written.includes(entry))).toEqual(kept);
  });

  it("compare again a record another list's run rewrote since, even to the same values", async () => {
    const [member] = await users.addMany('rewritten', 1);
    if (!member) throw new Error('no user');
    await stack.db.sql`update users set plan = 'free' where id = ${member.id}`;
    const first = await sync({ list_name: uniqueName('Kept') });
    expect(await fingerprintedUsers([member.id])).toEqual([member.id]);

    // A run of another list sends 'pro' to the same contact (a run of given users, which
    // fingerprints nothing), then the user is back on 'free': the values hash as when
    // fingerprinted, but the contact was last sent 'pro'.
    await stack.db.sql`update users set plan = 'pro' where id = ${member.id}`;
    await sync({
      list_name: uniqueName('Other'),
      mode: undefined,
      sync_type: 'specific',
      user_ids: [member.id],
    });
    expect(await fingerprintedUsers([member.id])).toEqual([]);
    await stack.db.sql`update users set plan = 'free' where id = ${member.id}`;
    const run = await sync({ list_id: first.listId });
    expect(await changeSetOf(run.runId)).toEqual([member.id]);
    const { data } = await emulatorAdmin<{ data: { email: string; properties: object }[] }>(
      stack.emulator,
      '/contacts?limit=100000',
    );
    const contact = data.find((entry) => entry.email.toLowerCase() === member.email.toLowerCase());
    expect(contact?.properties).toMatchObject({ plan: 'free' });
  });

  it('are taken and checked for a run without a property map', async () => {
    const [renamed, kept] = await users.addMany('unmapped', 2);
    if (!renamed || !kept) throw new Error('no users');
    const ids = [renamed.id, kept.id].sort();
    const first = await sync({ list_name: uniqueName('Unmapped'), properties: undefined });
    expect(await fingerprintedUsers(ids)).toEqual(ids);

    await stack.db.sql`update users set first_name = 'Renamed' where id = ${renamed.id}`;
    const run = await sync({ list_id: first.listId, properties: undefined });
    expect(await changeSetOf(run.runId)).toEqual([renamed.id]);
  });

  it('are not taken for another property map', async () => {
    const members = await users.addMany('remapped', 3);
    const ids = members.map((user) => user.id).sort();
    await stack.db.sql`update users set plan = 'free'`;
    const first = await sync({ list_name: uniqueName('Remapped') });
    expect(await fingerprintedUsers(ids)).toEqual(ids);

    // The same column under another key: the full rules find every member without it.
    const remapped = await sync({ list_id: first.listId, properties: { tier: 'plan' } });
    expect(await changeSetOf(remapped.runId)).toEqual(ids);
  });
  it('are taken by the pass for records without one', async () => {
    const members = await users.addMany('unprinted', 3);
    const ids = members.map((user) => user.id).sort();
    await stack.db.sql`update users set plan = 'free'`;
    const first = await sync({ list_name: uniqueName('Unprinted') });
    // Records from before fingerprints (or whose fingerprint a run gave up on).
    await stack.db.sql`
      update audience_sync.contact_fields set fingerprint = null where user_id = any(${ids}::text[])`;
    const quiet = await sync({ list_id: first.listId });
    expect(await changeSetOf(quiet.runId)).toEqual([]);
    expect(await fingerprintedUsers(ids)).toEqual(ids);
    const written = await fingerprintsOf(ids);
    const steady = await sync({ list_id: first.listId });
    expect(await changeSetOf(steady.runId)).toEqual([]);
    expect(await fingerprintsOf(ids)).toEqual(written);
  });
});
