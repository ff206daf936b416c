import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { emailHash, normaliseEmail } from '../common/emails.js';
import {
  columnsNamingUsers,
  type ErasureProgress,
  type ErasureRecord,
  eraseUserRows,
  erasureProgressOf,
  finishErasure,
  getErasure,
  idsNamedInSchema,
  knownEmailHashes,
  ledgerContactIds,
  pendingErasureUsers,
  type UserColumns,
  writeTombstones,
} from '../db/erasures.js';
import type { Sql } from '../db/sql.js';
import { idOfType, idsOfType } from '../db/user-ids.js';
import { validEmailSql } from '../db/users-contract.js';
import {
  idAmong,
  resolveUserIds,
  type UsersSource,
  userFragments,
  usersSourceLoader,
} from '../db/users-source.js';
import { platformFailureOf } from './platform-failure.js';
import type { ContactRef } from './platforms/platform.js';
import type { PlatformRegistry } from './platforms/registry.js';

export interface ErasureActivityDeps {
  sql: Sql;
  /** USERS_SOURCE */
  usersSource: string;
  platforms: PlatformRegistry;
}

export type { ErasureProgress };

export interface EraseBatchOutput {
  done: boolean;
  progress: ErasureProgress;
}

/** What one platform did with a user's contacts. */
interface ContactDeletions {
  deleted: number;
  refused: boolean;
}

/** Users erased per activity: each costs a request or two per platform. */
export const ERASURE_BATCH_SIZE = 100;

/** The users' current emails, normalised, for those still in the users relation with a valid one. */
async function currentEmails(
  sql: Sql,
  source: UsersSource,
  userIds: string[],
): Promise<Map<string, string>> {
  const lookup = idsOfType(source.idType, userIds);
  if (lookup.length === 0) return new Map();
  const rows = await sql<{ userId: string; email: string }[]>`
    select u.id::text as "userId", u.email from ${userFragments(sql, source).relation} u
    where ${idAmong(sql, source, lookup)} and ${sql.unsafe(validEmailSql('u.email'))}`;
  return new Map(rows.map((row) => [row.userId, normaliseEmail(row.email)]));
}

/** Per user, every email hash the service knows for it, the current email's included. */
async function emailHashesOf(
  sql: Sql,
  userIds: string[],
  emails: Map<string, string>,
): Promise<Map<string, Set<string>>> {
  const hashes = await knownEmailHashes(sql, userIds);
  for (const [userId, email] of emails) {
    const set = hashes.get(userId) ?? new Set<string>();
    set.add(emailHash(email));
    hashes.set(userId, set);
  }
  return hashes;
}

/** What the erasure's steps share: the database, the users relation, the platforms. */
interface ErasureContext {
  sql: Sql;
  usersSource: () => Promise<UsersSource>;
  platforms: PlatformRegistry;
}

async function requireErasure(sql: Sql, erasureId: string): Promise<ErasureRecord> {
  const record = await getErasure(sql, erasureId);
  if (!record) {
    throw ApplicationFailure.nonRetryable(`Erasure ${erasureId} has no record`, 'RunMissing');
  }
  return record;
}

/**
 * The user each asked id names, through the users relation first (`"0042"` is user `42`), then
 * through the service's own tables (a user the application deleted already); null: nobody.
 */
async function resolveAsked(
  { sql, usersSource }: ErasureContext,
  askedIds: string[],
  columns: UserColumns,
): Promise<Map<string, string | null>> {
  const source = await usersSource();
  const inRelation = await resolveUserIds(sql, source, askedIds);
  const spelled = new Map(
    askedIds.filter((id) => !inRelation.has(id)).map((id) => [id, idOfType(source.idType, id)]),
  );
  const known = [...spelled.values()].filter((id): id is string => id !== null);
  const named = await idsNamedInSchema(sql, columns, [...new Set(known)]);
  return new Map(
    askedIds.map((id) => {
      const spelledId = spelled.get(id) ?? null;
      const remembered = spelledId !== null && named.has(spelledId) ? spelledId : null;
      return [id, inRelation.get(id) ?? remembered];
    }),
  );
}

/**
 * Deletes the contacts of these users on one platform: every contact id the ledger or the
 * platform's directory (refreshed first, so it knows contacts created a moment ago) has for
 * them, and by email the current email's contact when no id is known for it. A hash the
 * directory does not know has no contact on the account. Answers per user the contacts
 * deleted and whether the platform refused one.
 */
async function deleteOnPlatform(
  { sql, platforms }: ErasureContext,
  name: string,
  userIds: string[],
  emails: Map<string, string>,
  hashes: Map<string, Set<string>>,
  onAnswer: () => void,
): Promise<Map<string, ContactDeletions>> {
  const platform = platforms.connect(name, {
    signal: Context.current().cancellationSignal,
    onAnswer,
  });
  await platform.refreshContacts?.();
  const allHashes = [...new Set([...hashes.values()].flatMap((set) => [...set]))];
  const directory =
    (await platform.knownContacts?.(allHashes, { onPlatform: true })) ?? new Map<string, string>();
  const ledger = await ledgerContactIds(sql, name, userIds);
  const refs: ContactRef[] = [];
  for (const userId of userIds) {
    const ids = new Set(ledger.get(userId) ?? []);
    for (const hash of hashes.get(userId) ?? []) {
      const id = directory.get(hash);
      if (id) ids.add(id);
    }
    for (const contactId of ids) refs.push({ userId, email: null, contactId });
    const email = emails.get(userId);
    if (email && !directory.has(emailHash(email))) {
      refs.push({ userId, email, contactId: null });
    }
  }
  const outcomes = new Map(userIds.map((id) => [id, { deleted: 0, refused: false }]));
  await platform.deleteContacts(refs, async (userId, outcome) => {
    const counts = outcomes.get(userId);
    if (!counts) return;
    if (outcome.kind === 'done') counts.deleted += 1;
    if (outcome.kind === 'rejected') counts.refused = true;
    onAnswer();
  });
  await platform.forgetContacts?.(allHashes);
  return outcomes;
}

/** The users' contacts deleted on every configured platform; per user, the totals. */
async function deleteEverywhere(
  context: ErasureContext,
  userIds: string[],
  emails: Map<string, string>,
  hashes: Map<string, Set<string>>,
  onAnswer: () => void,
): Promise<Map<string, ContactDeletions>> {
  const totals = new Map(userIds.map((id) => [id, { deleted: 0, refused: false }]));
  try {
    for (const name of context.platforms.names) {
      const outcomes = await deleteOnPlatform(context, name, userIds, emails, hashes, onAnswer);
      for (const [userId, counts] of outcomes) {
        const total = totals.get(userId);
        if (!total) continue;
        total.deleted += counts.deleted;
        total.refused ||= counts.refused;
      }
    }
  } catch (error) {
    throw platformFailureOf(error);
  }
  return totals;
}

/**
 * Erases the users these ids name: tombstones first (a sync under way skips them from then
 * on, and no fact a platform reports names them again), then their contacts on every platform,
 * then their rows, id by id.
 */
async function eraseAsked(
  context: ErasureContext,
  erasureId: string,
  askedIds: string[],
  beat: () => void,
) {
  const { sql, usersSource } = context;
  const columns = await columnsNamingUsers(sql);
  const users = await resolveAsked(context, askedIds, columns);
  const userIds = [...new Set([...users.values()].filter((id): id is string => id !== null))];
  const emails = await currentEmails(sql, await usersSource(), userIds);
  const hashes = await emailHashesOf(sql, userIds, emails);
  await writeTombstones(
    sql,
    userIds.map((userId) => ({ userId, emailHashes: [...(hashes.get(userId) ?? [])] })),
  );
  const totals = await deleteEverywhere(context, userIds, emails, hashes, beat);
  for (const askedId of askedIds) {
    const userId = users.get(askedId) ?? null;
    const counts = userId === null ? undefined : totals.get(userId);
    // A user asked for twice (as "42" and "0042") counts its contacts once.
    if (userId !== null) totals.delete(userId);
    const erased =
      userId === null
        ? null
        : { userId, contactsDeleted: counts?.deleted ?? 0, failed: counts?.refused ?? false };
    await eraseUserRows(sql, erasureId, columns, askedId, erased);
    beat();
  }
}

/**
 * The activities of EraseUsersWorkflow. Inputs and results are ids and counts; emails are read
 * and sent inside the activities only.
 */
export function createErasureActivities(deps: ErasureActivityDeps) {
  const { sql } = deps;
  const context: ErasureContext = {
    sql,
    usersSource: usersSourceLoader(sql, deps.usersSource),
    platforms: deps.platforms,
  };

  return {
    /**
     * Erases the users of the erasure's next asked-for ids; ids of no user are counted as not
     * found. A retry (after a crash) writes no tombstone twice, deletes again (which finds
     * nothing) and skips ids already settled.
     */
    eraseBatch: async ({ erasureId }: { erasureId: string }): Promise<EraseBatchOutput> => {
      await requireErasure(sql, erasureId);
      const activity = Context.current();
      const askedIds = await pendingErasureUsers(sql, erasureId, ERASURE_BATCH_SIZE);
      if (askedIds.length > 0) {
        await eraseAsked(context, erasureId, askedIds, () => activity.heartbeat());
      }
      const record = await requireErasure(sql, erasureId);
      return { done: record.pending === 0, progress: erasureProgressOf(record) };
    },

    /** Records how the erasure ended; answers its counts. */
    finishErasure: async ({
      erasureId,
      status,
      error,
    }: {
      erasureId: string;
      status: 'completed' | 'failed';
      error?: { code: string; message: string };
    }): Promise<ErasureProgress> => {
      const record = await finishErasure(sql, erasureId, status, error);
      return record
        ? erasureProgressOf(record)
        : { requested: 0, erased: 0, notFound: 0, contactsDeleted: 0, failed: 0, pending: 0 };
    },
  };
}

export type ErasureActivities = ReturnType<typeof createErasureActivities>;
