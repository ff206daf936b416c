import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedDemoUsers } from '../../db/demo-users.js';
import { inspectUsersSource, resolveUserIds } from '../../db/users-source.js';
import {
  type AppStack,
  emulatedContacts,
  startAppStack,
  waitForRunEnd,
} from '../support/app-stack.js';
import { schemaColumnsHolding } from '../support/schema-search.js';
import { waitFor } from '../support/stack.js';

/**
 * Ids as the application writes them, against a users relation whose id is an `integer`: a
 * leading zero names the same user, an id no user has (or one the type cannot hold) is
 * `not_found` and holds up nobody, in erasures and in `specific` syncs alike.
 */

let stack: AppStack;

/** Far from anything else the schema holds, and within an integer. */
const FIRST_ID = 1_900_000_041;
const id = (offset: number) => String(FIRST_ID + offset);
/** Beyond an integer's range: `'99999999999'::integer` is an error in Postgres. */
const OVERFLOWING = '99999999999';

beforeAll(async () => {
  stack = await startAppStack({
    emulator: { rateLimit: 200 },
    worker: { USERS_SOURCE: 'int_users' },
    api: { USERS_SOURCE: 'int_users' },
    beforeStart: async (db) => {
      await seedDemoUsers(db.sql, { count: 10, firstId: FIRST_ID, mix: 'eligible' });
      await db.sql`
        create view int_users as
        select id::integer as id, email, first_name, last_name, full_name, created_at,
          last_active_at, marketing_opt_out, deleted_at
        from users`;
    },
  });
});

afterAll(async () => {
  await stack?.stop();
});

const emailsOf = async (offsets: number[]) =>
  (
    await stack.db.sql<{ email: string }[]>`
      select lower(email) as email from users
      where id = any(${offsets.map(id)}::bigint[]) order by id`
  ).map((row) => row.email);

const contactEmails = async () =>
  (await emulatedContacts(stack.emulator)).map((contact) => contact.email.toLowerCase()).sort();

async function waitForErasureEnd(erasureId: string, timeoutMs = 90_000) {
  return waitFor(
    async () => {
      const status = await stack.call('GET', `/api/marketing/erasures/${erasureId}`);
      return status.status === 200 && status.body.status !== 'running' && status.body;
    },
    { timeoutMs, intervalMs: 200, what: `erasure ${erasureId} to end` },
  );
}

/** A `specific` sync of these ids into a new list; answers the run's id and its end. */
async function syncSpecific(listName: string, userIds: string[]) {
  const started = await stack.call(
    'POST',
    '/api/marketing/sync',
    { platform: 'resend', list_name: listName, sync_type: 'specific', user_ids: userIds },
    { prefer: 'respond-async' },
  );
  expect(started.status).toBe(202);
  const runId = started.body.runId as string;
  return { runId, finished: await waitForRunEnd(stack, runId, 90_000) };
}

describe('ids as the application writes them', () => {
  it('a specific sync resolves "0…" ids to their user, once, and reports unknown and overflowing ids as not_found', async () => {
    // User 2 is asked for twice, in two spellings: it is read, recorded and counted once.
    const { runId, finished } = await syncSpecific('Integer ids', [
      OVERFLOWING,
      `0${id(0)}`,
      'nobody',
      `00${id(1)}`,
      id(2),
      `000${id(2)}`,
    ]);
    expect(finished).toMatchObject({
      status: 'completed',
      progress: { total: 5, processed: 5, added: 3, skipped: 2, failed: 0 },
    });
    const outcomes = await stack.db.sql`
      select user_id, outcome, reason from audience_sync.run_users
      where run_id = ${runId} order by user_id`;
    expect(outcomes).toEqual([
      { user_id: id(0), outcome: 'added', reason: null },
      { user_id: id(1), outcome: 'added', reason: null },
      { user_id: id(2), outcome: 'added', reason: null },
      { user_id: OVERFLOWING, outcome: 'skipped', reason: 'not_found' },
      { user_id: 'nobody', outcome: 'skipped', reason: 'not_found' },
    ]);
    const members = await stack.db.sql`
      select user_id from audience_sync.list_members
      where list_id = ${finished.audience.id} order by user_id`;
    expect(members.map((row) => row.user_id)).toEqual([id(0), id(1), id(2)]);
    expect(await contactEmails()).toEqual(expect.arrayContaining(await emailsOf([0, 1, 2])));
  });

  it('an erasure resolves ids through the users relation and its own tables; ids of no user are not_found and hold up nobody', async () => {
    const sync = await syncSpecific('Before erasure', [id(3), id(4), id(5)]);
    expect(sync.finished).toMatchObject({ status: 'completed', progress: { added: 3 } });
    const synced = await emailsOf([3, 4, 5]);
    const before = await contactEmails();
    expect(before).toEqual(expect.arrayContaining(synced));
    // User 4 is gone from the users relation already: found through the service's tables.
    await stack.db.sql`delete from users where id = ${id(4)}`;

    const started = await stack.call('POST', '/api/marketing/erasures', {
      // The overflowing id first: it must not hold up the others.
      user_ids: [`8${OVERFLOWING}`, `00${id(3)}`, `0${id(4)}`, 'no-one', id(7), '1900000999'],
    });
    expect(started.status).toBe(202);
    const finished = await waitForErasureEnd(started.body.erasureId);
    expect(finished).toMatchObject({
      status: 'completed',
      progress: {
        requested: 6,
        erased: 3,
        notFound: 3,
        contactsDeleted: 2,
        failed: 0,
        pending: 0,
      },
    });
    const [first, second] = synced;
    expect(await contactEmails()).toEqual(
      before.filter((email) => email !== first && email !== second),
    );
    // Users 3 and 4 (met by a sync) and 7 (in the relation, never met): a tombstone only.
    for (const erased of [id(3), id(4), id(7)]) {
      expect(Object.fromEntries(await schemaColumnsHolding(stack.db.sql, erased))).toEqual({
        'erasure_tombstones.user_id': 1,
      });
    }
    // Ids of nobody leave nothing behind, not even a tombstone.
    for (const nobody of [`8${OVERFLOWING}`, 'no-one', '1900000999']) {
      expect(Object.fromEntries(await schemaColumnsHolding(stack.db.sql, nobody))).toEqual({});
    }
    // User 5 was not asked for: its rows stay.
    const kept = await schemaColumnsHolding(stack.db.sql, id(5));
    expect(kept.get('list_members.user_id')).toBe(1);
  });

  it('uuid ids are found in either case and spelling, text ids as written, and no id fails the look-up', async () => {
    const uuid = '0b9e6a3c-1f2d-4e5f-8a9b-0c1d2e3f4a5b';
    for (const [table, type, value] of [
      ['uuid_users', 'uuid', uuid],
      ['text_users', 'text', `User-${id(8)}`],
    ] as const) {
      await stack.db.sql`
        create table ${stack.db.sql(table)} (id ${stack.db.sql.unsafe(type)} primary key,
          email text, first_name text, last_name text, full_name text,
          created_at timestamptz not null default now(), last_active_at timestamptz)`;
      await stack.db.sql`
        insert into ${stack.db.sql(table)} (id, email, first_name, last_name, full_name)
        select ${value}::${stack.db.sql.unsafe(type)}, email, first_name, last_name, full_name
        from users where id = ${id(8)}`;
    }
    const uuids = await inspectUsersSource(stack.db.sql, 'uuid_users');
    expect(uuids.idType).toBe('uuid');
    const asked = [uuid.toUpperCase(), uuid.replaceAll('-', ''), `{${uuid}}`, uuid, '42', 'x'];
    expect(Object.fromEntries(await resolveUserIds(stack.db.sql, uuids, asked))).toEqual(
      Object.fromEntries(asked.slice(0, 4).map((one) => [one, uuid])),
    );
    const texts = await inspectUsersSource(stack.db.sql, 'text_users');
    expect(
      Object.fromEntries(
        await resolveUserIds(stack.db.sql, texts, [`User-${id(8)}`, `user-${id(8)}`, id(8)]),
      ),
    ).toEqual({ [`User-${id(8)}`]: `User-${id(8)}` });
  });
});
