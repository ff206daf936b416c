import type postgres from 'postgres';
import { lockOptOutFeed } from './consent.js';
import { recordColumns, type Sql } from './sql.js';

/**
 * Erasures: each asked-for user's tombstone written (user id, hashed emails, time), then the
 * user's contacts deleted from the platforms, then every row of the service's schema that names
 * the user deleted, leaving only the tombstone. `erasures` keeps each erasure's counts;
 * `erasure_users` holds the ids it still has to erase, as asked, so it is the erasure's checkpoint
 * and is empty once the erasure is done.
 */

export type ErasureTrigger = 'api' | 'reconciliation';
export type ErasureStatus = 'running' | 'completed' | 'failed';

export interface ErasureRecord {
  erasureId: string;
  trigger: ErasureTrigger;
  status: ErasureStatus;
  requested: number;
  erased: number;
  /** Ids that named no user. */
  notFound: number;
  contactsDeleted: number;
  failed: number;
  /** Users not erased yet. */
  pending: number;
  errorCode: string | null;
  errorMessage: string | null;
  startedAt: Date;
  finishedAt: Date | null;
}

/** What the workflow and the status learn of an erasure: counts only. */
export interface ErasureProgress {
  requested: number;
  erased: number;
  notFound: number;
  contactsDeleted: number;
  failed: number;
  pending: number;
}

export const erasureProgressOf = (record: ErasureRecord): ErasureProgress => ({
  requested: record.requested,
  erased: record.erased,
  notFound: record.notFound,
  contactsDeleted: record.contactsDeleted,
  failed: record.failed,
  pending: record.pending,
});

/** Tables whose rows are the erasure's own bookkeeping, not data about the user. */
const KEPT_TABLES = ['erasure_tombstones', 'erasure_users'];

/**
 * Records an erasure and the users it is to erase (in the order given, without repeats). False
 * when an erasure with this id was already recorded: then nothing is written.
 */
export async function insertErasure(
  sql: Sql,
  erasureId: string,
  trigger: ErasureTrigger,
  userIds: string[],
): Promise<boolean> {
  const unique = [...new Set(userIds)];
  return sql.begin(async (tx) => {
    const inserted = await tx`
      insert into audience_sync.erasures (erasure_id, trigger, requested)
      values (${erasureId}, ${trigger}, ${unique.length})
      on conflict (erasure_id) do nothing
      returning erasure_id`;
    if (inserted.length === 0) return false;
    if (unique.length === 0) return true;
    await tx`
      insert into audience_sync.erasure_users (erasure_id, position, user_id)
      select ${erasureId}, requested.position, requested.user_id
      from unnest(${unique}::text[]) with ordinality as requested(user_id, position)
      on conflict do nothing`;
    return true;
  });
}

/** Removes an erasure whose workflow could not be started, so it does not show as running. */
export async function deleteUnstartedErasure(sql: Sql, erasureId: string): Promise<void> {
  await sql`
    delete from audience_sync.erasures
    where erasure_id = ${erasureId} and status = 'running' and erased = 0 and failed = 0`;
}

/** The stored columns of an erasure's record; `pending` is counted from its users. */
const ERASURE_COLUMNS = recordColumns<Omit<ErasureRecord, 'pending'>>('e')([
  'erasure_id',
  'trigger',
  'status',
  'requested',
  'erased',
  'not_found',
  'contacts_deleted',
  'failed',
  'error_code',
  'error_message',
  'started_at',
  'finished_at',
]);

export async function getErasure(sql: Sql, erasureId: string): Promise<ErasureRecord | undefined> {
  const [record] = await sql<ErasureRecord[]>`
    select ${sql.unsafe(ERASURE_COLUMNS)},
      (select count(*)::int from audience_sync.erasure_users u
        where u.erasure_id = e.erasure_id) as pending
    from audience_sync.erasures e where e.erasure_id = ${erasureId}`;
  return record;
}

/** The next ids the erasure has still to erase, as asked, in the order they were asked for. */
export async function pendingErasureUsers(
  sql: Sql,
  erasureId: string,
  limit: number,
): Promise<string[]> {
  const rows = await sql<{ userId: string }[]>`
    select user_id as "userId" from audience_sync.erasure_users
    where erasure_id = ${erasureId} order by position limit ${limit}`;
  return rows.map((row) => row.userId);
}

interface UserEmailHash {
  userId: string;
  emailHash: string;
}

const USER_EMAIL_HASH_COLUMNS = recordColumns<UserEmailHash>()(['user_id', 'email_hash']);

/**
 * Every email hash the service has seen for each user: every email it ever sent (kept beyond
 * the retention until erasure), the runs' claims, and earlier tombstones.
 */
export async function knownEmailHashes(
  sql: Sql,
  userIds: string[],
): Promise<Map<string, Set<string>>> {
  const rows = await sql<UserEmailHash[]>`
    select ${sql.unsafe(USER_EMAIL_HASH_COLUMNS)}
    from audience_sync.sent_email_hashes where user_id = any(${userIds}::text[])
    union
    select user_id, email_hash from audience_sync.run_emails
    where user_id = any(${userIds}::text[])
    union
    select user_id, email_hash from audience_sync.erasure_tombstones
    where user_id = any(${userIds}::text[]) and email_hash is not null`;
  const byUser = new Map<string, Set<string>>();
  for (const row of rows) {
    const hashes = byUser.get(row.userId) ?? new Set<string>();
    hashes.add(row.emailHash);
    byUser.set(row.userId, hashes);
  }
  return byUser;
}

/**
 * Notes, before a platform is sent them, the hash of each user's email: kept until the user is
 * erased, whatever the retention, so an erasure finds every contact ever made for the user. An
 * erased user is never noted again (a sync still under way when the erasure came).
 */
export async function recordSentEmails(
  sql: Sql,
  sent: { userId: string; emailHash: string }[],
): Promise<void> {
  if (sent.length === 0) return;
  await sql`
    insert into audience_sync.sent_email_hashes (user_id, email_hash)
    select s.user_id, s.email_hash
    from unnest(${sent.map((one) => one.userId)}::text[], ${sent.map((one) => one.emailHash)}::text[])
      as s(user_id, email_hash)
    where not exists (
      select 1 from audience_sync.erasure_tombstones t where t.user_id = s.user_id)
    on conflict do nothing`;
}

/**
 * Writes the users' tombstones before anything of theirs is deleted: from then on no sync
 * creates their contacts, and no fact a platform reports names them. Tombstones take their seq
 * from the opt-outs feed, under the feed's lock. A repeat adds only hashes not there yet.
 */
export async function writeTombstones(
  sql: Sql,
  users: { userId: string; emailHashes: string[] }[],
): Promise<void> {
  const rows = users.flatMap(({ userId, emailHashes }) =>
    (emailHashes.length > 0 ? emailHashes : ['']).map((hash) => ({ userId, hash })),
  );
  if (rows.length === 0) return;
  await sql.begin(async (tx) => {
    await lockOptOutFeed(tx);
    await tx`
      insert into audience_sync.erasure_tombstones (user_id, email_hash)
      select t.user_id, nullif(t.hash, '')
      from unnest(${rows.map((row) => row.userId)}::text[], ${rows.map((row) => row.hash)}::text[])
        with ordinality as t(user_id, hash, n)
      order by t.n
      on conflict do nothing`;
  });
}

interface UserContactId {
  userId: string;
  contactId: string;
}

const USER_CONTACT_ID_COLUMNS = recordColumns<UserContactId>()(['user_id', 'contact_id']);

/** Contact ids the ledger has for each user on a platform (one per list it was put into). */
export async function ledgerContactIds(
  sql: Sql,
  platform: string,
  userIds: string[],
): Promise<Map<string, Set<string>>> {
  const rows = await sql<UserContactId[]>`
    select distinct ${sql.unsafe(USER_CONTACT_ID_COLUMNS)}
    from audience_sync.list_members
    where platform = ${platform} and user_id = any(${userIds}::text[]) and contact_id is not null`;
  const byUser = new Map<string, Set<string>>();
  for (const row of rows) {
    const ids = byUser.get(row.userId) ?? new Set<string>();
    ids.add(row.contactId);
    byUser.set(row.userId, ids);
  }
  return byUser;
}

/**
 * Where the schema names users, from the catalog (so tables others add are covered): tables with
 * a `user_id` column (their rows are about one user), text-array columns named `user_ids`, and
 * cursor columns (`cursor_after`: the last user id of a batch or chunk, in tables of runs, which
 * have a `run_id`).
 */
export interface UserColumns {
  userIdTables: string[];
  userIdLists: { table: string; column: string }[];
  cursors: { table: string; column: string }[];
}

export async function columnsNamingUsers(sql: Sql): Promise<UserColumns> {
  const rows = await sql<{ table: string; column: string; isArray: boolean }[]>`
    select c.relname as table, a.attname as column, t.typcategory = 'A' as "isArray"
    from pg_class c
    join pg_namespace n on n.oid = c.relnamespace
    join pg_attribute a on a.attrelid = c.oid
    join pg_type t on t.oid = a.atttypid
    where n.nspname = 'audience_sync' and c.relkind in ('r', 'p') and not c.relispartition
      and a.attnum > 0 and not a.attisdropped
      and a.attname in ('user_id', 'user_ids', 'cursor_after')
    order by c.relname, a.attname`;
  const kept = rows.filter((row) => !KEPT_TABLES.includes(row.table));
  return {
    userIdTables: kept.filter((row) => row.column === 'user_id').map((row) => row.table),
    userIdLists: kept
      .filter((row) => row.column === 'user_ids' && row.isArray)
      .map(({ table, column }) => ({ table, column })),
    cursors: kept
      .filter((row) => row.column === 'cursor_after')
      .map(({ table, column }) => ({ table, column })),
  };
}

/**
 * Which of these user ids (as the service's tables write them) some row of the schema names, a
 * tombstone included: a user gone from the users relation is still erased when the service
 * remembers it.
 */
export async function idsNamedInSchema(
  sql: Sql,
  columns: UserColumns,
  userIds: string[],
): Promise<Set<string>> {
  const found = new Set<string>();
  if (userIds.length === 0) return found;
  for (const table of [...columns.userIdTables, 'erasure_tombstones']) {
    const rows = await sql<{ userId: string }[]>`
      select distinct user_id as "userId" from ${sql(`audience_sync.${table}`)}
      where user_id = any(${userIds}::text[])`;
    for (const row of rows) found.add(row.userId);
  }
  for (const { table, column } of columns.userIdLists) {
    const rows = await sql<{ userId: string }[]>`
      select distinct named as "userId"
      from ${sql(`audience_sync.${table}`)}, unnest(${sql(column)}) as named
      where ${sql(column)} && ${userIds}::text[] and named = any(${userIds}::text[])`;
    for (const row of rows) found.add(row.userId);
  }
  return found;
}

export interface ErasedUser {
  userId: string;
  contactsDeleted: number;
  /** The platform refused to delete a contact (the local data is erased all the same). */
  failed: boolean;
}

/**
 * Settles one asked-for id of an erasure, once, in one transaction that also removes it from the
 * erasure's pending ids: with the user it names, that user's rows are deleted from every table
 * that names users (its tombstone, written first, stays) and the user counts as erased; without,
 * the id counts as not found. A repeat (a retried batch) finds the id gone and does nothing.
 * Answers whether this call settled it.
 */
export async function eraseUserRows(
  sql: Sql,
  erasureId: string,
  columns: UserColumns,
  askedId: string,
  user: ErasedUser | null,
): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [pending] = await tx`
      delete from audience_sync.erasure_users
      where erasure_id = ${erasureId} and user_id = ${askedId}
      returning user_id`;
    if (!pending) return false;
    if (user) await deleteRowsNaming(tx, columns, user.userId);
    await tx`
      update audience_sync.erasures set
        erased = erased + ${user ? 1 : 0},
        not_found = not_found + ${user ? 0 : 1},
        contacts_deleted = contacts_deleted + ${user?.contactsDeleted ?? 0},
        failed = failed + ${user?.failed ? 1 : 0}
      where erasure_id = ${erasureId}`;
    return true;
  });
}

/**
 * Rows a run still running reads to go on: the users a `specific` run was asked for (each then
 * ends as skipped, erased). They stay until retention deletes the run's per-user rows.
 */
const KEPT_WHILE_RUNNING = ['run_requested_users'];

/** Every row naming the user, by index: its own rows, its place in id lists, ended checkpoints. */
async function deleteRowsNaming(
  tx: postgres.TransactionSql,
  columns: UserColumns,
  userId: string,
): Promise<void> {
  for (const table of columns.userIdTables) {
    const whileRunning = KEPT_WHILE_RUNNING.includes(table)
      ? tx`and not exists (select 1 from audience_sync.runs r
          where r.run_id = t.run_id and r.status = 'running')`
      : tx``;
    await tx`
      delete from ${tx(`audience_sync.${table}`)} as t where t.user_id = ${userId} ${whileRunning}`;
  }
  for (const { table, column } of columns.userIdLists) {
    await tx`
      update ${tx(`audience_sync.${table}`)}
      set ${tx(column)} = array_remove(${tx(column)}, ${userId}::text)
      where ${tx(column)} @> array[${userId}::text]`;
  }
  // Checkpoints name the last user of a batch. A run still running reads its own to go on, so
  // those stay until retention deletes the run's per-user rows; ended runs' are cleared now.
  for (const { table, column } of columns.cursors) {
    await tx`
      update ${tx(`audience_sync.${table}`)} as t set ${tx(column)} = null
      where t.${tx(column)} = ${userId} and not exists (
        select 1 from audience_sync.runs r where r.run_id = t.run_id and r.status = 'running')`;
  }
}

/** Records how an erasure ended (once). */
export async function finishErasure(
  sql: Sql,
  erasureId: string,
  status: Exclude<ErasureStatus, 'running'>,
  error?: { code: string; message: string },
): Promise<ErasureRecord | undefined> {
  await sql`
    update audience_sync.erasures set status = ${status},
      error_code = ${error?.code ?? null}, error_message = ${error?.message ?? null},
      finished_at = coalesce(finished_at, now())
    where erasure_id = ${erasureId} and status = 'running'`;
  return getErasure(sql, erasureId);
}

/** Which of these email hashes belong to erased users. */
export async function tombstonedEmailHashes(sql: Sql, emailHashes: string[]): Promise<Set<string>> {
  if (emailHashes.length === 0) return new Set();
  const rows = await sql<{ emailHash: string }[]>`
    select distinct email_hash as "emailHash" from audience_sync.erasure_tombstones
    where email_hash = any(${emailHashes}::text[])`;
  return new Set(rows.map((row) => row.emailHash));
}
