import type { Sql } from './sql.js';

/**
 * The ledger's contact ids of members a bulk import created, which it first knows by their email
 * only: named from the platform's directory once it has learned them, as an outcome would.
 */

/** Members of the list the ledger knows by their email only, after `afterUserId`, by user id. */
export async function membersWithoutContactIds(
  sql: Sql,
  list: { platform: string; listId: string },
  afterUserId: string,
  limit: number,
): Promise<{ userId: string; emailHash: string }[]> {
  return sql<{ userId: string; emailHash: string }[]>`
    select user_id as "userId", email_hash as "emailHash" from audience_sync.list_members
    where platform = ${list.platform} and list_id = ${list.listId} and contact_id is null
      and email_hash is not null and user_id > ${afterUserId}
    order by user_id
    limit ${limit}`;
}

/** Names the contact of members the ledger knew by their email only, as an outcome would. */
export async function setMemberContactIds(
  sql: Sql,
  list: { platform: string; listId: string },
  members: { userId: string; emailHash: string; contactId: string }[],
): Promise<void> {
  if (members.length === 0) return;
  await sql`
    update audience_sync.list_members lm set contact_id = v.contact_id
    from unnest(${members.map((m) => m.userId)}::text[], ${members.map((m) => m.emailHash)}::text[],
      ${members.map((m) => m.contactId)}::text[]) as v(user_id, email_hash, contact_id)
    where lm.platform = ${list.platform} and lm.list_id = ${list.listId}
      and lm.user_id = v.user_id and lm.email_hash = v.email_hash and lm.contact_id is null`;
}
