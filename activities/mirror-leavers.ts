import { Context } from '@temporalio/activity';
import { ApplicationFailure } from '@temporalio/common';
import { emailHash, normaliseEmail } from '../common/emails.js';
import { type MaxRemovals, REMOVAL_GUARD_TRIPPED, type SyncProgress } from '../common/sync.js';
import {
  dropSharedLeavers,
  type LeaverOutcome,
  type LeaverPlan,
  type PendingLeaver,
  pendingLeavers,
  planLeavers,
  recordLeaver,
} from '../db/leavers.js';
import { type ListRef, memberEmailHash, memberEmailHashes } from '../db/outcomes.js';
import { getRun, maxRemovalsOf, progressOf, type RunRecord } from '../db/runs.js';
import type { Sql } from '../db/sql.js';
import type { UsersSource } from '../db/users-source.js';
import { metrics } from '../telemetry/metrics.js';
import { recordDeletedOnPlatform } from './platform-consent.js';
import type { ChangeOutcome, ContactRef, MarketingPlatform } from './platforms/platform.js';

/** The most contacts a run may remove, out of `tracked` members of the list. */
export function removalLimit(max: MaxRemovals, tracked: number): number {
  if (typeof max === 'number') return max;
  const share = Number(max.slice(0, -1));
  return Math.floor((tracked * share) / 100);
}

/** True when a run would remove more than its limit: it then removes nothing. */
export const guardTrips = (plan: LeaverPlan): boolean => plan.wouldRemove > plan.maxRemovals;

export const guardMessage = (plan: LeaverPlan): string =>
  `The run would remove ${plan.wouldRemove} contacts from the list, more than max_removals allows (${plan.maxRemovals} of ${plan.tracked} tracked members); it removed none`;

/** How a leaver ended after its removal (and its unsubscribe, when it opted out). */
export function leaverOutcome(
  removal: ChangeOutcome,
  unsubscribe: ChangeOutcome | undefined,
): LeaverOutcome {
  if (unsubscribe?.kind === 'rejected') return { outcome: 'failed', reason: unsubscribe.reason };
  if (removal.kind === 'rejected') return { outcome: 'failed', reason: removal.reason };
  if (removal.kind === 'not_found' || removal.kind === 'deleted') return { outcome: 'gone' };
  return { outcome: 'removed', unsubscribed: unsubscribe?.kind === 'done' };
}

/**
 * How each leaver's contact is named to the platform: by the ledger's contact id; for a member
 * the ledger knows by its email only (a bulk import created it), by the id the platform's
 * directory has for the email it was synced with (a look-up, no request), else by the user's
 * email when it is still that one (another email would name another contact).
 */
export async function leaverRefs(
  sql: Sql,
  platform: Pick<MarketingPlatform, 'knownContacts'>,
  list: ListRef,
  leavers: PendingLeaver[],
): Promise<ContactRef[]> {
  const withoutIds = leavers.filter((leaver) => !leaver.contactId).map((leaver) => leaver.userId);
  const synced = await memberEmailHashes(sql, list, withoutIds);
  // Each leaver's email as it is now, hashed once: while it is the one synced, it names the contact.
  const current = new Map(
    leavers.map((leaver) => {
      const email = leaver.email ? normaliseEmail(leaver.email) : null;
      return [leaver.userId, { email, hash: email === null ? null : emailHash(email) }];
    }),
  );
  const byEmail = new Set<string>();
  const elsewhere = new Set<string>();
  for (const [userId, hash] of synced) {
    (current.get(userId)?.hash === hash ? byEmail : elsewhere).add(hash);
  }
  for (const hash of elsewhere) byEmail.delete(hash);
  // Each hash is looked up once. A contact the user's email no longer names exists all the same
  // (a member): for those, the directory reads what it passed over unread before answering that
  // it does not know one.
  const known = new Map([
    ...((byEmail.size > 0 ? await platform.knownContacts?.([...byEmail]) : undefined) ?? []),
    ...((elsewhere.size > 0
      ? await platform.knownContacts?.([...elsewhere], { onPlatform: true })
      : undefined) ?? []),
  ]);
  return leavers.map((leaver) => {
    const { email, hash } = current.get(leaver.userId) ?? { email: null, hash: null };
    const syncedHash = synced.get(leaver.userId);
    const contactId = leaver.contactId ?? (syncedHash ? known.get(syncedHash) : null) ?? null;
    const sameEmail = !syncedHash || hash === syncedHash;
    return { userId: leaver.userId, contactId, email: contactId || !sameEmail ? null : email };
  });
}

export interface LeaverDeps {
  sql: Sql;
  usersSource: () => Promise<UsersSource>;
  batchSize: number;
  connect(run: RunRecord, onAnswer: () => void): MarketingPlatform;
  /** Records the members an 'all' run did not read: a member without an outcome is a leaver. */
  settleUnchangedMembers(run: RunRecord): Promise<void>;
}

export interface PlanLeaversInput {
  runId: string;
  listId: string;
}

export interface RemoveLeaversInput {
  runId: string;
  listId: string;
  batchNo: number;
}

export interface RemoveLeaversOutput {
  done: boolean;
  progress: SyncProgress;
}

/**
 * Finds the run's leavers once its population is recorded (its unchanged members too), and
 * trips the guard before anything is removed.
 */
async function planRunLeavers(deps: LeaverDeps, run: RunRecord, listId: string) {
  const { sql } = deps;
  const list: ListRef = { platform: run.platform, listId };
  await deps.settleUnchangedMembers(run);
  const filter = { filterActive: run.filterActive, activeSince: run.activeSince.toISOString() };
  const plan = await planLeavers(
    sql,
    run.runId,
    list,
    await deps.usersSource(),
    filter,
    (tracked) => removalLimit(maxRemovalsOf(run), tracked),
  );
  // A dry run's plan says the guard would trip (readRemovalGuard); a real run fails here.
  if (guardTrips(plan) && !run.dryRun) {
    throw ApplicationFailure.create({
      type: REMOVAL_GUARD_TRIPPED,
      message: guardMessage(plan),
      nonRetryable: true,
      details: [plan],
    });
  }
  if (!run.dryRun) await dropSharedLeavers(sql, run.runId, list);
  return plan;
}

/**
 * The activities of a mirror run's last phase: find the leavers once (and trip the guard before
 * anything is removed), then take them out of the list a batch at a time.
 */
export function createLeaverActivities(deps: LeaverDeps) {
  const { sql } = deps;
  const requireRun = async (runId: string): Promise<RunRecord> => {
    const run = await getRun(sql, runId);
    if (!run) throw ApplicationFailure.nonRetryable(`Run ${runId} has no record`, 'RunMissing');
    return run;
  };

  return {
    /** Finds the leavers; fails with removal_guard_tripped when there are too many. */
    planLeavers: async (input: PlanLeaversInput): Promise<LeaverPlan> =>
      planRunLeavers(deps, await requireRun(input.runId), input.listId),

    /** Takes the next batch of leavers out of the list; each is recorded as it is answered. */
    async removeLeavers({ runId, listId }: RemoveLeaversInput): Promise<RemoveLeaversOutput> {
      const run = await requireRun(runId);
      const context = Context.current();
      const list: ListRef = { platform: run.platform, listId };
      const leavers = await pendingLeavers(sql, runId, await deps.usersSource(), deps.batchSize);
      if (leavers.length > 0) {
        const platform = deps.connect(run, () => context.heartbeat());
        const refs = await leaverRefs(sql, platform, list, leavers);
        // Opted-out users are marked unsubscribed before they leave the list.
        const unsubscribes = new Map<string, ChangeOutcome>();
        const toUnsubscribe = refs.filter(
          (ref) => leavers.find((leaver) => leaver.userId === ref.userId)?.unsubscribe,
        );
        await platform.markUnsubscribed(toUnsubscribe, async (userId, outcome) => {
          unsubscribes.set(userId, outcome);
          context.heartbeat();
        });
        // A leaver without a contact id or email cannot be named to the platform.
        const nameable = refs.filter((ref) => ref.contactId || ref.email);
        for (const ref of refs) {
          if (!ref.contactId && !ref.email) {
            await recordLeaver(sql, runId, list, ref.userId, {
              outcome: 'failed',
              reason: 'contact_unknown',
            });
          }
        }
        await platform.removeFromList(nameable, listId, async (userId, removal) => {
          const result = leaverOutcome(removal, unsubscribes.get(userId));
          // A contact the platform no longer has: deleted there, never to be created again.
          const emailHash =
            removal.kind === 'deleted' && (await memberEmailHash(sql, list, userId));
          if (emailHash) {
            const contactId = refs.find((ref) => ref.userId === userId)?.contactId ?? null;
            await recordDeletedOnPlatform(sql, platform, { emailHash, contactId });
          }
          if (await recordLeaver(sql, runId, list, userId, result)) {
            metrics.leavers.inc({ outcome: result.outcome });
            if (result.outcome === 'removed' && result.unsubscribed) {
              metrics.leavers.inc({ outcome: 'unsubscribed' });
            }
          }
          context.heartbeat();
        });
      }
      const after = await requireRun(runId);
      return { done: leavers.length < deps.batchSize, progress: progressOf(after) };
    },
  };
}

export type LeaverActivities = ReturnType<typeof createLeaverActivities>;
