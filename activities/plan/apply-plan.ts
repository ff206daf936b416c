import {
  type ContactFields,
  fieldsAfterSync,
  isEmptyPatch,
  patchOfFields,
} from '../../common/field-changes.js';
import { recordBulkCreated } from '../../db/bulk.js';
import { appendMissingOptOuts } from '../../db/consent.js';
import { dropOldMemberships, oldContactMemberships } from '../../db/contact-fields.js';
import { recordSentEmails } from '../../db/erasures.js';
import { groupWhileBusy } from '../../db/grouped-calls.js';
import {
  failedByPlatform,
  type ListRef,
  recordDuplicate,
  recordOutcomes,
  type UserOutcome,
} from '../../db/outcomes.js';
import { recordPlannedOutcome } from '../../db/plans.js';
import type { RunRecord } from '../../db/runs.js';
import { metrics } from '../../telemetry/metrics.js';
import { recordDeletedOnPlatform, recordUnsubscribedOnPlatform } from '../platform-consent.js';
import {
  type ChangeOutcome,
  type ContactOutcome,
  platformUnavailable,
} from '../platforms/platform.js';
import type { SendTurn } from '../send-turns.js';
import type { BatchContext } from '../sync-batch.js';
import {
  bulkCreatedFields,
  listsToLeave,
  type PlannedAction,
  patchOnMeeting,
  plannedOutcomeOf,
  type Sendable,
  type UserPlan,
} from './plan-batch.js';

/** One batch's run and lists, and where its users' outcomes go. */
export interface BatchScope {
  ctx: BatchContext;
  run: RunRecord;
  list: ListRef;
  /** The run's list and its tags. */
  listIds: string[];
  record(userId: string, result: UserOutcome): Promise<void>;
}

export function scopeOf(
  ctx: BatchContext,
  run: RunRecord,
  input: { listId: string; tagListIds: string[] },
): BatchScope {
  const list: ListRef = {
    platform: run.platform,
    listId: input.listId,
    tagListIds: input.tagListIds,
  };
  // Outcomes reported while the ones before are being written go together in one statement.
  const write = groupWhileBusy(async (outcomes: { userId: string; result: UserOutcome }[]) => {
    await recordOutcomes(ctx.sql, run.runId, list, outcomes);
    return outcomes;
  });
  const record = async (userId: string, result: UserOutcome) => {
    await write({ userId, result });
    metrics.contacts.inc({ outcome: result.outcome });
    if (result.outcome === 'added' && result.updated) metrics.contactsUpdated.inc();
    ctx.onProgress(1);
  };
  return { ctx, run, list, listIds: [input.listId, ...input.tagListIds], record };
}

/**
 * A dry run: each user's plan is recorded as what a real run would do; nothing is applied. What
 * its reads taught is kept as any run keeps it: the opt-outs feed names users whose contacts the
 * platform has unsubscribed, deleted or suppressed.
 */
export async function recordPlan(scope: BatchScope, plan: UserPlan[]): Promise<void> {
  await noteOptOuts(scope, plan);
  for (const { userId, action } of plan) {
    const { outcome, planned } = plannedOutcomeOf(action);
    await recordPlannedOutcome(scope.ctx.sql, scope.run.runId, userId, outcome, planned);
    scope.ctx.onProgress(1);
  }
}

/**
 * Applies a batch's plan: the only step that talks to the platform and records outcomes. What
 * needs no request is recorded first; an email change's old contact leaves before anything else
 * happens to its user; users sharing an email are recorded once their owner is.
 */
export async function applyPlan(
  scope: BatchScope,
  plan: UserPlan[],
  turn: SendTurn | undefined,
): Promise<void> {
  const staying = plan.filter((one) => !one.moveOff);
  await recordWithoutRequest(scope, staying);
  // Prepared while the batch before it sent its last users; its requests go now.
  await turn?.ready();
  const moved = await moveOffEach(scope, plan);
  await recordWithoutRequest(scope, moved);
  // A user whose old contact stayed has failed: nothing else happens to it in this run.
  const going = [...staying, ...moved];
  const actions = going.map((one) => one.action);
  const toSync = actions.flatMap((action) =>
    action.kind === 'create' || action.kind === 'join' ? [action.send] : [],
  );
  // A present member's contact the platform no longer finds is synced again.
  await patchEach(scope, actions.flatMap(patchOf), (send) => {
    toSync.push(send);
  });
  const unresolved = await syncToPlatform(scope, toSync);
  await unsubscribeEach(
    scope,
    actions.flatMap((action) => (action.kind === 'unsubscribe' ? [action] : [])),
  );
  await recordDuplicates(scope, going);
  if (unresolved > 0) {
    throw platformUnavailable(
      `${unresolved} contacts got only ambiguous answers; the batch is retried for them`,
    );
  }
}

/** An added user's contact whose fields need a patch. */
interface PendingPatch {
  send: Sendable;
  contactId: string | null;
  fields: ContactFields;
  /** The lists its contact was found in when it joined them (see foundListsOf). */
  foundIn?: string[];
}

const patchOf = (action: PlannedAction): PendingPatch[] =>
  action.kind === 'patch'
    ? [{ send: action.send, contactId: action.contactId, fields: action.fields }]
    : [];

/**
 * Users that end without a request: skipped or failed (an opt-out of the platform's is in the
 * opt-outs feed before its user is recorded, since a retried batch skips recorded users),
 * created by a bulk chunk, or present with nothing to change.
 */
async function recordWithoutRequest(scope: BatchScope, plans: UserPlan[]): Promise<void> {
  await noteOptOuts(scope, plans);
  await recordBulkCreatedUsers(scope, plans);
  // Side by side, so that they are written in few statements.
  await Promise.all(
    plans.map(({ userId, action }) => {
      if (action.kind === 'record') return scope.record(userId, action.outcome);
      if (action.kind !== 'present') return undefined;
      return scope.record(userId, {
        outcome: 'added',
        contactId: action.contactId,
        emailHash: action.send.emailHash,
      });
    }),
  );
}

/** The opt-outs feed names the users skipped for the platform's consent facts. */
async function noteOptOuts(scope: BatchScope, plans: UserPlan[]): Promise<void> {
  await appendMissingOptOuts(
    scope.ctx.sql,
    plans.flatMap(({ userId, action }) =>
      action.kind === 'record' && action.optOut ? [{ userId, origin: action.optOut }] : [],
    ),
  );
}

/** Users a bulk chunk created, recorded as added in one statement, with the names it sent. */
async function recordBulkCreatedUsers(scope: BatchScope, plans: UserPlan[]): Promise<void> {
  const created = plans.flatMap(({ action }) => (action.kind === 'bulk_created' ? [action] : []));
  if (created.length === 0) return;
  const { ctx, run } = scope;
  await recordBulkCreated(
    ctx.sql,
    run.runId,
    scope.list,
    ctx.platform.account,
    created.map(({ send, contactId }) => ({
      userId: send.contact.userId,
      emailHash: send.emailHash,
      contactId,
      fieldHashes: bulkCreatedFields(send),
    })),
  );
  metrics.contacts.inc({ outcome: 'added' }, created.length);
  ctx.onProgress(created.length);
}

/**
 * Takes each old contact of an email change out of the lists the plan names (the contact itself
 * stays) and forgets the old email's ledger rows. Answers the movers still to handle: a user
 * whose old contact stayed fails here, and the next run tries again.
 */
async function moveOffEach(scope: BatchScope, plan: UserPlan[]): Promise<UserPlan[]> {
  const moved: UserPlan[] = [];
  for (const one of plan) {
    if (!one.moveOff) continue;
    const { emailHash, contactId, listIds } = one.moveOff;
    const outcome = await removeOldContact(scope, one.userId, { emailHash, contactId }, listIds);
    if (outcome.kind === 'rejected') {
      await scope.record(one.userId, { outcome: 'failed', reason: outcome.reason });
      continue;
    }
    await dropOldMemberships(
      scope.ctx.sql,
      scope.run.platform,
      scope.listIds,
      one.userId,
      emailHash,
    );
    moved.push(one);
  }
  return moved;
}

/**
 * Takes a user's old contact out of these lists. A contact the platform no longer has is out of
 * every list: it is recorded as deleted there, never to be created again.
 */
async function removeOldContact(
  scope: BatchScope,
  userId: string,
  old: { emailHash: string | null; contactId: string | null },
  listIds: string[],
): Promise<ChangeOutcome> {
  const { ctx } = scope;
  const contactId = old.contactId;
  if (!contactId) return { kind: 'done' };
  for (const listId of listIds) {
    const removals: ChangeOutcome[] = [];
    await ctx.platform.removeFromList(
      [{ userId, email: null, contactId }],
      listId,
      async (_userId, outcome) => {
        removals.push(outcome);
      },
    );
    const refused = removals.find((removal) => removal.kind === 'rejected');
    if (refused?.kind === 'rejected') {
      return { kind: 'rejected', reason: `old_contact_not_removed:${refused.reason}` };
    }
    if (removals.some((removal) => removal.kind === 'deleted') && old.emailHash !== null) {
      await recordDeletedOnPlatform(ctx.sql, ctx.platform, { emailHash: old.emailHash, contactId });
      return { kind: 'done' };
    }
  }
  return { kind: 'done' };
}

/**
 * Records an added user. A ledger row from before it kept email hashes names the old contact by
 * its id only: another contact id now is another email, and that old contact leaves first.
 */
async function recordAdded(
  scope: BatchScope,
  added: { send: Sendable; contactId: string | null; foundIn?: string[] | undefined },
  updated: boolean,
): Promise<void> {
  const { send, contactId } = added;
  const { user } = send;
  const oldId = user.listContactId;
  if (
    user.inList &&
    user.listEmailHash === null &&
    oldId &&
    contactId !== null &&
    contactId !== oldId
  ) {
    const old = { emailHash: null, contactId: oldId };
    const memberships = await oldContactMemberships(
      scope.ctx.sql,
      scope.run.platform,
      scope.listIds,
      user.userId,
      old,
    );
    const moved = await removeOldContact(scope, user.userId, old, listsToLeave([...memberships]));
    if (moved.kind === 'rejected') {
      await scope.record(user.userId, { outcome: 'failed', reason: moved.reason });
      return;
    }
  }
  await scope.record(user.userId, {
    outcome: 'added',
    contactId,
    emailHash: send.emailHash,
    updated,
    ...(added.foundIn?.length ? { foundIn: added.foundIn } : {}),
    fields: {
      account: scope.ctx.platform.account,
      hashes: fieldsAfterSync(send.current, send.lastSeen),
    },
  });
}

/**
 * Patches contacts, then records each: patched, refused, deleted on the platform (skipped, and
 * recorded so), or not found (`onGone`).
 */
async function patchEach(
  scope: BatchScope,
  patches: PendingPatch[],
  onGone: (send: Sendable) => void | Promise<void>,
): Promise<void> {
  if (patches.length === 0) return;
  const byUser = new Map(patches.map((one) => [one.send.contact.userId, one]));
  await scope.ctx.platform.patchContacts(
    patches.map(({ send, contactId, fields }) => ({
      contact: { userId: send.contact.userId, email: send.contact.email, contactId },
      fields: patchOfFields(fields),
    })),
    async (userId, outcome) => {
      const one = byUser.get(userId);
      if (!one) return;
      if (outcome.kind === 'done') await recordAdded(scope, one, true);
      else if (outcome.kind === 'rejected') await scope.record(userId, failedByPlatform(outcome));
      else if (outcome.kind === 'deleted') {
        await recordDeletedOnPlatform(scope.ctx.sql, scope.ctx.platform, {
          emailHash: one.send.emailHash,
          contactId: one.contactId,
        });
        await scope.record(userId, { outcome: 'skipped', reason: 'deleted_in_platform' });
      } else await onGone(one.send);
    },
  );
}

/**
 * Puts the users into the lists on the platform (created or joined), patches the fields a first
 * meeting may fill, and records each. Answers how many got only ambiguous answers.
 */
async function syncToPlatform(scope: BatchScope, toSync: Sendable[]): Promise<number> {
  if (toSync.length === 0) return 0;
  let unresolved = 0;
  const joinedPatches: PendingPatch[] = [];
  const byUser = new Map(toSync.map((send) => [send.contact.userId, send]));
  await sendContacts(scope, toSync, async (userId, contactOutcome) => {
    const send = byUser.get(userId);
    const outcome = outcomeOfContact(contactOutcome);
    if (!send) return;
    if (!outcome) unresolved += 1;
    else if (contactOutcome.kind === 'deleted') {
      await recordDeletedOnPlatform(scope.ctx.sql, scope.ctx.platform, {
        emailHash: send.emailHash,
        contactId: contactOutcome.contactId,
      });
      await scope.record(userId, outcome);
    } else if (contactOutcome.kind === 'unsubscribed') {
      await recordUnsubscribedOnPlatform(scope.ctx.sql, scope.ctx.platform, {
        emailHash: send.emailHash,
        contactId: contactOutcome.contactId,
        listId: contactOutcome.listId,
      });
      await scope.record(userId, outcome);
    } else if (outcome.outcome !== 'added') await scope.record(userId, outcome);
    // Created with every field it has.
    else if (contactOutcome.kind === 'created') {
      await recordAdded(scope, { send, contactId: outcome.contactId }, false);
    } else {
      const met = {
        send,
        contactId: outcome.contactId,
        fields: patchOnMeeting(
          send,
          'emptyFields' in contactOutcome ? contactOutcome.emptyFields : undefined,
        ),
        foundIn: foundListsOf(contactOutcome, scope.listIds),
      };
      if (isEmptyPatch(met.fields)) await recordAdded(scope, met, false);
      else joinedPatches.push(met);
    }
  });
  await patchEach(scope, joinedPatches, (send) =>
    scope.record(send.contact.userId, {
      outcome: 'failed',
      reason: 'contact_vanished_before_patch',
    }),
  );
  return unresolved;
}

/**
 * Sends contacts to be created or joined, once each user's email is noted as sent (an erasure
 * finds the contact by it later, whatever the retention).
 */
async function sendContacts(
  scope: BatchScope,
  sends: Sendable[],
  onOutcome: (userId: string, outcome: ContactOutcome) => Promise<void>,
): Promise<void> {
  await recordSentEmails(
    scope.ctx.sql,
    sends.map((send) => ({ userId: send.contact.userId, emailHash: send.emailHash })),
  );
  await scope.ctx.platform.syncContacts(
    sends.map((send) => send.contact),
    scope.listIds,
    onOutcome,
  );
}

/**
 * Marks the contacts of users who opted out in the app unsubscribed; a contact the platform no
 * longer has is recorded as deleted there.
 */
async function unsubscribeEach(
  scope: BatchScope,
  unsubscribes: Extract<PlannedAction, { kind: 'unsubscribe' }>[],
): Promise<void> {
  if (unsubscribes.length === 0) return;
  const { ctx } = scope;
  const byUser = new Map(unsubscribes.map((one) => [one.contact.userId, one]));
  await ctx.platform.markUnsubscribed(
    unsubscribes.map((one) => one.contact),
    async (userId, outcome) => {
      const one = byUser.get(userId);
      if (outcome.kind === 'deleted' && one) {
        await recordDeletedOnPlatform(ctx.sql, ctx.platform, {
          emailHash: one.emailHash,
          contactId: one.contact.contactId,
        });
      }
      await scope.record(userId, outcomeOfUnsubscribe(outcome));
    },
  );
}

/** Users sharing an email with an earlier user are represented by that user's contact. */
async function recordDuplicates(scope: BatchScope, plan: UserPlan[]): Promise<void> {
  const { ctx, run } = scope;
  for (const { userId, action } of plan) {
    if (action.kind !== 'duplicate') continue;
    await recordDuplicate(ctx.sql, run.runId, scope.list, userId, action.ownerId);
    metrics.contacts.inc({ outcome: 'skipped' });
    ctx.onProgress(1);
  }
}

/** What the platform said about a contact, as the user's outcome; undefined: ask again. */
export function outcomeOfContact(outcome: ContactOutcome): UserOutcome | undefined {
  switch (outcome.kind) {
    case 'created':
    case 'joined':
    case 'already_there':
      return { outcome: 'added', contactId: outcome.contactId };
    case 'deleted':
      return { outcome: 'skipped', reason: 'deleted_in_platform' };
    case 'unsubscribed':
      return { outcome: 'skipped', reason: 'unsubscribed_in_platform' };
    case 'rejected':
      return failedByPlatform(outcome);
    case 'erased':
      return { outcome: 'skipped', reason: 'deleted_in_platform' };
    case 'ambiguous':
      return undefined;
  }
}

/** The lists of a sync call the contact was in before it: memberships found, not made. */
export function foundListsOf(outcome: ContactOutcome, listIds: string[]): string[] {
  if (outcome.kind === 'already_there') return [...listIds];
  if (outcome.kind !== 'joined') return [];
  return listIds.filter((listId) => outcome.foundIn?.includes(listId));
}

/** An opted-out user's unsubscribe, as its outcome: a contact already gone needs nothing. */
export const outcomeOfUnsubscribe = (outcome: ChangeOutcome): UserOutcome =>
  outcome.kind === 'rejected'
    ? failedByPlatform(outcome)
    : { outcome: 'skipped', reason: 'opted_out', unsubscribed: true };
