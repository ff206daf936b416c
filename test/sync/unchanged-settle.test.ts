import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailHash } from '../../common/emails.js';
import { findChangeSet } from '../../db/change-set.js';
import { createUsersTable } from '../../db/demo-users.js';
import { planLeavers } from '../../db/leavers.js';
import { readRunUsers, streamRunUsers } from '../../db/run-history.js';
import { recordUnchangedMembers } from '../../db/unchanged-members.js';
import { inspectUsersSource, type UsersSource } from '../../db/users-source.js';
import { createTestDatabase, type TestDatabase } from '../support/stack.js';

/**
 * An 'all' run's unchanged members are written with its change set but are its users only once
 * the run settles them (counts them as added): before that, and forever on a run that failed or
 * was cancelled, its users are its outcome rows alone. Settling also forgets every user erased
 * since the run began, whom the change set may have written while the erasure ran.
 */

let db: TestDatabase;
let source: UsersSource;
const LIST = 'list-unchanged-settle';
const emailOf = (id: number) => `settle.${id}@example.com`;

beforeAll(async () => {
  db = await createTestDatabase();
  await createUsersTable(db.sql);
  const ids = [1, 2, 3, 4, 5, 6];
  await db.sql`
    insert into users (id, email, first_name, last_name, full_name, last_active_at)
    select id, 'settle.' || id || '@example.com', 'Settle', 'S' || id, 'Settle S' || id, now()
    from unnest(${ids}::bigint[]) as id`;
  // Users 2, 4 and 6 are members with the email last sent: unchanged. Member 9 left.
  const members = [2, 4, 6, 9];
  await db.sql`
    insert into audience_sync.list_members (platform, list_id, user_id, email_hash)
    select 'resend', ${LIST}, m.user_id, m.email_hash
    from unnest(${members.map(String)}::text[], ${members.map((id) => emailHash(emailOf(id)))}::text[])
      as m(user_id, email_hash)`;
  source = await inspectUsersSource(db.sql, 'users');
});

afterAll(async () => {
  await db?.drop();
});

/** A run whose change set is found, with an outcome row for user 1 (a batch's). */
async function runWithChangeSet(
  runId: string,
  erasedMeanwhile?: () => Promise<unknown>,
): Promise<void> {
  // One run of a list runs at a time: the previous test's has ended.
  await db.sql`
    update audience_sync.runs set status = 'completed'
    where list_id = ${LIST} and status = 'running'`;
  await db.sql`
    insert into audience_sync.runs (run_id, platform, sync_type, trigger, filter_active,
      active_days, active_since, list_id)
    values (${runId}, 'resend', 'all', 'api', false, 30, now(), ${LIST})`;
  await findChangeSet(db.sql, source, {
    runId,
    platform: 'resend',
    account: 'resend:unchanged-settle',
    listId: LIST,
    filter: { filterActive: false, activeSince: new Date().toISOString() },
    tagListIds: [],
  });
  await erasedMeanwhile?.();
  await db.sql`
    insert into audience_sync.run_users (run_id, user_id, outcome) values (${runId}, '1', 'added')`;
}

const listed = async (runId: string) =>
  (await readRunUsers(db.sql, runId, {}, undefined, 100)).map((row) => row.userId);

const streamed = async (runId: string) => {
  const ids: string[] = [];
  for await (const page of streamRunUsers(db.sql, runId, { outcome: 'added' }, 2)) {
    ids.push(...page.map((row) => row.userId));
  }
  return ids;
};

const settle = (runId: string) =>
  recordUnchangedMembers(db.sql, { runId, platform: 'resend', listId: LIST });

describe('unchanged members of an all run', () => {
  it('are its users only once the run settled them', async () => {
    await runWithChangeSet('settle-later');
    expect(await listed('settle-later')).toEqual(['1']);
    expect(await streamed('settle-later')).toEqual(['1']);
    // A run that failed after finding its change set never settles them.
    await db.sql`update audience_sync.runs set status = 'failed' where run_id = 'settle-later'`;
    expect(await listed('settle-later')).toEqual(['1']);

    await runWithChangeSet('settled');
    await settle('settled');
    expect(await listed('settled')).toEqual(['1', '2', '4', '6']);
    expect(await streamed('settled')).toEqual(['1', '2', '4', '6']);
  });

  it('forgets users erased while the change set was found, in its chunks and absent members', async () => {
    // The race: an erasure of users 4 and 9 deletes their rows (tombstones first) while the
    // change-set statement runs, which commits 4 in a chunk and 9 as absent after the erasure
    // looked for them (as here: the tombstones come after the chunks, nothing else removed).
    await runWithChangeSet(
      'erased-meanwhile',
      () =>
        db.sql`
        insert into audience_sync.erasure_tombstones (user_id, email_hash)
        values ('4', ${emailHash(emailOf(4))}), ('9', ${emailHash(emailOf(9))})`,
    );
    const absent = async () =>
      (
        await db.sql<{ userId: string }[]>`
          select user_id as "userId" from audience_sync.run_absent_members
          where run_id = 'erased-meanwhile' order by user_id`
      ).map((row) => row.userId);
    expect(await absent()).toEqual(['9']);
    const [chunked] = await db.sql<{ ids: string[] }[]>`
      select array_agg(id order by id) as ids
      from audience_sync.run_unchanged_members, unnest(user_ids) as id
      where run_id = 'erased-meanwhile'`;
    expect(chunked?.ids).toEqual(['2', '4', '6']);

    const counts = await settle('erased-meanwhile');
    expect(counts.added).toBe(2);
    expect(await listed('erased-meanwhile')).toEqual(['1', '2', '6']);
    expect(await streamed('erased-meanwhile')).toEqual(['1', '2', '6']);
    expect(await absent()).toEqual([]);
    const [run] = await db.sql<{ added: number }[]>`
      select added from audience_sync.runs where run_id = 'erased-meanwhile'`;
    expect(run?.added).toBe(2);
  });

  it('leaves a member who came back into the population after the change set was found', async () => {
    await runWithChangeSet('came-back');
    expect(
      await db.sql`select user_id from audience_sync.run_absent_members where run_id = 'came-back'`,
    ).toEqual([{ user_id: '9' }]);
    // Member 9 joins the population (reactivated) while the run's batches run.
    await db.sql`
      insert into users (id, email, first_name, last_active_at)
      values (9, ${emailOf(9)}, 'Back', now())`;
    // Its batches give the change set's users their outcomes.
    await db.sql`
      insert into audience_sync.run_users (run_id, user_id, outcome)
      select run_id, user_id, 'added' from audience_sync.run_changes where run_id = 'came-back'
      on conflict do nothing`;
    await settle('came-back');
    await planLeavers(
      db.sql,
      'came-back',
      { platform: 'resend', listId: LIST },
      source,
      { filterActive: false, activeSince: new Date().toISOString() },
      () => 10,
    );
    expect(
      await db.sql`select user_id from audience_sync.run_leavers where run_id = 'came-back'`,
    ).toEqual([]);
  });
});
