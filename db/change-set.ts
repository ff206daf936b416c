import type { Fragment } from 'postgres';
import type { Platform } from '../common/sync.js';
import { platformObjectHashesSql } from './consent.js';
import { analyzeIfStale } from './planner-statistics.js';
import { userFingerprintSql } from './sent-fingerprints.js';
import type { Sql } from './sql.js';
import { comparedAsType } from './user-ids.js';
import {
  type ActivityFilter,
  type BatchQuery,
  type BatchUser,
  emailHashSql,
  selectBatchUsers,
  sentFieldsSameSql,
  type UsersSource,
  userFragments,
} from './users-source.js';

/**
 * An 'all' run's change set: every user of the population the run has something to send for,
 * or an outcome other than "added, unchanged". That is what a 'new' run reads (not in the list,
 * opted out, email or sent fields changed) and also whatever would stop a member from counting as
 * present unchanged: an invalid email, a ledger row without an email hash or marked unsubscribed,
 * a tag list it is missing from, fields sent to another account only, or a fact the platform
 * reported (unsubscribed, deleted, suppressed), and members sharing an email hash in the ledger.
 * The rest are members present with the fields last sent: its unchanged members.
 *
 * It is found once per run, in one statement over the population joined to the ledger by hash
 * joins (no look-up per user), and kept in `run_changes` numbered in user-id order (`seq`): the
 * bulk pass's chunks and the batches read it from there, by a range of `seq`. The same statement
 * writes the unchanged members in chunks (recordUnchangedMembers counts them) and the ledger's
 * members out of the population (where a mirror run looks for leavers).
 */
export interface ChangeSetQuery {
  runId: string;
  platform: Platform;
  account: string;
  listId: string;
  filter: ActivityFilter;
  properties?: Record<string, string>;
  tagListIds: string[];
}

/**
 * Finds the run's change set unless it was found (a repeat, or a read racing this one, waits for
 * the first and finds it); answers its size. Nested loops are off for the statement: the ledger
 * of a list that filled during the run has stale statistics (the planner expects a few members
 * and would probe them per user).
 */
export async function findChangeSet(
  sql: Sql,
  source: UsersSource,
  query: ChangeSetQuery,
): Promise<number> {
  const [found] = await sql<{ users: number }[]>`
    select users from audience_sync.run_change_sets where run_id = ${query.runId}`;
  if (found) return found.users;
  await analyzeIfStale(sql, ['list_members', 'contact_fields']);
  return sql.begin(async (tx) => {
    const [claimed] = await tx<{ users: number }[]>`
      insert into audience_sync.run_change_sets (run_id, users) values (${query.runId}, 0)
      on conflict (run_id) do nothing
      returning users`;
    if (!claimed) {
      const [found] = await tx<{ users: number }[]>`
        select users from audience_sync.run_change_sets where run_id = ${query.runId}`;
      return found?.users ?? 0;
    }
    await tx`set local enable_nestloop = off`;
    await tx`set local work_mem = '64MB'`;
    const [row] = await tx<{ users: number }[]>`${changeSetStatement(sql, source, query)}`;
    const users = row?.users ?? 0;
    await tx`
      update audience_sync.run_change_sets set users = ${users} where run_id = ${query.runId}`;
    if (users >= ANALYZED_CHANGE_SET) await tx`analyze audience_sync.run_changes`;
    return users;
  });
}

/**
 * Writes the run's change set (`run_changes`, numbered in id order) and its unchanged members
 * (`run_unchanged_members`, chunks of ids in text order, as its users are listed) in one pass over
 * the population, with the ledger's members out of it (`run_absent_members`); answers the change
 * set's size.
 */
export function changeSetStatement(sql: Sql, source: UsersSource, query: ChangeSetQuery): Fragment {
  return sql`
    with population as (${populationChanges(sql, source, query)}),
    changed as (
      insert into audience_sync.run_changes (run_id, seq, user_id)
      select ${query.runId}, row_number() over (order by id), user_id from population
      where changed and id is not null
      returning 1),
    -- Written whether or not the answer reads them (Postgres runs every data-modifying WITH).
    absent as (
      insert into audience_sync.run_absent_members (run_id, user_id)
      select ${query.runId}, member_id from population where id is null),
    unchanged as (
      insert into audience_sync.run_unchanged_members (run_id, chunk, user_ids)
      select ${query.runId}, chunk, array_agg(user_id order by user_id)
      from (select user_id, (row_number() over (order by user_id) - 1) / ${UNCHANGED_CHUNK} as chunk
        from population where not changed and id is not null) members
      group by chunk),
    -- The records found matching that have no fingerprint get one: only if no write came to
    -- the record since it was read (its xmin, checked again on the row a concurrent write left).
    -- One taken for another property map (another list's) is left: lists would take turns.
    fingerprinted as (
      update audience_sync.contact_fields cf set fingerprint = p.fingerprint_now
      from population p
      where p.id is not null and not p.changed and not p.fingerprinted
        and cf.account = ${query.account} and cf.user_id = p.user_id and cf.xmin = p.sent_xmin
        and cf.fingerprint is null)
    select count(*)::int as users from changed`;
}

/**
 * A change set this large has the planner's statistics of `run_changes` gathered as it is written:
 * taken for a few rows, its batch reads would sort all of it to read a hundred.
 */
const ANALYZED_CHANGE_SET = 1000;

/** Unchanged members a chunk of `run_unchanged_members` holds (the last may hold fewer). */
const UNCHANGED_CHUNK = 10_000;

/**
 * The population, each user with whether it is in the change set (`changed`); the others are
 * its unchanged members. The ledger's members out of the population come with them, without a
 * user (`id` null, `member_id` theirs). Members sharing an email hash in the ledger are in the change set: the
 * batches decide which of them owns the email, as they do for every user they read.
 */
function populationChanges(sql: Sql, source: UsersSource, query: ChangeSetQuery): Fragment {
  const f = userFragments(sql, source);
  const tags = [...new Set(query.tagListIds)];
  const tagJoin =
    tags.length === 0
      ? sql``
      : sql`left join (
          select lm.user_id, lm.email_hash, count(*)::int as lists
          from audience_sync.list_members lm
          where lm.platform = ${query.platform} and lm.list_id = any(${tags}::text[])
            and lm.unsubscribed_at is null
          group by lm.user_id, lm.email_hash) tg
        on tg.user_id = u.id::text and tg.email_hash = m.email_hash`;
  const missingTag = tags.length === 0 ? sql`false` : sql`coalesce(tg.lists, 0) < ${tags.length}`;
  // The record of what was last sent comes with the user (populationUsers).
  const sent = { emailHash: sql`u.sent_email_hash`, fields: sql`u.sent_fields` };
  return sql`
    select u.id, u.id::text as user_id, m.user_id as member_id, u.fingerprint_now,
      u.fingerprinted, u.sent_xmin, coalesce(m.user_id is null or ${f.optedOut}
      or u.valid_now is not true
      or m.email_hash is null or m.unsubscribed_at is not null
      or m.email_hash <> u.email_hash_now
      or (u.sent_user_id is not null and u.valid_now and not (case when u.fingerprinted then true
        else ${sentFieldsSameSql(sql, source, query.properties, sql`u.email_hash_now`, sent)} end))
      or (u.sent_user_id is null and elsewhere.user_id is not null)
      or ${missingTag}
      or po.email_hash is not null
      or shared.email_key is not null
      or r.user_id is not null, false) as changed
    from (${populationUsers(sql, source, query)}) u
    -- Full: the ledger's members out of the population come out too, with no user (id null).
    full join (
      select * from audience_sync.list_members
      where platform = ${query.platform} and list_id = ${query.listId}) m on m.user_id = u.id::text
    left join (
      select user_id from audience_sync.contact_fields where account <> ${query.account}
      group by user_id) elsewhere on elsewhere.user_id = u.id::text
    ${tagJoin}
    left join (${platformObjectHashesSql(sql, query)}) po on po.email_hash = u.email_hash_now
    -- Grouped by a 64-bit hash of the email hash, a table a third the size: a rare collision
    -- only sends two more members through the batches.
    left join (
      select hashtextextended(email_hash, 0) as email_key from audience_sync.list_members
      where platform = ${query.platform} and list_id = ${query.listId} and email_hash is not null
      group by 1 having count(*) > 1) shared
      on shared.email_key = hashtextextended(m.email_hash, 0)
    left join audience_sync.run_users r on r.run_id = ${query.runId} and r.user_id = u.id::text`;
}

/**
 * The population's users, each with the record of what was last sent to its contact and its
 * email's hash and validity, computed once (offset 0 keeps them from being inlined into every
 * condition that names them, each a hash or a match per user). A record whose fingerprint
 * matches the user's values gives its email's hash instead, and the email is valid: CASE
 * evaluates lazily, so that email is neither hashed nor matched against the pattern.
 */
function populationUsers(sql: Sql, source: UsersSource, query: ChangeSetQuery): Fragment {
  const f = userFragments(sql, source);
  const fingerprint = userFingerprintSql(sql, source, query.account, query.properties);
  return sql`
    select u.*, cf.user_id as sent_user_id, cf.email_hash as sent_email_hash,
      cf.fields as sent_fields, cf.xmin as sent_xmin,
      coalesce(cf.fingerprint = u.fingerprint_now, false) as fingerprinted,
      case when cf.fingerprint = u.fingerprint_now then cf.email_hash else ${emailHashSql(sql)} end
        as email_hash_now,
      case when cf.fingerprint = u.fingerprint_now then true else ${f.validEmail} end as valid_now
    from (select u.*, ${fingerprint} as fingerprint_now
      from ${f.relation} u where ${f.notDeleted} and ${f.active(query.filter)} offset 0) u
    left join audience_sync.contact_fields cf
      on cf.account = ${query.account} and cf.user_id = u.id::text
    offset 0`;
}

/**
 * The change set's place (`seq`) of the last user up to `userId` in id order: the user's own
 * when the change set holds it (every cursor a read of it returned), else found by id. Both probe
 * the change set's (run_id, user_id) index: the second walks the users down from `userId` and
 * stops at the first in the change set (its `seq` follows the id order), instead of joining the
 * whole change set to the users.
 */
export function changeSetPlace(
  sql: Sql,
  source: UsersSource,
  runId: string,
  userId: string,
): Fragment {
  const f = userFragments(sql, source);
  return sql`coalesce(
    (select c.seq from audience_sync.run_changes c where c.run_id = ${runId} and c.user_id = ${userId}),
    (select c.seq from (select u.id from ${f.relation} u where u.id <= ${userId}::${f.idCast}
        order by u.id desc) u
      cross join lateral (select c.seq from audience_sync.run_changes c
        where c.run_id = ${runId} and c.user_id = u.id::text) c
      order by u.id desc limit 1),
    0)`;
}

/** A change-set row `alias` to its user `u`, by the id's own type where it has one. */
export function changedUserJoin(sql: Sql, source: UsersSource, alias: string): Fragment {
  const f = userFragments(sql, source);
  return comparedAsType(source.idType)
    ? sql`u.id = ${sql(alias)}.user_id::${f.idCast}`
    : sql`u.id::text = ${sql(alias)}.user_id`;
}

/**
 * The next users of the run's change set after the cursor (up to `upTo`, or `limit` of them), in
 * id order, as a run sees them; the change set is found first if it was not. A user deleted or
 * gone inactive since it was found is not read (it is out of the population).
 */
export async function readChangeSetBatch(
  sql: Sql,
  source: UsersSource,
  query: BatchQuery & ChangeSetQuery,
): Promise<BatchUser[]> {
  await findChangeSet(sql, source, query);
  const f = userFragments(sql, source);
  const after =
    query.cursor === null
      ? sql``
      : sql`and rc.seq > ${changeSetPlace(sql, source, query.runId, query.cursor)}`;
  const upTo =
    query.upTo == null
      ? sql``
      : sql`and rc.seq <= ${changeSetPlace(sql, source, query.runId, query.upTo)}`;
  const limit = query.upTo == null ? sql`limit ${query.limit}` : sql``;
  return selectBatchUsers(
    sql,
    source,
    f,
    query,
    { deleted: sql`false`, active: sql`true` },
    sql`${f.notDeleted} and ${f.active(query.filter)} order by rc.seq ${limit}`,
    // The run's places in order first: the users and the ledger are then probed only until the
    // batch is full, however few rows the planner expects of a change set written this run.
    sql`(select rc.seq, rc.user_id from audience_sync.run_changes rc
        where rc.run_id = ${query.runId} ${after} ${upTo} order by rc.seq) rc
      join ${f.relation} u on ${changedUserJoin(sql, source, 'rc')}`,
  );
}
