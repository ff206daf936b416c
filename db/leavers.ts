import type { TransactionSql } from 'postgres';
import type { ListRef } from './outcomes.js';
import { recordColumns, type Sql } from './sql.js';
import { type ActivityFilter, idAmong, type UsersSource, userFragments } from './users-source.js';

/**
 * The leavers of mirror runs (`run_leavers`, `run_leaver_plans`): members of the ledger that this
 * service put into the list (origin 'made') whose user is no longer in the run's population. They
 * are found once, after the population pass, from the ledger and the run's outcomes (the
 * platform's list is never read), and each is handled once.
 */

/** Outcomes after which a ledger member is out of the population; anyone else stays. */
const LEAVING_SKIPS = ['opted_out', 'deleted', 'inactive', 'not_found'];
const LEAVING_FAILURES = ['invalid_email'];

export interface LeaverPlan {
  /** Ledger members of the list when the leavers were found. */
  tracked: number;
  /** Contacts that would be taken out of the list. */
  wouldRemove: number;
  /** Of them, opted-out users whose contact would be marked unsubscribed first. */
  wouldUnsubscribe: number;
  /** The most the run may remove (its max_removals, as a number of contacts). */
  maxRemovals: number;
}

const LEAVER_PLAN_COLUMNS = recordColumns<LeaverPlan>()([
  'tracked',
  'would_remove',
  'would_unsubscribe',
  'max_removals',
]);

/** Where the users relation says a user opted out; for relations without that column, nobody. */
export interface OptOutSource {
  relation: string;
  hasOptOut: boolean;
}

/**
 * Finds the run's leavers once and answers the plan; a repeat (a retried activity) answers the
 * plan found the first time. A leaver whose contact another member of the list still holds
 * (users sharing an email) is `shared`: it leaves the ledger, the contact stays. Several leavers
 * with one contact are one removal.
 */
export async function planLeavers(
  sql: Sql,
  runId: string,
  list: ListRef,
  users: UsersSource,
  filter: ActivityFilter,
  limitOf: (tracked: number) => number,
): Promise<LeaverPlan> {
  return sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext(${`leavers:${runId}`}))`;
    const existing = await readPlan(tx, runId);
    if (existing) return existing;
    // Read outside the transaction (the users relation is the application's; the absent
    // members were fixed when the change set was found).
    const back = await backInPopulation(sql, runId, users, filter);
    await insertLeavers(tx, runId, list, users, back);
    // A contact that a staying member holds stays; of leavers sharing a contact, the first acts.
    await tx`
      update audience_sync.run_leavers l set outcome = 'shared', handled_at = now()
      where l.run_id = ${runId} and l.contact_id is not null and (
        exists (
          select 1 from audience_sync.list_members m
          where m.platform = ${list.platform} and m.list_id = ${list.listId}
            and m.contact_id = l.contact_id
            and not exists (select 1 from audience_sync.run_leavers o
              where o.run_id = ${runId} and o.user_id = m.user_id))
        or exists (
          select 1 from audience_sync.run_leavers o
          where o.run_id = ${runId} and o.contact_id = l.contact_id and o.user_id < l.user_id))`;
    // The members tracked before the run began (the run's own adds never raise the bar); runs
    // that began before that was kept count the members now.
    const [tracked] = await tx<{ count: number }[]>`
      select coalesce(
        (select tracked_before from audience_sync.runs where run_id = ${runId}),
        (select count(*)::int from audience_sync.list_members
          where platform = ${list.platform} and list_id = ${list.listId})) as count`;
    const [planned] = await tx<{ wouldRemove: number; wouldUnsubscribe: number }[]>`
      select count(*)::int as "wouldRemove", count(*) filter (where unsubscribe)::int as "wouldUnsubscribe"
      from audience_sync.run_leavers where run_id = ${runId} and outcome is null`;
    const plan: LeaverPlan = {
      tracked: tracked?.count ?? 0,
      wouldRemove: planned?.wouldRemove ?? 0,
      wouldUnsubscribe: planned?.wouldUnsubscribe ?? 0,
      maxRemovals: 0,
    };
    plan.maxRemovals = limitOf(plan.tracked);
    await tx`
      insert into audience_sync.run_leaver_plans
        (run_id, tracked, would_remove, would_unsubscribe, max_removals)
      values (${runId}, ${plan.tracked}, ${plan.wouldRemove}, ${plan.wouldUnsubscribe},
        ${plan.maxRemovals})`;
    return plan;
  });
}

/**
 * Writes the run's leavers: ledger members it made without an outcome, or with one that takes
 * them out of the population. An 'all' run looks only among its change set and the members out of
 * the population when it was found (its unchanged members stay), so this costs what changed; a
 * run without a change set (a dry run) looks at the whole ledger.
 */
async function insertLeavers(
  tx: TransactionSql,
  runId: string,
  list: ListRef,
  users: OptOutSource,
  back: string[],
): Promise<void> {
  const [changeSet] = await tx`
    select 1 from audience_sync.run_change_sets where run_id = ${runId}`;
  const candidates = changeSet
    ? tx`and m.user_id in (
        select user_id from audience_sync.run_absent_members
        where run_id = ${runId} and user_id <> all(${back}::text[])
        union all
        select user_id from audience_sync.run_changes where run_id = ${runId})`
    : tx``;
  const optedOut = users.hasOptOut ? tx`coalesce(u.marketing_opt_out, false)` : tx`false`;
  await tx`
    insert into audience_sync.run_leavers (run_id, user_id, contact_id, unsubscribe)
    select ${runId}, m.user_id, m.contact_id,
      coalesce(${optedOut}, false) and m.unsubscribed_at is null
    from audience_sync.list_members m
    left join audience_sync.run_users r on r.run_id = ${runId} and r.user_id = m.user_id
    left join ${tx(users.relation)} u on u.id::text = m.user_id
    where m.platform = ${list.platform} and m.list_id = ${list.listId}
      -- A membership someone else made (found in the list) is never taken out.
      and m.origin = 'made' ${candidates}
      and (r.user_id is null
        or (r.outcome = 'skipped' and r.reason = any(${LEAVING_SKIPS}::text[]))
        or (r.outcome = 'failed' and r.reason = any(${LEAVING_FAILURES}::text[])))`;
}

/**
 * Members out of the population when the change set was found that are back in it now (a user
 * reactivated or restored mid-run): they stay, for the next run to meet. A look-up of the few
 * absent members by id.
 */
async function backInPopulation(
  sql: Sql,
  runId: string,
  users: UsersSource,
  filter: ActivityFilter,
): Promise<string[]> {
  const absent = await sql<{ userId: string }[]>`
    select user_id as "userId" from audience_sync.run_absent_members where run_id = ${runId}`;
  if (absent.length === 0) return [];
  const f = userFragments(sql, users);
  const ids = absent.map((row) => row.userId);
  const rows = await sql<{ userId: string }[]>`
    select u.id::text as "userId" from ${f.relation} u
    where ${idAmong(sql, users, ids)} and ${f.notDeleted} and ${f.active(filter)}`;
  return rows.map((row) => row.userId);
}

/**
 * Fixes the members the ledger tracks in the run's list as the run begins, before its first
 * batch, for the removal guard; once (a retried activity or a continued run keeps the first).
 */
export async function fixTrackedBefore(sql: Sql, runId: string): Promise<void> {
  await sql`
    update audience_sync.runs r set tracked_before = (
      select count(*)::int from audience_sync.list_members m
      where m.platform = r.platform and m.list_id = r.list_id)
    where r.run_id = ${runId} and r.tracked_before is null`;
}

async function readPlan(sql: Sql | TransactionSql, runId: string): Promise<LeaverPlan | undefined> {
  const [plan] = await sql<LeaverPlan[]>`
    select ${sql.unsafe(LEAVER_PLAN_COLUMNS)}
    from audience_sync.run_leaver_plans where run_id = ${runId}`;
  return plan;
}

export interface PendingLeaver {
  userId: string;
  contactId: string | null;
  unsubscribe: boolean;
  /** From the users relation when the user is still there (for leavers without a contact id). */
  email: string | null;
}

/** A leaver's own columns; its email is looked up in the users relation. */
const PENDING_LEAVER_COLUMNS = recordColumns<Omit<PendingLeaver, 'email'>>('l')([
  'user_id',
  'contact_id',
  'unsubscribe',
]);

/** The next leavers still to handle, by user id. */
export async function pendingLeavers(
  sql: Sql,
  runId: string,
  users: OptOutSource,
  limit: number,
): Promise<PendingLeaver[]> {
  return sql<PendingLeaver[]>`
    select ${sql.unsafe(PENDING_LEAVER_COLUMNS)},
      case when l.contact_id is null then btrim(u.email) end as email
    from audience_sync.run_leavers l
    left join ${sql(users.relation)} u on l.contact_id is null and u.id::text = l.user_id
    where l.run_id = ${runId} and l.outcome is null
    order by l.user_id
    limit ${limit}`;
}

export type LeaverOutcome =
  | { outcome: 'removed'; unsubscribed: boolean }
  | { outcome: 'gone' }
  | { outcome: 'failed'; reason: string };

/**
 * Records how a leaver ended, once: the run's counts and the ledger change in one transaction. A
 * removed or gone contact leaves the ledger (so the next run does not look at it again); a
 * failed one stays in it, for the next mirror run.
 */
export async function recordLeaver(
  sql: Sql,
  runId: string,
  list: ListRef,
  userId: string,
  result: LeaverOutcome,
): Promise<boolean> {
  return sql.begin(async (tx) => {
    const reason = result.outcome === 'failed' ? result.reason : null;
    const updated = await tx`
      update audience_sync.run_leavers set outcome = ${result.outcome}, reason = ${reason},
        handled_at = now()
      where run_id = ${runId} and user_id = ${userId} and outcome is null
      returning user_id`;
    if (updated.length === 0) return false;
    if (result.outcome !== 'failed') {
      await tx`
        delete from audience_sync.list_members
        where platform = ${list.platform} and list_id = ${list.listId} and user_id = ${userId}`;
    }
    const removed = result.outcome === 'removed' ? 1 : 0;
    const unsubscribed = result.outcome === 'removed' && result.unsubscribed ? 1 : 0;
    if (removed + unsubscribed > 0) {
      await tx`
        update audience_sync.runs set removed = removed + ${removed},
          unsubscribed = unsubscribed + ${unsubscribed}
        where run_id = ${runId}`;
    }
    return true;
  });
}

/** Leavers that another member's contact stands for leave the ledger (the contact stays). */
export async function dropSharedLeavers(sql: Sql, runId: string, list: ListRef): Promise<void> {
  await sql`
    delete from audience_sync.list_members m
    using audience_sync.run_leavers l
    where l.run_id = ${runId} and l.outcome = 'shared' and m.platform = ${list.platform}
      and m.list_id = ${list.listId} and m.user_id = l.user_id`;
}

/** Up to `limit` user ids of the run's leavers, by user id (a dry run's sample). */
export async function sampleLeavers(
  sql: Sql,
  runId: string,
  limit: number,
): Promise<{ remove: string[]; unsubscribe: string[] }> {
  const rows = await sql<{ userId: string; unsubscribe: boolean }[]>`
    (select user_id as "userId", false as unsubscribe from audience_sync.run_leavers
      where run_id = ${runId} and outcome is null order by user_id limit ${limit})
    union all
    (select user_id, true from audience_sync.run_leavers
      where run_id = ${runId} and outcome is null and unsubscribe order by user_id limit ${limit})`;
  return {
    remove: rows.filter((row) => !row.unsubscribe).map((row) => row.userId),
    unsubscribe: rows.filter((row) => row.unsubscribe).map((row) => row.userId),
  };
}
