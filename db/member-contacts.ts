import type { Sql } from './sql.js';

/**
 * The ledger's contact ids of members a bulk import created, which it first knows by their email
 * only: named from the platform's directory once it has learned them, as an outcome would.
 */

export interface ListKey {
  platform: string;
  listId: string;
}

/**
 * Where a naming of the list starts. `since`: the transaction id its last naming read from
 * (null: never named; also when it is above the cluster's next transaction id, as after a
 * restore into another cluster, where it means nothing); `through`: where the next one will
 * start, taken before this one reads (every transaction below it has ended, so what it wrote is
 * seen now); `unnamed`: whether any member is known by email only. Naming from what the
 * directory learned since assumes a member is recorded unnamed only after its directory entry
 * was looked up (takeBulkCreated): an entry learned before `since` found it then.
 */
export async function namingStart(
  sql: Sql,
  list: ListKey,
): Promise<{ since: string | null; through: string; unnamed: boolean }> {
  const [row] = await sql<{ since: string | null; through: string; unnamed: boolean }[]>`
    select
      (select named_through::text from audience_sync.list_contact_naming
        where platform = ${list.platform} and list_id = ${list.listId}
          and named_through <= pg_snapshot_xmax(pg_current_snapshot())) as since,
      pg_snapshot_xmin(pg_current_snapshot())::text as through,
      exists (select from audience_sync.list_members
        where platform = ${list.platform} and list_id = ${list.listId}
          and contact_id is null and email_hash is not null) as unnamed`;
  if (!row) throw new Error('namingStart: no row');
  return row;
}

/**
 * The list's next naming starts at `through`: never moves back, but replaces a stored id from
 * beyond the cluster (see namingStart).
 */
export async function recordNamedThrough(sql: Sql, list: ListKey, through: string): Promise<void> {
  await sql`
    insert into audience_sync.list_contact_naming as n (platform, list_id, named_through)
    values (${list.platform}, ${list.listId}, ${through}::xid8)
    on conflict (platform, list_id) do update
      set named_through = case
        when n.named_through > pg_snapshot_xmax(pg_current_snapshot()) then excluded.named_through
        else greatest(excluded.named_through, n.named_through) end`;
}

/** Email hashes of members the ledger knows by their email only, after `afterHash`, in order. */
export async function unnamedEmailHashes(
  sql: Sql,
  list: ListKey,
  afterHash: string,
  limit: number,
): Promise<string[]> {
  const rows = await sql<{ emailHash: string }[]>`
    select distinct email_hash as "emailHash" from audience_sync.list_members
    where platform = ${list.platform} and list_id = ${list.listId} and contact_id is null
      and email_hash > ${afterHash}
    order by email_hash
    limit ${limit}`;
  return rows.map((row) => row.emailHash);
}

/**
 * Names the contact of members the ledger knows by their email only, as an outcome would: every
 * member of the list with that email hash (users sharing an email stand for one contact).
 * Answers how many members it named.
 */
export async function setMemberContactIds(
  sql: Sql,
  list: ListKey,
  contacts: { emailHash: string; contactId: string }[],
): Promise<number> {
  if (contacts.length === 0) return 0;
  const named = await sql`
    update audience_sync.list_members lm set contact_id = v.contact_id
    from unnest(${contacts.map((c) => c.emailHash)}::text[],
      ${contacts.map((c) => c.contactId)}::text[]) as v(email_hash, contact_id)
    where lm.platform = ${list.platform} and lm.list_id = ${list.listId}
      and lm.email_hash = v.email_hash and lm.contact_id is null`;
  return named.count;
}
