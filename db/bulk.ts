import type { ListRef } from './outcomes.js';
import { recordColumns, type Sql } from './sql.js';

/**
 * The bulk pass of a run: its chunks (`bulk_chunks`), the users whose contacts a chunk created
 * (`bulk_created`), the accounts that cannot use bulk creation (`bulk_unavailable`), and what the
 * run's record says about it (`runs.bulk_mode`, `runs.bulk_note`). User ids and counts only.
 */

export type BulkChunkStatus = 'prepared' | 'importing' | 'settled';

export interface BulkChunk {
  runId: string;
  chunkNo: number;
  cursorAfter: string | null;
  populationDone: boolean;
  userIds: string[];
  importId: string | null;
  status: BulkChunkStatus;
  createdAt: Date;
}

const BULK_CHUNK_COLUMNS = recordColumns<BulkChunk>()([
  'run_id',
  'chunk_no',
  'cursor_after',
  'population_done',
  'user_ids',
  'import_id',
  'status',
  'created_at',
]);

export type BulkMode = 'imports' | 'per_contact';

export async function getBulkChunk(
  sql: Sql,
  runId: string,
  chunkNo: number,
): Promise<BulkChunk | undefined> {
  const [chunk] = await sql<BulkChunk[]>`
    select ${sql.unsafe(BULK_CHUNK_COLUMNS)}
    from audience_sync.bulk_chunks where run_id = ${runId} and chunk_no = ${chunkNo}`;
  return chunk;
}

/** The chunk as first read; a repeat (a retried attempt) keeps the first one's users. */
export async function prepareBulkChunk(
  sql: Sql,
  chunk: Pick<BulkChunk, 'runId' | 'chunkNo' | 'cursorAfter' | 'populationDone' | 'userIds'>,
): Promise<BulkChunk> {
  await sql`
    insert into audience_sync.bulk_chunks
      (run_id, chunk_no, cursor_after, population_done, user_ids,
       status)
    values (${chunk.runId}, ${chunk.chunkNo}, ${chunk.cursorAfter}, ${chunk.populationDone},
      ${chunk.userIds}::text[], ${chunk.userIds.length === 0 ? 'settled' : 'prepared'})
    on conflict do nothing`;
  const stored = await getBulkChunk(sql, chunk.runId, chunk.chunkNo);
  if (!stored) throw new Error(`bulk chunk ${chunk.chunkNo} of run ${chunk.runId} vanished`);
  return stored;
}

/** The platform accepted the chunk's import: its id is kept before anything waits on it. */
export async function markBulkChunkImporting(
  sql: Sql,
  runId: string,
  chunkNo: number,
  importId: string,
): Promise<void> {
  await sql`
    update audience_sync.bulk_chunks set import_id = ${importId}, status = 'importing'
    where run_id = ${runId} and chunk_no = ${chunkNo}`;
}

/**
 * The chunk's import ended: the users whose contacts it created are noted for the batch pass,
 * and the chunk forgets its user list, in one transaction.
 */
export async function settleBulkChunk(
  sql: Sql,
  runId: string,
  chunkNo: number,
  counts: Record<string, number>,
  createdUserIds: string[],
): Promise<void> {
  await sql.begin(async (tx) => {
    if (createdUserIds.length > 0) {
      await tx`
        insert into audience_sync.bulk_created (run_id, user_id)
        select ${runId}, unnest(${createdUserIds}::text[])
        on conflict do nothing`;
    }
    await tx`
      update audience_sync.bulk_chunks
      set status = 'settled', counts = ${tx.json(counts)}, user_ids = '{}', settled_at = now()
      where run_id = ${runId} and chunk_no = ${chunkNo}`;
  });
}

/** Of these users of the run, those whose contact a bulk chunk created. */
export async function bulkCreatedAmong(
  sql: Sql,
  runId: string,
  userIds: string[],
): Promise<Set<string>> {
  if (userIds.length === 0) return new Set();
  const rows = await sql<{ userId: string }[]>`
    select user_id as "userId" from audience_sync.bulk_created
    where run_id = ${runId} and user_id = any(${userIds}::text[])`;
  return new Set(rows.map((row) => row.userId));
}

/** A user whose contact a bulk chunk created, with the hashes of the fields it was created with. */
export interface BulkCreatedUser {
  userId: string;
  emailHash: string;
  /** The contact's id when the platform's directory already knows it; null: not known yet. */
  contactId: string | null;
  fieldHashes: Record<string, string>;
}

/**
 * Records users whose contacts a bulk chunk created as added, with the ledger and the fields
 * sent, and drops their notes, in one transaction: what recordOutcome does for an added user,
 * for many at once.
 */
export async function recordBulkCreated(
  sql: Sql,
  runId: string,
  list: ListRef,
  account: string,
  created: BulkCreatedUser[],
): Promise<void> {
  if (created.length === 0) return;
  const userIds = created.map((user) => user.userId);
  await sql.begin(async (tx) => {
    await tx`
      insert into audience_sync.contact_fields (account, user_id, email_hash, fields, contact_id)
      select ${account}, sent.user_id, sent.email_hash, sent.fields::jsonb, sent.contact_id
      from unnest(${userIds}::text[], ${created.map((user) => user.emailHash)}::text[],
        ${created.map((user) => JSON.stringify(user.fieldHashes))}::text[],
        ${created.map((user) => user.contactId)}::text[])
        as sent(user_id, email_hash, fields, contact_id)
      on conflict (account, user_id) do update set
        email_hash = excluded.email_hash, fields = excluded.fields,
        contact_id = excluded.contact_id, updated_at = now()`;
    await tx`
      insert into audience_sync.run_users (run_id, user_id, outcome, reason)
      select ${runId}, unnest(${userIds}::text[]), 'added', null
      on conflict do nothing`;
    // The import put each contact into the list and its tags; as recordOutcome does, another
    // email is another contact, so the row then names the new one.
    await tx`
      insert into audience_sync.list_members (platform, list_id, user_id, contact_id, email_hash)
      select ${list.platform}, lists.list_id, created.user_id, created.contact_id, created.email_hash
      from unnest(${userIds}::text[], ${created.map((user) => user.emailHash)}::text[],
          ${created.map((user) => user.contactId)}::text[])
        as created(user_id, email_hash, contact_id)
      cross join unnest(${[...new Set([list.listId, ...(list.tagListIds ?? [])])]}::text[])
        as lists(list_id)
      on conflict (platform, list_id, user_id) do update set
        contact_id = case
          when excluded.email_hash <> audience_sync.list_members.email_hash
          then excluded.contact_id
          else coalesce(excluded.contact_id, audience_sync.list_members.contact_id) end,
        email_hash = excluded.email_hash,
        -- The import created the contact: a membership made, whoever had the old email's.
        origin = case
          when excluded.email_hash <> audience_sync.list_members.email_hash
          then 'made' else audience_sync.list_members.origin end,
        synced_at = now()`;
    await tx`
      delete from audience_sync.bulk_created
      where run_id = ${runId} and user_id = any(${userIds}::text[])`;
  });
}

/** Users whose contact a chunk of the run created that no batch of the run recorded. */
export async function unrecordedBulkCreated(sql: Sql, runId: string): Promise<string[]> {
  const rows = await sql<{ userId: string }[]>`
    select b.user_id as "userId" from audience_sync.bulk_created b
    where b.run_id = ${runId} and not exists (
      select 1 from audience_sync.run_users r where r.run_id = b.run_id and r.user_id = b.user_id)
    order by b.user_id`;
  return rows.map((row) => row.userId);
}

/** Why the account cannot use bulk creation, when it was refused within `withinHours`. */
export async function bulkUnavailableReason(
  sql: Sql,
  platform: string,
  account: string,
  withinHours: number,
): Promise<string | undefined> {
  const [row] = await sql<{ reason: string }[]>`
    select reason from audience_sync.bulk_unavailable
    where platform = ${platform} and account = ${account}
      and since > now() - ${`${withinHours} hours`}::interval`;
  return row?.reason;
}

export async function rememberBulkUnavailable(
  sql: Sql,
  platform: string,
  account: string,
  reason: string,
): Promise<void> {
  await sql`
    insert into audience_sync.bulk_unavailable (platform, account, reason)
    values (${platform}, ${account}, ${reason})
    on conflict (platform, account) do update set reason = excluded.reason, since = now()`;
}

/** What the run's status says about how contacts were created. */
export async function setRunBulkMode(
  sql: Sql,
  runId: string,
  mode: BulkMode,
  note: string,
): Promise<void> {
  await sql`
    update audience_sync.runs set bulk_mode = ${mode}, bulk_note = ${note}
    where run_id = ${runId}`;
}

export async function runBulkMode(
  sql: Sql,
  runId: string,
): Promise<{ mode: BulkMode; note: string } | undefined> {
  const [row] = await sql<{ mode: BulkMode | null; note: string | null }[]>`
    select bulk_mode as mode, bulk_note as note from audience_sync.runs where run_id = ${runId}`;
  return row?.mode ? { mode: row.mode, note: row.note ?? '' } : undefined;
}
