import type { FieldHashes } from '../common/field-changes.js';
import { recordColumns, type Sql } from './sql.js';

/**
 * What this service last sent to or saw of each user's contact on a platform account
 * (`contact_fields`): the hash of the email the fields belong to and a hash per field. Written
 * with the user's outcome (see outcomes.ts).
 */
export interface LastSentFields {
  emailHash: string;
  fields: FieldHashes;
  /** The contact they went to; null when not known (a contact a bulk import created). */
  contactId: string | null;
}

const LAST_SENT_COLUMNS = recordColumns<{ userId: string } & LastSentFields>()([
  'user_id',
  'email_hash',
  'fields',
  'contact_id',
]);

export async function lastSentFields(
  sql: Sql,
  account: string,
  userIds: string[],
): Promise<Map<string, LastSentFields>> {
  if (userIds.length === 0) return new Map();
  const rows = await sql<({ userId: string } & LastSentFields)[]>`
    select ${sql.unsafe(LAST_SENT_COLUMNS)}
    from audience_sync.contact_fields
    where account = ${account} and user_id = any(${userIds}::text[])`;
  return new Map(rows.map(({ userId, ...sent }) => [userId, sent]));
}

/**
 * Users of the batch the ledger has in every one of `listIds` with this email, and by which
 * contact (null when the ledger knows it by its email only: a contact a bulk import created):
 * they need no request unless their fields changed.
 */
export async function membersInEveryList(
  sql: Sql,
  platform: string,
  listIds: string[],
  members: { userId: string; emailHash: string }[],
): Promise<Map<string, string | null>> {
  if (members.length === 0) return new Map();
  // One primary-key probe per user and list (a LATERAL with LIMIT, see outcomes.ts): as a join,
  // a list filling up during a run was scanned for every batch (15 to 25 ms at 20,000 members).
  const rows = await sql<{ userId: string; contactId: string | null }[]>`
    select wanted.user_id as "userId", min(m.contact_id) as "contactId"
    from unnest(${members.map((m) => m.userId)}::text[], ${members.map((m) => m.emailHash)}::text[])
      as wanted(user_id, email_hash)
    cross join unnest(${listIds}::text[]) as lists(list_id)
    cross join lateral (
      select lm.list_id, lm.contact_id from audience_sync.list_members lm
      where lm.platform = ${platform} and lm.list_id = lists.list_id
        and lm.user_id = wanted.user_id and lm.email_hash = wanted.email_hash
        and lm.unsubscribed_at is null
      limit 1) m
    group by wanted.user_id
    having count(distinct m.list_id) = ${listIds.length}
      and count(distinct m.contact_id) <= 1`;
  return new Map(rows.map((row) => [row.userId, row.contactId]));
}

export interface OldContactMembership {
  listId: string;
  origin: 'made' | 'found';
  /** Another user of that list stands for the same contact. */
  shared: boolean;
}

const MEMBERSHIP_COLUMNS = recordColumns<Omit<OldContactMembership, 'shared'>>('m')([
  'list_id',
  'origin',
]);

/**
 * The memberships in `listIds` through which the ledger has `userId` with its old contact (by the
 * hash of the email it was synced with; rows from before the ledger kept hashes, by contact id):
 * whether this service made or found each, and whether another user of that list stands for the
 * same contact (who would still need it there).
 */
export async function oldContactMemberships(
  sql: Sql,
  platform: string,
  listIds: string[],
  userId: string,
  old: { emailHash: string | null; contactId: string },
): Promise<OldContactMembership[]> {
  const mine =
    old.emailHash === null
      ? sql`m.contact_id = ${old.contactId}`
      : sql`m.email_hash = ${old.emailHash}`;
  return sql<OldContactMembership[]>`
    select ${sql.unsafe(MEMBERSHIP_COLUMNS)}, exists (
        select 1 from audience_sync.list_members o
        where o.platform = m.platform and o.contact_id = ${old.contactId}
          and o.list_id = m.list_id and o.user_id <> m.user_id) as shared
    from audience_sync.list_members m
    where m.platform = ${platform} and m.list_id = any(${listIds}::text[])
      and m.user_id = ${userId} and ${mine}`;
}

/** The user no longer stands for the contact of its old email in these lists. */
export async function dropOldMemberships(
  sql: Sql,
  platform: string,
  listIds: string[],
  userId: string,
  oldEmailHash: string,
): Promise<void> {
  await sql`
    delete from audience_sync.list_members
    where platform = ${platform} and list_id = any(${listIds}::text[]) and user_id = ${userId}
      and email_hash = ${oldEmailHash}`;
}
