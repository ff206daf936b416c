import { Context } from '@temporalio/activity';
import { recordConsentFact } from '../db/consent.js';
import { insertErasure } from '../db/erasures.js';
import { deleteExpiredRunData, type RetentionCounts } from '../db/retention.js';
import type { Sql } from '../db/sql.js';
import { type UsersSource, userFragments, usersSourceLoader } from '../db/users-source.js';
import { platformFailureOf } from './platform-failure.js';
import type { PlatformRegistry } from './platforms/registry.js';

export interface ReconciliationActivityDeps {
  sql: Sql;
  /** USERS_SOURCE */
  usersSource: string;
  platforms: PlatformRegistry;
  /** RUN_RETENTION_DAYS */
  retentionDays: number;
  /** ERASE_DELETED_USERS */
  eraseDeletedUsers: boolean;
}

export interface PlatformReconciliation {
  platform: string;
  /** Contacts found deleted on the platform since the last look. */
  deleted: number;
  /** Emails on the platform's suppression list (all of them, new or not). */
  suppressed: number;
}

/** Users a reconciliation erases at most per day (one erasure, like one API request). */
const MAX_DELETED_USERS_PER_ERASURE = 10_000;

/** One platform's deleted contacts and suppression list, as consent facts; answers count as life. */
async function reconcilePlatform(
  sql: Sql,
  platforms: PlatformRegistry,
  name: string,
  beat: () => void,
): Promise<PlatformReconciliation> {
  const platform = platforms.connect(name, {
    signal: Context.current().cancellationSignal,
    onAnswer: beat,
  });
  const result: PlatformReconciliation = { platform: name, deleted: 0, suppressed: 0 };
  for (const contact of (await platform.findDisappearedContacts?.(beat)) ?? []) {
    await recordConsentFact(
      sql,
      platform.account,
      { platform: name, emailHash: contact.emailHash, contactId: contact.contactId },
      { kind: 'deleted' },
    );
    result.deleted += 1;
  }
  await platform.listSuppressions?.(async (emailHashes) => {
    for (const hash of emailHashes) {
      await recordConsentFact(
        sql,
        platform.account,
        { platform: name, emailHash: hash, contactId: null },
        { kind: 'suppressed' },
      );
    }
    result.suppressed += emailHashes.length;
    beat();
  });
  return result;
}

/**
 * With ERASE_DELETED_USERS: records an erasure of the users whose `deleted_at` is set and who
 * are neither erased nor being erased. Answers its id, or null when there is nothing to do.
 */
async function recordDeletedUsersErasure(
  { sql, eraseDeletedUsers }: ReconciliationActivityDeps,
  usersSource: () => Promise<UsersSource>,
  erasureId: string,
): Promise<{ erasureId: string; requested: number } | null> {
  if (!eraseDeletedUsers) return null;
  const source = await usersSource();
  if (!source.hasDeletedAt) return null;
  const f = userFragments(sql, source);
  const rows = await sql<{ userId: string }[]>`
    select u.id::text as "userId" from ${f.relation} u
    where u.deleted_at is not null
      and not exists (select 1 from audience_sync.erasure_tombstones t
        where t.user_id = u.id::text)
      and not exists (select 1 from audience_sync.erasure_users p
        where p.user_id = u.id::text and p.erasure_id <> ${erasureId})
    order by u.id
    limit ${MAX_DELETED_USERS_PER_ERASURE}`;
  if (rows.length === 0) return null;
  await insertErasure(
    sql,
    erasureId,
    'reconciliation',
    rows.map((row) => row.userId),
  );
  return { erasureId, requested: rows.length };
}

/** The activities of DailyReconciliationWorkflow: counts and ids in, counts and ids out. */
export function createReconciliationActivities(deps: ReconciliationActivityDeps) {
  const { sql } = deps;
  const usersSource = usersSourceLoader(sql, deps.usersSource);

  return {
    /** Deletes per-user run data, idempotency keys and webhook ids older than the retention. */
    applyRetention: async (): Promise<RetentionCounts> =>
      deleteExpiredRunData(sql, deps.retentionDays),

    /**
     * What each platform knows that webhooks may not have said: contacts deleted there and its
     * suppression list, recorded as consent facts (their users' opt-outs appended).
     */
    reconcilePlatforms: async (): Promise<PlatformReconciliation[]> => {
      const context = Context.current();
      const beat = () => context.heartbeat();
      const results: PlatformReconciliation[] = [];
      try {
        for (const name of deps.platforms.names) {
          results.push(await reconcilePlatform(sql, deps.platforms, name, beat));
        }
      } catch (error) {
        throw platformFailureOf(error);
      }
      return results;
    },

    recordDeletedUsersErasure: async ({
      erasureId,
    }: {
      erasureId: string;
    }): Promise<{ erasureId: string; requested: number } | null> =>
      recordDeletedUsersErasure(deps, usersSource, erasureId),
  };
}

export type ReconciliationActivities = ReturnType<typeof createReconciliationActivities>;
