import { ApplicationFailure, ApplicationFailureCategory } from '@temporalio/common';
import { type RunRecord, saveListCreateAttempt } from '../db/runs.js';
import type { Sql } from '../db/sql.js';
import type { MarketingPlatform, PlatformList } from './platforms/platform.js';

/**
 * Destination lists. Creating a list is not idempotent on the platform, so every create is done
 * under an advisory lock on the list's name and remembers what existed before it: after an
 * ambiguous answer (a timeout, or a 500 after the write happened) the retry adopts the list the
 * first attempt made instead of making a second one.
 */

/** Serialises list creation per account and name across every worker. */
async function withNameLock<T>(
  sql: Sql,
  platform: MarketingPlatform,
  name: string,
  work: () => Promise<T>,
): Promise<T> {
  const reserved = await sql.reserve();
  const key = `${platform.account}|${name}`;
  try {
    await reserved`select pg_advisory_lock(hashtextextended(${key}, 0))`;
    return await work();
  } finally {
    await reserved`select pg_advisory_unlock(hashtextextended(${key}, 0))`.catch(() => {});
    reserved.release();
  }
}

const ambiguousCreate = (name: string): ApplicationFailure =>
  ApplicationFailure.create({
    message: `Creating the list "${name}" got no clear answer; the retry looks for it before creating`,
    type: 'ListCreateAmbiguous',
    // Expected under faults and handled by the retry: not worth an error in logs and metrics.
    category: ApplicationFailureCategory.BENIGN,
  });

const refusedCreate = (code: string): ApplicationFailure =>
  ApplicationFailure.nonRetryable(
    `The platform refused to create the list (${code})`,
    'ListRefused',
  );

/** Lists with this name not made by anyone we know of: the one our last attempt made. */
async function findOwnCreatedList(
  sql: Sql,
  platform: MarketingPlatform,
  name: string,
  existingBefore: string[],
): Promise<PlatformList | undefined> {
  const known = new Set(existingBefore);
  const claimed = await sql<{ listId: string }[]>`
    select list_id as "listId" from audience_sync.runs
    where platform = ${platform.name} and list_id is not null
    union select list_id from audience_sync.named_lists where account = ${platform.account}`;
  for (const row of claimed) known.add(row.listId);
  const lists = await platform.findListsByName(name);
  return lists.find((list) => !known.has(list.id));
}

/** Creates the run's new list once, whatever happens to the answers. */
export async function createRunList(
  sql: Sql,
  platform: MarketingPlatform,
  run: RunRecord,
  name: string,
): Promise<PlatformList> {
  return withNameLock(sql, platform, name, async () => {
    if (run.listCreateAttempt) {
      const own = await findOwnCreatedList(
        sql,
        platform,
        name,
        run.listCreateAttempt.existingListIds,
      );
      if (own) return own;
    } else {
      const existing = await platform.findListsByName(name);
      await saveListCreateAttempt(
        sql,
        run.runId,
        existing.map((list) => list.id),
      );
    }
    const created = await platform.createList(name);
    if (created.ok) return created.value;
    if (created.kind === 'ambiguous') throw ambiguousCreate(name);
    throw refusedCreate(created.code);
  });
}

/**
 * The list named exactly `name` (a tag), found or created once per account: two runs starting
 * together with the same new tag make one list.
 */
export async function findOrCreateNamedList(
  sql: Sql,
  platform: MarketingPlatform,
  name: string,
): Promise<PlatformList> {
  const remembered = async () => {
    const [row] = await sql<{ listId: string }[]>`
      select list_id as "listId" from audience_sync.named_lists
      where account = ${platform.account} and name = ${name}`;
    return row && { id: row.listId, name };
  };
  const cached = await remembered();
  if (cached) return cached;
  return withNameLock(sql, platform, name, async () => {
    const again = await remembered();
    if (again) return again;
    // The oldest list with the name: the one found or created by an earlier, ambiguous attempt.
    const [existing] = await platform.findListsByName(name);
    let list = existing;
    if (!list) {
      const created = await platform.createList(name);
      if (!created.ok && created.kind === 'ambiguous') throw ambiguousCreate(name);
      if (!created.ok) throw refusedCreate(created.code);
      list = created.value;
    }
    await sql`
      insert into audience_sync.named_lists (account, name, list_id)
      values (${platform.account}, ${name}, ${list.id})
      on conflict (account, name) do nothing`;
    return list;
  });
}
