import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailHash } from '../../common/emails.js';
import { findChangeSet, readChangeSetBatch } from '../../db/change-set.js';
import { createUsersTable } from '../../db/demo-users.js';
import { inspectUsersSource, type UsersSource } from '../../db/users-source.js';
import { createTestDatabase, type TestDatabase } from '../support/stack.js';

/**
 * An 'all' run's change set is found once, at its first read, and read by place after that: in
 * id order (as the id's type orders it, not as text), from any cursor, the cursor's user in the
 * change set or not, and the same users again when a batch is read again.
 */

let db: TestDatabase;
let source: UsersSource;
const RUN = 'change-set-reads';
const LIST = 'list-change-set-reads';
const emailOf = (id: number) => `reader.${id}@example.com`;

beforeAll(async () => {
  db = await createTestDatabase();
  await createUsersTable(db.sql);
  const ids = Array.from({ length: 12 }, (_, index) => index + 1);
  await db.sql`
    insert into users (id, email, first_name, last_name, full_name, last_active_at)
    select id, 'reader.' || id || '@example.com', 'Reader', 'R' || id, 'Reader R' || id, now()
    from unnest(${ids}::bigint[]) as id`;
  // Users 2, 4, 6, 8, 10 and 12 are members with the email last sent: unchanged.
  const members = ids.filter((id) => id % 2 === 0);
  await db.sql`
    insert into audience_sync.list_members (platform, list_id, user_id, email_hash)
    select 'resend', ${LIST}, m.user_id, m.email_hash
    from unnest(${members.map(String)}::text[], ${members.map((id) => emailHash(emailOf(id)))}::text[])
      as m(user_id, email_hash)`;
  await db.sql`
    insert into audience_sync.runs (run_id, platform, sync_type, trigger, filter_active,
      active_days, active_since)
    values (${RUN}, 'resend', 'all', 'api', false, 30, now())`;
  source = await inspectUsersSource(db.sql, 'users');
});

afterAll(async () => {
  await db?.drop();
});

const query = {
  runId: RUN,
  platform: 'resend' as const,
  account: 'resend:change-set-reads',
  listId: LIST,
  filter: { filterActive: false, activeSince: new Date().toISOString() },
  tagListIds: [],
  limit: 2,
};

const read = async (cursor: string | null, upTo: string | null = null) =>
  (await readChangeSetBatch(db.sql, source, { ...query, cursor, upTo })).map((user) => user.userId);

describe('the change set of an all run', () => {
  it('is found once and read by place from any cursor, in the order of the ids', async () => {
    expect(await read(null)).toEqual(['1', '3']);
    expect(await read('3')).toEqual(['5', '7']);
    // Read again (a retried batch): the same users.
    expect(await read('3')).toEqual(['5', '7']);
    // A cursor whose user is unchanged (not in the change set) starts after it by id.
    expect(await read('4')).toEqual(['5', '7']);
    expect(await read('4', '9')).toEqual(['5', '7', '9']);
    expect(await read('9')).toEqual(['11']);
    // 10 comes after 9 as a number (as text it would come before 3).
    expect(await read('10')).toEqual(['11']);
    expect(await read('11')).toEqual([]);

    // A user who joins or changes after the change set was found goes with the next run.
    await db.sql`
      insert into users (id, email, first_name, last_active_at)
      values (13, ${emailOf(13)}, 'Late', now())`;
    await db.sql`update users set first_name = 'Changed', email = 'moved@example.com' where id = 2`;
    expect(await findChangeSet(db.sql, source, query)).toBe(6);
    expect(await read('11')).toEqual([]);
    expect(await read(null)).toEqual(['1', '3']);
  });
});
