import type { Sql } from '../../db/sql.js';
import { uniqueName } from './stack.js';

/** A user a test inserted into the users relation (created by `createUsersTable`). */
export interface TestUser {
  id: string;
  /** As inserted. */
  email: string;
}

/**
 * Inserts users with ids of their own (counted per file) and emails no other test uses:
 * `<prefix>.<id>.<random>@example.com`, or the address `email(id)` gives.
 */
export function testUsers(sql: () => Sql) {
  let nextId = 1;
  const add = async (email: (id: number) => string): Promise<TestUser> => {
    const id = nextId++;
    const address = email(id);
    await sql()`
      insert into users (id, email, first_name, last_name, full_name, last_active_at)
      values (${id}, ${address}, 'Given', 'Family', 'Given Family', now())`;
    return { id: String(id), email: address };
  };
  return {
    add,
    async addMany(prefix: string, count: number): Promise<TestUser[]> {
      const users: TestUser[] = [];
      for (let index = 0; index < count; index += 1) {
        users.push(await add((id) => `${prefix}.${id}.${uniqueName('u')}@example.com`));
      }
      return users;
    },
  };
}

/**
 * How these users (absent: all the run's users) ended in the run, as `outcome` or
 * `outcome:reason`, by user id: its outcome rows and its unchanged members (added).
 */
export async function outcomesOf(
  sql: Sql,
  runId: string,
  users?: TestUser[],
): Promise<Record<string, string>> {
  const ids = users?.map((user) => user.id);
  const only = ids ? sql`and user_id = any(${ids}::text[])` : sql``;
  const rows = await sql<{ userId: string; outcome: string; reason: string | null }[]>`
    select user_id as "userId", outcome, reason from audience_sync.run_users
    where run_id = ${runId} ${only}
    union all
    select id, 'added', null from audience_sync.run_unchanged_members, unnest(user_ids) as id
    where run_id = ${runId} ${ids ? sql`and id = any(${ids}::text[])` : sql``}`;
  return Object.fromEntries(
    rows.map((row) => [row.userId, row.reason ? `${row.outcome}:${row.reason}` : row.outcome]),
  );
}
