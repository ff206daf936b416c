import { Resend } from 'resend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppStack,
  emulatorAdmin,
  requestLog,
  seedEmulatorContacts,
  startAppStack,
} from '../support/app-stack.js';
import { TEST_RESEND_KEY } from '../support/stack.js';

let stack: AppStack;

beforeAll(async () => {
  // The mapped columns, and one the relation lacks (refused as unknown, not as not allowed).
  const allowed = {
    PROPERTY_COLUMNS: 'plan,seats,beta,trial_ends,balance,big,company_name,no_such_column',
  };
  stack = await startAppStack({
    users: 40,
    mix: 'eligible',
    emulator: { rateLimit: 300 },
    api: allowed,
    worker: allowed,
  });
  // The app's own data, mapped to contact properties by the runs below.
  await stack.db.sql`
    alter table users add column plan text, add column seats integer,
      add column beta boolean, add column trial_ends timestamptz,
      add column balance numeric(10,2), add column big bigint`;
  await stack.db.sql`
    update users set plan = case when id % 2 = 0 then 'pro' else 'free' end, seats = id::int,
      beta = id % 3 = 0, trial_ends = '2027-01-15T10:30:00Z'`;
});

afterAll(async () => {
  await stack?.stop();
});

const PROPERTIES = { plan: 'plan', seats: 'seats', beta: 'beta', trial_ends: 'trial_ends' };

interface StoredContact {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  unsubscribed: boolean;
  properties: Record<string, string | number>;
  segment_ids: string[];
}

async function contactsByEmail(): Promise<Map<string, StoredContact>> {
  const { data } = await emulatorAdmin<{ data: StoredContact[] }>(
    stack.emulator,
    '/contacts?limit=100000',
  );
  return new Map(data.map((contact) => [contact.email.toLowerCase(), contact]));
}

interface UserRow {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  plan: string | null;
  seats: number | null;
  beta: boolean | null;
  trial_ends: Date | null;
}

const users = () =>
  stack.db.sql<UserRow[]>`
    select id::text, lower(email) as email, first_name, last_name, plan, seats, beta, trial_ends
    from users order by id`;

/** What Resend should hold for a user whose contact this service created and kept up. */
const expectedContact = (user: UserRow) => ({
  first_name: user.first_name,
  last_name: user.last_name,
  properties: {
    ...(user.plan === null ? {} : { plan: user.plan }),
    ...(user.seats === null ? {} : { seats: user.seats }),
    ...(user.beta === null ? {} : { beta: String(user.beta) }),
    ...(user.trial_ends === null ? {} : { trial_ends: '2027-01-15T10:30:00+00:00' }),
  },
});

const fieldsOf = (contact: StoredContact | undefined) =>
  contact && {
    first_name: contact.first_name,
    last_name: contact.last_name,
    properties: contact.properties,
  };

const lastSeq = async () => (await requestLog(stack.emulator)).at(-1)?.seq ?? 0;

const writesSince = async (seq: number) =>
  (await requestLog(stack.emulator, `&since_seq=${seq}`)).filter((entry) =>
    ['POST', 'PATCH', 'DELETE'].includes(entry.method),
  );

async function sync(body: Record<string, unknown>) {
  const answer = await stack.call('POST', '/api/marketing/sync', {
    platform: 'resend',
    properties: PROPERTIES,
    ...body,
  });
  expect(answer.status).toBe(200);
  return answer.body;
}

const resend = () => new Resend(TEST_RESEND_KEY, { baseUrl: stack.emulator.url });

describe('field updates and mapped properties', () => {
  it('creates contacts with their properties, then patches exactly what changed in the app', async () => {
    const first = await sync({ list_name: 'Fields' });
    const listId: string = first.list_id;
    expect(first).toMatchObject({ synced: 40, skipped: 0, failed: 0, updated: 0 });
    let contacts = await contactsByEmail();
    for (const user of await users()) {
      expect(fieldsOf(contacts.get(user.email))).toEqual(expectedContact(user));
    }
    // The definitions were created once, with the types SPEC maps the columns to.
    const definitions = await resend().contactProperties.list();
    expect(Object.fromEntries((definitions.data?.data ?? []).map((p) => [p.key, p.type]))).toEqual({
      plan: 'string',
      seats: 'number',
      beta: 'string',
      trial_ends: 'string',
    });

    // Someone unsubscribes user 4 in Resend; the app changes five users.
    const before = new Map((await users()).map((row) => [row.id, row]));
    const user = (id: number) => before.get(String(id)) as UserRow;
    const { error } = await resend().contacts.update({ email: user(4).email, unsubscribed: true });
    expect(error).toBeNull();
    await stack.db.sql`update users set first_name = 'Renamed' where id in (2, 4)`;
    await stack.db.sql`update users set last_name = 'Changed', plan = 'enterprise' where id = 3`;
    await stack.db.sql`update users set seats = 99 where id = 5`;
    await stack.db.sql`update users set plan = null where id = 6`;

    const mark = await lastSeq();
    const second = await sync({ list_id: listId });
    // The user unsubscribed in Resend is skipped (consent made there wins): nothing is sent for
    // it, its new name included.
    expect(second).toMatchObject({ synced: 39, skipped: 1, failed: 0, updated: 4 });
    const outcomes = await stack.db.sql<{ userId: string; reason: string }[]>`
      select user_id as "userId", reason from audience_sync.run_users
      where run_id = ${second.runId} and outcome = 'skipped'`;
    expect(outcomes).toEqual([{ userId: '4', reason: 'unsubscribed_in_platform' }]);

    // Exactly one request per changed user, a PATCH of its contact, and nothing for the others.
    const writes = await writesSince(mark);
    expect(writes.map((entry) => entry.method)).toEqual(Array(4).fill('PATCH'));
    const changed = [2, 3, 5, 6].map((id) => user(id).email);
    const patchedIds = writes.map((entry) => entry.path.replace('/contacts/', ''));
    contacts = await contactsByEmail();
    expect(patchedIds.sort()).toEqual(changed.map((email) => contacts.get(email)?.id).sort());

    for (const now of await users()) {
      const contact = contacts.get(now.email);
      expect(fieldsOf(contact)).toEqual(expectedContact(now.id === '4' ? user(4) : now));
      expect(contact?.segment_ids).toContain(listId);
      expect(contact?.unsubscribed).toBe(now.id === '4');
    }
    expect(contacts.get(user(6).email)?.properties).not.toHaveProperty('plan');

    // A third run with nothing changed writes nothing at all.
    const quiet = await lastSeq();
    const third = await sync({ list_id: listId });
    expect(third).toMatchObject({ synced: 39, skipped: 1, updated: 0 });
    expect(await writesSince(quiet)).toEqual([]);

    const status = await stack.call('GET', `/api/marketing/sync-users/${second.runId}`);
    expect(status.body.progress).toMatchObject({
      processed: 40,
      added: 39,
      skipped: 1,
      failed: 0,
      updated: 4,
    });
    const metrics = await fetch(`${stack.api.url}/metrics`).then((answer) => answer.text());
    expect(metrics).toMatch(/^audience_sync_contacts_updated_total \d+/m);
  });

  it('moves the membership to the new email, leaving the old contact in Resend', async () => {
    const list = await sync({ list_name: 'Moves' });
    const listId: string = list.list_id;
    const [moving, ontoExisting] = await stack.db.sql<{ id: string; email: string }[]>`
      select id::text, lower(email) as email from users where id in (11, 12) order by id`;
    if (!moving || !ontoExisting) throw new Error('users 11 and 12 are seeded');
    // The address user 12 moves to already has a contact in Resend, named there.
    const [existingId] = await seedEmulatorContacts(stack.emulator, [
      { email: 'taken.address@example.org', first_name: 'Kept' },
    ]);
    await stack.db.sql`update users set email = 'fresh.address@example.org' where id = 11`;
    await stack.db.sql`update users set email = 'taken.address@example.org' where id = 12`;

    const moved = await sync({ list_id: listId });
    const contacts = await contactsByEmail();
    // Users unsubscribed in Resend (by an earlier test of this file) are skipped, not moved.
    const expected = (await users())
      .map((user) => user.email)
      .filter((email) => !contacts.get(email)?.unsubscribed);
    expect(moved).toMatchObject({ synced: expected.length, failed: 0 });
    const members = [...contacts.values()]
      .filter((contact) => contact.segment_ids.includes(listId))
      .map((contact) => contact.email.toLowerCase());
    expect(members.sort()).toEqual(expected.sort());
    expect(members).not.toContain(moving.email);
    expect(members).not.toContain(ontoExisting.email);
    // The old contacts stay in Resend; the existing one joined and kept its name.
    expect(contacts.get(moving.email)?.segment_ids).not.toContain(listId);
    expect(contacts.get(ontoExisting.email)).toBeDefined();
    const taken = contacts.get('taken.address@example.org');
    expect(taken).toMatchObject({ id: existingId, unsubscribed: false, first_name: 'Kept' });
    expect(contacts.get('fresh.address@example.org')?.unsubscribed).toBe(false);
  });

  it("patches and moves members whose fields or email changed in a 'new' run too, and reads no one else", async () => {
    const list = await sync({ list_name: 'New runs' });
    const listId: string = list.list_id;
    const contacts = await contactsByEmail();
    // Users unsubscribed in Resend by an earlier test of this file are skipped by every run.
    const sendable = (await users()).filter((user) => !contacts.get(user.email)?.unsubscribed);
    const skippedThere = (await users()).length - sendable.length;
    const [renamed, reseated, moving] = sendable.slice(-3);
    if (!renamed || !reseated || !moving) throw new Error('the file seeds 40 users');
    const quiet = await lastSeq();
    // Users unsubscribed in Resend never joined the list: a 'new' run reads and skips them again.
    const unchanged = await sync({ list_id: listId, sync_type: 'new' });
    expect(unchanged).toMatchObject({ synced: 0, skipped: skippedThere, failed: 0, updated: 0 });
    expect(await writesSince(quiet)).toEqual([]);

    await stack.db.sql`update users set first_name = 'Renamed again' where id = ${renamed.id}`;
    await stack.db.sql`update users set seats = 777 where id = ${reseated.id}`;
    await stack.db
      .sql`update users set email = 'moved.in.new.run@example.org' where id = ${moving.id}`;
    await stack.db.sql`
      insert into users (id, email, first_name, last_name, full_name, last_active_at, plan, seats)
      values (5001, 'joined.later@example.org', 'Joined', 'Later', 'Joined Later', now(), 'free', 1)`;
    const mark = await lastSeq();
    const changed = await sync({ list_id: listId, sync_type: 'new' });
    expect(changed).toMatchObject({ synced: 4, skipped: skippedThere, failed: 0, updated: 2 });
    const read = await stack.db.sql<{ userId: string }[]>`
      select user_id as "userId" from audience_sync.run_users
      where run_id = ${changed.runId} and outcome = 'added' order by user_id::bigint`;
    expect(read.map((row) => row.userId)).toEqual(
      [renamed.id, reseated.id, moving.id, '5001'].sort((a, b) => Number(a) - Number(b)),
    );
    const after = await contactsByEmail();
    const now = new Map((await users()).map((user) => [user.id, user]));
    for (const id of [renamed.id, reseated.id, '5001']) {
      const user = now.get(id) as UserRow;
      expect(fieldsOf(after.get(user.email))).toEqual(expectedContact(user));
      expect(after.get(user.email)?.segment_ids).toContain(listId);
    }
    expect(after.get('moved.in.new.run@example.org')?.segment_ids).toContain(listId);
    expect(after.get(moving.email)?.segment_ids).not.toContain(listId);
    const writes = await writesSince(mark);
    expect(writes.map((entry) => `${entry.method} ${entry.path.split('/')[1]}`).sort()).toEqual([
      'DELETE contacts',
      'PATCH contacts',
      'PATCH contacts',
      'POST contacts',
      'POST contacts',
    ]);

    // Nothing changed since: the next 'new' run reads no one and writes nothing.
    const settled = await lastSeq();
    const again = await sync({ list_id: listId, sync_type: 'new' });
    expect(again).toMatchObject({ synced: 0, skipped: skippedThere, failed: 0, updated: 0 });
    expect(await writesSince(settled)).toEqual([]);
    await stack.db.sql`delete from users where id = 5001`;
  });

  it("reads no unchanged member again in a 'new' run, whatever odd values its fields hold", async () => {
    // Values the 'new' run's change check must hash in SQL exactly as the worker does.
    const odd = [
      'Zoë 😀 日本',
      'tab\there',
      'line\u2028sep\u2029',
      'quote "q" \\ /',
      'del\u007f',
      'ctl\u0001\u001f\n',
      '  padded  ',
      "o'hara",
    ];
    for (const [index, name] of odd.entries()) {
      const id = 21 + index;
      await stack.db.sql`
        update users set first_name = ${name}, last_name = ${odd[odd.length - 1 - index] ?? null},
          email = ${'  '} || upper(email) || ${' '},
          balance = ${['20.00', '19.90', '0.50', '-3.10'][index % 4] ?? null}::numeric,
          big = ${index === 0 ? '9007199254740993' : String(index * 1000)}::bigint
        where id = ${id}`;
    }
    const properties = { ...PROPERTIES, balance: 'balance', big: 'big' };
    const full = await sync({ list_name: 'Odd values', properties });
    const listId: string = full.list_id;
    const skippedIds = await stack.db.sql<{ userId: string }[]>`
      select user_id as "userId" from audience_sync.run_users
      where run_id = ${full.runId} and outcome = 'skipped'`;
    const contacts = await contactsByEmail();
    for (const [index, name] of odd.entries()) {
      const [user] = await stack.db.sql<{ email: string }[]>`
        select lower(btrim(email)) as email from users where id = ${21 + index}`;
      expect(contacts.get(user?.email ?? '')?.first_name).toBe(name);
    }

    const quiet = await lastSeq();
    const next = await sync({ list_id: listId, sync_type: 'new', properties });
    expect(await writesSince(quiet)).toEqual([]);
    // Read again: the users unsubscribed in Resend (skipped by every run), and user 21, whose
    // bigint is past 2^53: the worker holds it as a double, so SQL cannot write its hash (a
    // read, no request). Nobody else.
    const read = await stack.db.sql<{ userId: string; outcome: string }[]>`
      select user_id as "userId", outcome from audience_sync.run_users
      where run_id = ${next.runId} order by user_id`;
    expect(read).toEqual(
      [
        ...skippedIds.map(({ userId }) => ({ userId, outcome: 'skipped' })),
        { userId: '21', outcome: 'added' },
      ].sort((a, b) => a.userId.localeCompare(b.userId)),
    );
    expect(next).toMatchObject({ synced: 1, failed: 0, updated: 0 });

    // A change among them is found and patched, and only it.
    await stack.db.sql`update users set balance = 20.01 where id = 25`;
    const mark = await lastSeq();
    const changed = await sync({ list_id: listId, sync_type: 'new', properties });
    expect(changed).toMatchObject({ synced: 2, failed: 0, updated: 1 });
    const writes = await writesSince(mark);
    const [user25] = await stack.db.sql<{ email: string }[]>`
      select lower(btrim(email)) as email from users where id = 25`;
    expect(writes.map((entry) => `${entry.method} ${entry.path}`)).toEqual([
      `PATCH /contacts/${contacts.get(user25?.email ?? '')?.id}`,
    ]);
    expect((await contactsByEmail()).get(user25?.email ?? '')?.properties.balance).toBe(20.01);
  });

  it('refuses an unknown column and a bad property key with 400', async () => {
    const unknown = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      properties: { plan: 'plan', company: 'company_name' },
    });
    expect(unknown.status).toBe(400);
    expect(unknown.body.error).toMatchObject({
      code: 'unknown_column',
      details: [{ field: 'properties.company', message: expect.stringContaining('company_name') }],
    });
    const badKey = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      properties: { 'plan-name': 'plan' },
    });
    expect(badKey.status).toBe(400);
    expect(JSON.stringify(badKey.body.error)).toContain('properties');
    const tooMany = await stack.call('POST', '/api/marketing/sync', {
      platform: 'resend',
      properties: Object.fromEntries(Array.from({ length: 21 }, (_, i) => [`p${i}`, 'plan'])),
    });
    expect(tooMany.status).toBe(400);
    const schedule = await stack.call('POST', '/api/marketing/schedules', {
      scheduleId: 'fields-unknown-column',
      every: '6h',
      sync: { platform: 'resend', properties: { plan: 'no_such_column' } },
    });
    expect(schedule.status).toBe(400);
    expect(schedule.body.error.code).toBe('unknown_column');
  });
});
