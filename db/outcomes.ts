import type { FieldHashes } from '../common/field-changes.js';
import { emptyCounts, type SyncCounts } from '../common/sync.js';
import { recordColumns, type Sql } from './sql.js';

/**
 * Per-user outcomes of runs (`run_users`), the emails each run has claimed (`run_emails`), and
 * the ledger of who this service put into which list (`list_members`). An outcome and the ledger
 * change it implies are written in one transaction, as soon as the outcome is known.
 */

export type UserOutcome =
  | {
      outcome: 'added';
      contactId: string | null;
      /** The user's email as synced, so a later email change is seen. */
      emailHash?: string;
      /** Its fields were patched by this run. */
      updated?: boolean;
      /**
       * Lists (of the run's list and tags) the contact was in before this service first synced
       * the user there: memberships found, not made. Absent: none.
       */
      foundIn?: string[];
      /** What the contact now holds of the app's fields, for the next run's comparison. */
      fields?: { account: string; hashes: FieldHashes };
    }
  | { outcome: 'skipped'; reason: string; unsubscribed?: boolean }
  | {
      outcome: 'failed';
      reason: string;
      /** The platform's own message, without personal data, when the platform refused. */
      platformMessage?: string;
    };

/** A platform's refusal as the user's outcome, its message kept. */
export const failedByPlatform = (rejection: {
  reason: string;
  platformMessage?: string;
}): UserOutcome => ({
  outcome: 'failed',
  reason: rejection.reason,
  ...(rejection.platformMessage ? { platformMessage: rejection.platformMessage } : {}),
});

export interface ListRef {
  platform: string;
  listId: string;
  /** Lists every added user also joins (tags); the ledger has them too. */
  tagListIds?: string[];
}

/*
 * Look-ups of a batch's users among a run's rows go one primary-key probe per user (a LATERAL
 * subquery with LIMIT, which the planner cannot flatten). While a run records its first
 * thousands of rows, the table's statistics still say the run has none, and `run_id = $1 and
 * user_id = any($2)` was planned as a scan of all the run's rows for every batch: 36 ms a batch
 * at 90,000 rows, growing with the run.
 */

/** Users of the run that already have an outcome (a retried batch skips them). */
export async function recordedUsers(
  sql: Sql,
  runId: string,
  userIds: string[],
): Promise<Set<string>> {
  const rows = await sql<{ userId: string }[]>`
    select r.user_id as "userId"
    from unnest(${userIds}::text[]) as wanted(user_id)
    cross join lateral (
      select user_id from audience_sync.run_users
      where run_id = ${runId} and user_id = wanted.user_id limit 1) r`;
  return new Set(rows.map((row) => row.userId));
}

interface EmailOwner {
  emailHash: string;
  userId: string;
}

const CLAIM_COLUMNS = recordColumns<EmailOwner>('e')(['email_hash', 'user_id']);
const MEMBER_EMAIL_COLUMNS = recordColumns<EmailOwner>()(['user_id', 'email_hash']);

/**
 * Claims each email hash for the first user (by id) of the run who has it, and returns the owner
 * of each hash. Claims happen in the given order, so within a batch the earlier user wins too.
 */
export async function claimEmails(
  sql: Sql,
  runId: string,
  claims: { emailHash: string; userId: string }[],
): Promise<Map<string, string>> {
  if (claims.length === 0) return new Map();
  const hashes = claims.map((claim) => claim.emailHash);
  await sql`
    insert into audience_sync.run_emails (run_id, email_hash, user_id)
    select ${runId}, claim.email_hash, claim.user_id
    from unnest(${hashes}::text[], ${claims.map((claim) => claim.userId)}::text[])
      with ordinality as claim(email_hash, user_id, position)
    order by claim.position
    on conflict do nothing`;
  const rows = await sql<EmailOwner[]>`
    select ${sql.unsafe(CLAIM_COLUMNS)}
    from unnest(${hashes}::text[]) as wanted(email_hash)
    cross join lateral (
      select email_hash, user_id from audience_sync.run_emails
      where run_id = ${runId} and email_hash = wanted.email_hash limit 1) e`;
  return new Map(rows.map((row) => [row.emailHash, row.userId]));
}

/** One user's outcome as recordOutcomes writes it: a row of its input. */
function outcomeRow(userId: string, result: UserOutcome) {
  const added = result.outcome === 'added';
  const fields = added && result.fields && result.emailHash ? result.fields : undefined;
  return {
    user_id: userId,
    outcome: result.outcome,
    reason: added ? null : result.reason,
    platform_message: (result.outcome === 'failed' && result.platformMessage) || null,
    unsubscribed: result.outcome === 'skipped' && result.unsubscribed === true,
    updated: added && result.updated === true,
    contact_id: added ? result.contactId : null,
    email_hash: (added ? result.emailHash : undefined) ?? null,
    found_in: (added ? result.foundIn : undefined) ?? [],
    fields_account: fields?.account ?? null,
    fields: fields?.hashes ?? null,
  };
}

/**
 * Users' outcomes and the ledger changes they imply, atomically; a repeat changes nothing. One
 * statement for many users (its parts switched on and off by each outcome), not a transaction
 * of four per user: a run records one outcome per contact, and each round trip costs the
 * worker's main thread. A user named twice is written in a statement after the first.
 */
export async function recordOutcomes(
  sql: Sql,
  runId: string,
  list: ListRef,
  outcomes: { userId: string; result: UserOutcome }[],
): Promise<void> {
  let rest = outcomes.map(({ userId, result }) => outcomeRow(userId, result));
  while (rest.length > 0) {
    const seen = new Set<string>();
    const once = rest.filter((row) => !seen.has(row.user_id) && seen.add(row.user_id));
    rest = rest.filter((row) => !once.includes(row));
    await writeOutcomeRows(sql, runId, list, once);
  }
}

async function writeOutcomeRows(
  sql: Sql,
  runId: string,
  list: ListRef,
  rows: ReturnType<typeof outcomeRow>[],
): Promise<void> {
  const listIds = [...new Set([list.listId, ...(list.tagListIds ?? [])])];
  // A user erased meanwhile (a tombstone) is not added: the erasure deletes the contact, and no
  // row of the ledger may name the user again.
  await sql`
    with given as (
      select g.*, g.outcome = 'added' and exists (
          select 1 from audience_sync.erasure_tombstones t where t.user_id = g.user_id) as erased
      from jsonb_to_recordset(${sql.json(rows)}::jsonb) as g(user_id text, outcome text,
        reason text, platform_message text, unsubscribed boolean, updated boolean,
        contact_id text, email_hash text, found_in text[], fields_account text, fields jsonb)
    ),
    outcome as (
      insert into audience_sync.run_users
        (run_id, user_id, outcome, reason, unsubscribed, updated, platform_message)
      select ${runId}, g.user_id, case when g.erased then 'skipped' else g.outcome end,
        case when g.erased then 'deleted_in_platform' else g.reason end, g.unsubscribed,
        g.updated and not g.erased, case when g.erased then null else g.platform_message end
      from given g
      on conflict do nothing
    ),
    -- Another email is another contact: the row then names the new one, even when its id is
    -- not known yet, and says where that membership came from. With the same email, the origin
    -- recorded when the user was first synced there stays (a re-join finds its own membership).
    membership as (
      insert into audience_sync.list_members
        (platform, list_id, user_id, contact_id, email_hash, origin)
      select ${list.platform}, lists.list_id, g.user_id, g.contact_id, g.email_hash,
        case when lists.list_id = any(g.found_in) then 'found' else 'made' end
      from given g cross join unnest(${listIds}::text[]) as lists(list_id)
      where g.outcome = 'added' and not g.erased
      on conflict (platform, list_id, user_id) do update set
        contact_id = case
          when excluded.email_hash <> audience_sync.list_members.email_hash
          then excluded.contact_id
          else coalesce(excluded.contact_id, audience_sync.list_members.contact_id) end,
        origin = case
          when excluded.email_hash <> audience_sync.list_members.email_hash
          then excluded.origin else audience_sync.list_members.origin end,
        email_hash = coalesce(excluded.email_hash, audience_sync.list_members.email_hash),
        synced_at = now()
    ),
    sent_fields as (
      insert into audience_sync.contact_fields (account, user_id, email_hash, fields, contact_id)
      select g.fields_account, g.user_id, g.email_hash, g.fields, g.contact_id
      from given g
      where g.fields_account is not null and not g.erased
      on conflict (account, user_id) do update set
        email_hash = excluded.email_hash, fields = excluded.fields,
        contact_id = case
          when excluded.email_hash <> audience_sync.contact_fields.email_hash
          then excluded.contact_id
          else coalesce(excluded.contact_id, audience_sync.contact_fields.contact_id) end,
        updated_at = now()
    ),
    unsubscribe as (
      update audience_sync.list_members set unsubscribed_at = now()
      where platform = ${list.platform} and list_id = ${list.listId}
        and user_id in (select g.user_id from given g where g.unsubscribed)
    )
    select 1`;
}

/**
 * A user sharing an email with an earlier user is skipped; it counts as synced for 'new' when
 * its email's owner was added (the owner's contact stands for both).
 */
export async function recordDuplicate(
  sql: Sql,
  runId: string,
  list: ListRef,
  userId: string,
  ownerId: string,
): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`
      insert into audience_sync.run_users (run_id, user_id, outcome, reason)
      values (${runId}, ${userId}, 'skipped', 'duplicate_email')
      on conflict do nothing`;
    await tx`
      insert into audience_sync.list_members
        (platform, list_id, user_id, contact_id, email_hash, origin)
      select platform, list_id, ${userId}, contact_id, email_hash, origin
      from audience_sync.list_members
      where platform = ${list.platform} and list_id = ${list.listId} and user_id = ${ownerId}
      on conflict do nothing`;
  });
}

/** How the given users of a run ended. */
export async function countOutcomes(
  sql: Sql,
  runId: string,
  userIds: string[],
): Promise<SyncCounts> {
  const rows = await sql<
    {
      outcome: 'added' | 'skipped' | 'failed';
      count: number;
      unsubscribed: number;
      updated: number;
    }[]
  >`
    select r.outcome, count(*)::int as count,
      count(*) filter (where r.unsubscribed)::int as unsubscribed,
      count(*) filter (where r.updated)::int as updated
    from unnest(${userIds}::text[]) as wanted(user_id)
    cross join lateral (
      select outcome, unsubscribed, updated from audience_sync.run_users
      where run_id = ${runId} and user_id = wanted.user_id limit 1) r
    group by r.outcome`;
  const counts = emptyCounts();
  for (const row of rows) {
    counts[row.outcome] = row.count;
    counts.processed += row.count;
    counts.unsubscribed += row.unsubscribed;
    counts.updated += row.updated;
  }
  return counts;
}

/** The hash of the email the ledger has the user in the list with (null: none recorded). */
export async function memberEmailHash(
  sql: Sql,
  list: ListRef,
  userId: string,
): Promise<string | null> {
  const [row] = await sql<{ emailHash: string | null }[]>`
    select email_hash as "emailHash" from audience_sync.list_members
    where platform = ${list.platform} and list_id = ${list.listId} and user_id = ${userId}`;
  return row?.emailHash ?? null;
}

/** The emails (hashed) these users were synced into the list with, by user id, where known. */
export async function memberEmailHashes(
  sql: Sql,
  list: ListRef,
  userIds: string[],
): Promise<Map<string, string>> {
  if (userIds.length === 0) return new Map();
  const rows = await sql<EmailOwner[]>`
    select ${sql.unsafe(MEMBER_EMAIL_COLUMNS)}
    from audience_sync.list_members
    where platform = ${list.platform} and list_id = ${list.listId}
      and user_id = any(${userIds}::text[]) and email_hash is not null`;
  return new Map(rows.map((row) => [row.userId, row.emailHash]));
}
