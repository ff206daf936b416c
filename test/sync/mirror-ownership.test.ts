import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  type AppStack,
  createEmulatorSegment,
  emulatedContacts,
  requestLog,
  seedEmulatorContacts,
  startAppStack,
} from '../support/app-stack.js';

/**
 * What a mirror run may take out of a list: only the memberships this service made. A contact
 * that was already in the list when the service first synced its user there was found, not made,
 * and stays whatever happens to the user. And the removal guard's share is of the members the
 * service tracked before the run began, so the run's own adds never raise the bar.
 *
 * The worker reads users through a view of a cohort table, so each test picks its population.
 */
const POPULATION_VIEW = 'cohort_population';

let stack: AppStack;

beforeAll(async () => {
  stack = await startAppStack({
    users: 60,
    mix: 'eligible',
    emulator: { rateLimit: 400 },
    worker: { USERS_SOURCE: POPULATION_VIEW },
  });
  await stack.db.sql.unsafe(`
    create table cohort (list text not null, user_id bigint not null, primary key (list, user_id));
    create table cohort_choice (list text not null);
    insert into cohort_choice values ('none');
    create view ${POPULATION_VIEW} as
      select u.* from users u
      join cohort c on c.user_id = u.id and c.list = (select list from cohort_choice)`);
});

afterAll(async () => {
  await stack?.stop();
});

interface User {
  id: string;
  email: string;
}

/** Users `from`..`to` by id (the eligible mix: every user sendable, one email each). */
const usersBetween = (from: number, to: number) =>
  stack.db.sql<User[]>`
    select id::text, lower(btrim(email)) as email from users
    where id between ${from} and ${to} order by id`;

/** The population the next run reads: exactly these users. */
async function populationIs(list: string, users: User[]): Promise<void> {
  await stack.db.sql`delete from cohort where list = ${list}`;
  await stack.db.sql`
    insert into cohort (list, user_id) select ${list}, unnest(${users.map((u) => u.id)}::bigint[])`;
  await stack.db.sql`update cohort_choice set list = ${list}`;
}

const memberEmails = async (listId: string): Promise<string[]> =>
  (await emulatedContacts(stack.emulator, `&segment_id=${listId}`))
    .map((contact) => contact.email.toLowerCase())
    .sort();

const emailsOf = (users: User[]) => users.map((user) => user.email).sort();
const lastSeq = async (): Promise<number> => (await requestLog(stack.emulator)).at(-1)?.seq ?? 0;

const mirror = (listId: string, extra: Record<string, unknown> = {}) =>
  stack.call('POST', '/api/marketing/sync', {
    platform: 'resend',
    list_id: listId,
    mode: 'mirror',
    ...extra,
  });

describe('memberships the service found', () => {
  it('are never removed by a mirror run, while those it made are', async () => {
    const users = [...(await usersBetween(1, 8))];
    const pick = (index: number): User => {
      const user = users[index];
      if (!user) throw new Error(`no user ${index}`);
      return user;
    };
    const [found1, found2, made1, made2] = [pick(0), pick(1), pick(2), pick(3)];
    const listId = await createEmulatorSegment(stack.emulator, 'Found and made');
    // Someone put two of the users' contacts into the list before the service ever synced it,
    // and one other contact that is nobody's user here.
    await seedEmulatorContacts(stack.emulator, [
      { email: found1.email, segment_ids: [listId] },
      { email: found2.email, segment_ids: [listId] },
      { email: 'kept.by.hand@example.org', segment_ids: [listId] },
    ]);
    await populationIs('found-and-made', users);
    const first = await mirror(listId);
    expect(first.status).toBe(200);
    expect(first.body).toMatchObject({ synced: 8, removed: 0 });
    expect(await memberEmails(listId)).toEqual(
      [...emailsOf(users), 'kept.by.hand@example.org'].sort(),
    );
    const ledger = await stack.db.sql<{ userId: string; origin: string }[]>`
      select user_id as "userId", origin from audience_sync.list_members
      where list_id = ${listId} order by user_id::int`;
    expect(ledger).toEqual(
      users.map((user) => ({
        userId: user.id,
        origin: user === found1 || user === found2 ? 'found' : 'made',
      })),
    );

    // Four users leave: two whose memberships were found, two the service made.
    const staying = users.filter((user) => ![found1, found2, made1, made2].includes(user));
    await populationIs('found-and-made', staying);
    const plan = await mirror(listId, { dry_run: true, max_removals: 10 });
    expect(plan.status).toBe(200);
    expect(plan.body.plan.remove).toEqual({ count: 2, userIds: [made1.id, made2.id].sort() });

    const before = await lastSeq();
    const second = await mirror(listId, { max_removals: 10 });
    expect(second.status).toBe(200);
    expect(second.body).toMatchObject({ removed: 2 });
    expect(await memberEmails(listId)).toEqual(
      [...emailsOf(staying), found1.email, found2.email, 'kept.by.hand@example.org'].sort(),
    );
    const removals = (await requestLog(stack.emulator, `&since_seq=${before}`)).filter(
      (entry) => entry.method === 'DELETE',
    );
    expect(removals).toHaveLength(2);
  });

  it('stay in the list when their user moves to another email; a membership made moves', async () => {
    const [foundUser, madeUser] = [...(await usersBetween(11, 12))] as User[];
    if (!foundUser || !madeUser) throw new Error('no users 11 and 12');
    const listId = await createEmulatorSegment(stack.emulator, 'Email moves');
    await seedEmulatorContacts(stack.emulator, [{ email: foundUser.email, segment_ids: [listId] }]);
    await populationIs('email-moves', [foundUser, madeUser]);
    const first = await mirror(listId);
    expect(first.status).toBe(200);

    const moved = (user: User) => `moved.${user.id}@example.net`;
    await stack.db.sql`
      update users set email = 'moved.' || id || '@example.net'
      where id in (${foundUser.id}, ${madeUser.id})`;
    const second = await mirror(listId);
    expect(second.status).toBe(200);
    // The old contact this service put there left with its user; the one someone else put there
    // stays, beside the new one.
    expect(await memberEmails(listId)).toEqual(
      [foundUser.email, moved(foundUser), moved(madeUser)].sort(),
    );
    const ledger = await stack.db.sql<{ userId: string; origin: string }[]>`
      select user_id as "userId", origin from audience_sync.list_members
      where list_id = ${listId} order by user_id::int`;
    expect(ledger).toEqual([
      { userId: foundUser.id, origin: 'made' },
      { userId: madeUser.id, origin: 'made' },
    ]);
  });
});

describe('the removal guard', () => {
  it('takes its share of the members tracked before the run, so a swapped population trips it', async () => {
    const old = await usersBetween(21, 30);
    const others = await usersBetween(31, 40);
    const listId = await createEmulatorSegment(stack.emulator, 'Swapped');
    await populationIs('swapped', old);
    const first = await mirror(listId);
    expect(first.status).toBe(200);
    expect(await memberEmails(listId)).toEqual(emailsOf(old));

    // The same number of users, all of them others: ten would leave, of ten tracked.
    await populationIs('swapped', others);
    const swapped = await mirror(listId);
    expect(swapped.status).toBe(409);
    expect(swapped.body.error.code).toBe('removal_guard_tripped');
    expect(swapped.body.error.message).toBe(
      'The run would remove 10 contacts from the list, more than max_removals allows (5 of 10 tracked members); it removed none',
    );
    // Its adds stay; nobody was removed.
    expect(await memberEmails(listId)).toEqual([...emailsOf(old), ...emailsOf(others)].sort());

    // A dry run plans with the same bar.
    const plan = await mirror(listId, { dry_run: true });
    expect(plan.status).toBe(200);
    expect(plan.body.plan.removalGuard).toEqual({
      tracked: 20,
      wouldRemove: 10,
      maxRemovals: 10,
      tripped: false,
    });
  });
});
