import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import {
  columnsNamingUsers,
  type ErasedUser,
  type ErasureProgress,
  type ErasureRecord,
  eraseUserRows,
  erasureProgressOf,
  finishErasure,
  getErasure,
  knownEmailHashes,
  ledgerContactIds,
  pendingErasureUsers,
} from '../db/erasures.js';
import type { Sql } from '../db/sql.js';
import { validEmailSql } from '../db/users-contract.js';
import { emailHash, normaliseEmail } from './emails.js';
import { platformFailureOf } from './platform-failure.js';
import type { ContactRef } from './platforms/platform.js';
import type { PlatformRegistry } from './platforms/registry.js';
import { castableIds, type UsersSource, userFragments, usersSourceLoader } from './users-source.js';

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

/** Users erased per activity: each costs a request or two per platform. */
export const ERASURE_BATCH_SIZE = 100;

/** The users' current emails, normalised, for those still in the users relation with a valid one. */
async function currentEmails(
  sql: Sql,
  source: UsersSource,
  userIds: string[],
): Promise<Map<string, string>> {
  const lookup = castableIds(source.idType, userIds);
  if (lookup.length === 0) return new Map();
  const f = userFragments(sql, source);
  const rows = await sql<{ userId: string; email: string }[]>`
    select u.id::text as "userId", u.email from ${f.relation} u
    where u.id = any(${lookup}::${f.idCast}[]) and ${sql.unsafe(validEmailSql('u.email'))}`;
  return new Map(rows.map((row) => [row.userId, normaliseEmail(row.email)]));
}

/**
 * The activities of EraseUsersWorkflow. Inputs and results are ids and counts; emails are read
 * and sent inside the activities only.
 */
export function createErasureActivities(deps: ErasureActivityDeps) {
  const { sql } = deps;
  const usersSource = usersSourceLoader(sql, deps.usersSource);

  const requireErasure = async (erasureId: string): Promise<ErasureRecord> => {
    const record = await getErasure(sql, erasureId);
    if (!record) {
      throw ApplicationFailure.nonRetryable(`Erasure ${erasureId} has no record`, 'RunMissing');
    }
    return record;
  };

  /**
   * Deletes the contacts of these users on one platform: every contact id the ledger or the
   * platform's directory has for them, and by email the current email's contact when no id is
   * known for it. Answers per user the contacts deleted and whether the platform refused one.
   */
  async function deleteOnPlatform(
    name: string,
    userIds: string[],
    emails: Map<string, string>,
    hashes: Map<string, Set<string>>,
    onAnswer: () => void,
  ): Promise<Map<string, { deleted: number; refused: boolean }>> {
    const platform = deps.platforms.connect(name, {
      signal: Context.current().cancellationSignal,
      onAnswer,
    });
    const allHashes = [...new Set([...hashes.values()].flatMap((set) => [...set]))];
    const directory = (await platform.knownContacts?.(allHashes)) ?? new Map<string, string>();
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

  return {
    /**
     * Erases the next users of an erasure: their contacts deleted on every platform, then their
     * rows in the service's tables, user by user. A retry (after a crash) deletes again, which
     * finds nothing, and skips users already erased.
     */
    eraseBatch: async ({ erasureId }: { erasureId: string }): Promise<EraseBatchOutput> => {
      await requireErasure(erasureId);
      const context = Context.current();
      const beat = () => context.heartbeat();
      const userIds = await pendingErasureUsers(sql, erasureId, ERASURE_BATCH_SIZE);
      if (userIds.length > 0) {
        const emails = await currentEmails(sql, await usersSource(), userIds);
        const hashes = await knownEmailHashes(sql, userIds);
        for (const [userId, email] of emails) {
          const set = hashes.get(userId) ?? new Set<string>();
          set.add(emailHash(email));
          hashes.set(userId, set);
        }
        const totals = new Map(userIds.map((id) => [id, { deleted: 0, refused: false }]));
        try {
          for (const name of deps.platforms.names) {
            const outcomes = await deleteOnPlatform(name, userIds, emails, hashes, beat);
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
        const columns = await columnsNamingUsers(sql);
        for (const userId of userIds) {
          const erased: ErasedUser = {
            userId,
            emailHashes: [...(hashes.get(userId) ?? [])],
            contactsDeleted: totals.get(userId)?.deleted ?? 0,
            failed: totals.get(userId)?.refused ?? false,
          };
          await eraseUserRows(sql, erasureId, columns, erased);
          beat();
        }
      }
      const record = await requireErasure(erasureId);
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
        : { requested: 0, erased: 0, contactsDeleted: 0, failed: 0, pending: 0 };
    },
  };
}

export type ErasureActivities = ReturnType<typeof createErasureActivities>;
