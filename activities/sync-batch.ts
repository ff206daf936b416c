import { emailHash, normaliseEmail } from '../common/emails.js';
import {
  type ContactFields,
  type FieldHashes,
  fieldsAfterSync,
  fieldsToPatch,
  isEmptyPatch,
  nameFields,
  patchOfFields,
  propertyFields,
} from '../common/field-changes.js';
import type { SyncProgress } from '../common/sync.js';
import {
  dropOldMemberships,
  lastSentFields,
  listsHoldingOnlyThrough,
  membersInEveryList,
} from '../db/contact-fields.js';
import { recordSentEmails } from '../db/erasures.js';
import {
  claimEmails,
  countOutcomes,
  failedByPlatform,
  type ListRef,
  recordDuplicate,
  recordedUsers,
  recordOutcome,
  type UserOutcome,
} from '../db/outcomes.js';
import { checkpointBatch, type RunRecord } from '../db/runs.js';
import type { Sql } from '../db/sql.js';
import {
  type BatchUser,
  readPopulationBatch,
  readRequestedBatch,
  type UsersSource,
} from '../db/users-source.js';
import { metrics } from '../telemetry/metrics.js';
import { takeBulkCreated } from './bulk-chunk.js';
import type { OutcomeRecorder } from './dry-run.js';
import { decideLocally } from './eligibility.js';
import { recordDeletedOnPlatform, withoutPlatformOptOuts } from './platform-consent.js';
import {
  type ChangeOutcome,
  type ContactOutcome,
  type ContactToSync,
  type MarketingPlatform,
  type OutcomeSink,
  platformUnavailable,
} from './platforms/platform.js';
import type { SendTurn, SendTurns } from './send-turns.js';

export interface ProcessBatchInput {
  runId: string;
  batchNo: number;
  /** The last user id of the previous batch; null for the first. */
  cursor: string | null;
  /**
   * The last user id of this batch, as planned (planBatch) before the previous batch ended: the
   * batch reads every user up to it. Null or absent: the next `batchSize` users.
   */
  upTo?: string | null;
  listId: string;
  tagListIds: string[];
}

export interface ProcessBatchOutput {
  cursor: string | null;
  done: boolean;
  /** The run's progress after this batch, as its record has it. */
  progress: SyncProgress;
}

export interface BatchContext {
  sql: Sql;
  source: UsersSource;
  platform: MarketingPlatform;
  batchSize: number;
  /** Called after each user's outcome, so Temporal sees progress. */
  onProgress: (usersDone: number) => void;
  /** Where outcomes go; absent: the run's outcomes and the ledger. A dry run records its plan. */
  outcomes?: OutcomeRecorder;
  /** Batches of a run running side by side in this process send in turn. */
  turns?: SendTurns;
}

export interface PlanBatchInput {
  runId: string;
  /** Where the planned batch starts: the end of the batch planned before it. */
  cursor: string | null;
  listId: string;
}

export interface PlanBatchOutput {
  /** The batch's last user id; null when fewer than a batch are left (the run's last batch). */
  upTo: string | null;
}

/**
 * Where the batch after the cursor ends, so it can start before the batch in front of it has
 * finished: the last of the next `batchSize` users, read as the batch will read them.
 */
export async function planBatch(
  ctx: Pick<BatchContext, 'sql' | 'source' | 'platform' | 'batchSize'>,
  run: RunRecord,
  input: PlanBatchInput,
): Promise<PlanBatchOutput> {
  const users = await readBatch(ctx, run, { ...input, upTo: null });
  return { upTo: users.length < ctx.batchSize ? null : (users.at(-1)?.userId ?? null) };
}

/**
 * An 'all' run reads only its change set; its unchanged members are recorded once its batches
 * are done (recordUnchangedMembers). A dry run reads everyone, so its plan names every user.
 */
export const changesOnlyOf = (
  run: RunRecord,
  tagListIds: string[] = [],
): { changesOnly?: { tagListIds: string[] } } =>
  run.syncType === 'all' && !run.dryRun ? { changesOnly: { tagListIds } } : {};

async function readBatch(
  ctx: Pick<BatchContext, 'sql' | 'source' | 'platform' | 'batchSize'>,
  run: RunRecord,
  input: Pick<ProcessBatchInput, 'cursor' | 'upTo' | 'listId'> & { tagListIds?: string[] },
) {
  const query = {
    platform: run.platform,
    account: ctx.platform.account,
    listId: input.listId,
    filter: { filterActive: run.filterActive, activeSince: run.activeSince.toISOString() },
    cursor: input.cursor,
    upTo: input.upTo ?? null,
    limit: ctx.batchSize,
    properties: run.properties,
  };
  return run.syncType === 'specific'
    ? readRequestedBatch(ctx.sql, ctx.source, { ...query, runId: run.runId })
    : readPopulationBatch(ctx.sql, ctx.source, {
        ...query,
        onlyNew: run.syncType === 'new',
        runId: run.runId,
        ...changesOnlyOf(run, input.tagListIds),
      });
}

/**
 * One checkpointed batch of a run: the next users after the cursor are read with the run's fixed
 * filters, decided locally, claimed, sent to the platform in one call, and each outcome is
 * recorded as the platform reports it (with the ledger in the same transaction). The checkpoint
 * advances the run's counts once. A retry skips users already recorded, so each user is sent at
 * most once per run, apart from requests in flight when an attempt died.
 */
export async function processBatch(
  ctx: BatchContext,
  run: RunRecord,
  input: ProcessBatchInput,
): Promise<ProcessBatchOutput> {
  const started = performance.now();
  const turn = ctx.turns?.enter(run.runId, input.batchNo);
  try {
    return await runBatch(ctx, run, input, turn, started);
  } finally {
    turn?.leave();
  }
}

async function runBatch(
  ctx: BatchContext,
  run: RunRecord,
  input: ProcessBatchInput,
  turn: SendTurn | undefined,
  started: number,
): Promise<ProcessBatchOutput> {
  const users = await readBatch(ctx, run, input);
  // A planned batch ends where it was planned to, and the batches after it were planned too.
  const planned = input.upTo != null;
  const cursor = planned ? (input.upTo ?? null) : (users.at(-1)?.userId ?? input.cursor);
  const done = !planned && users.length < ctx.batchSize;
  turn?.read(users.length);
  if (users.length > 0) {
    await syncUsers(
      turn
        ? {
            ...ctx,
            onProgress: (count) => {
              turn.progressed(count);
              ctx.onProgress(count);
            },
          }
        : ctx,
      run,
      input,
      users,
      turn,
    );
  }
  const userIds = users.map((user) => user.userId);
  const counts = await countOutcomes(ctx.sql, run.runId, userIds);
  const progress = await checkpointBatch(ctx.sql, run.runId, input.batchNo, cursor, counts);
  metrics.batchDuration.observe((performance.now() - started) / 1000);
  return { cursor, done, progress };
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

/** A sendable user's contact as the batch handles it. */
interface Sendable {
  contact: ContactToSync;
  user: BatchUser;
  emailHash: string;
  current: ContactFields;
  /** What was last sent or seen for this user and this email. */
  lastSeen: FieldHashes | undefined;
  /** The lists its contact was found in when it joined them (see foundListsOf). */
  foundIn?: string[];
}

/** An added user's contact whose fields need a patch. */
interface PendingPatch {
  item: Sendable;
  contactId: string | null;
  fields: ContactFields;
}

/** A user the local decision sends, with its contact as the platform receives it. */
interface Candidate {
  contact: ContactToSync;
  user: BatchUser;
}

/** One batch's users on their way: where their outcomes go, and the lists they join. */
interface BatchScope {
  ctx: BatchContext;
  run: RunRecord;
  list: ListRef;
  /** The run's list and its tags. */
  listIds: string[];
  outcomes: OutcomeRecorder;
  record(userId: string, result: UserOutcome): Promise<void>;
}

function scopeOf(ctx: BatchContext, run: RunRecord, input: ProcessBatchInput): BatchScope {
  const list: ListRef = {
    platform: run.platform,
    listId: input.listId,
    tagListIds: input.tagListIds,
  };
  const outcomes = ctx.outcomes ?? {
    record: (runId: string, ref: ListRef, userId: string, result: UserOutcome) =>
      recordOutcome(ctx.sql, runId, ref, userId, result),
    duplicate: (runId: string, ref: ListRef, userId: string, ownerId: string) =>
      recordDuplicate(ctx.sql, runId, ref, userId, ownerId),
  };
  const record = async (userId: string, result: UserOutcome) => {
    await outcomes.record(run.runId, list, userId, result);
    if (!run.dryRun) {
      metrics.contacts.inc({ outcome: result.outcome });
      if (result.outcome === 'added' && result.updated) metrics.contactsUpdated.inc();
    }
    ctx.onProgress(1);
  };
  return { ctx, run, list, listIds: [input.listId, ...input.tagListIds], outcomes, record };
}

/** The users to send and the opted-out ones to unsubscribe; every other user ends here. */
async function decideEach(
  scope: BatchScope,
  users: BatchUser[],
): Promise<{ candidates: Candidate[]; unsubscribes: BatchUser[] }> {
  const candidates: Candidate[] = [];
  const unsubscribes: BatchUser[] = [];
  for (const user of users) {
    const decision = decideLocally(user);
    if (decision.action === 'send') {
      candidates.push({
        user,
        contact: {
          userId: user.userId,
          email: normaliseEmail(user.email ?? ''),
          firstName: user.firstName,
          lastName: user.lastName,
          properties: user.properties,
        },
      });
    } else if (decision.action === 'unsubscribe') unsubscribes.push(user);
    else await scope.record(user.userId, decision.outcome);
  }
  return { candidates, unsubscribes };
}

/** The owned candidates as the batch sends them, with what was last sent for each. */
async function sendablesOf(scope: BatchScope, owned: Candidate[]): Promise<Sendable[]> {
  const lastSent = await lastSentFields(
    scope.ctx.sql,
    scope.ctx.platform.account,
    owned.map(({ contact }) => contact.userId),
  );
  return owned.map(({ contact, user }) => {
    const hash = emailHash(contact.email);
    const sent = lastSent.get(contact.userId);
    const sameEmail = sent?.emailHash === hash;
    return {
      contact: { ...contact, knownContactId: sameEmail ? sent.contactId : null },
      user,
      emailHash: hash,
      current: {
        ...nameFields(contact.firstName, contact.lastName),
        ...propertyFields(contact.properties),
      },
      lastSeen: sameEmail ? sent.fields : undefined,
    };
  });
}

/** Records an added user (taking out the old contact of a ledger row without an email hash). */
async function recordAdded(
  scope: BatchScope,
  item: Sendable,
  contactId: string | null,
  updated: boolean,
): Promise<void> {
  const { user } = item;
  // Ledger rows from before it kept email hashes: another contact id is another email.
  const moved =
    user.inList && user.listEmailHash === null && user.listContactId && contactId !== null
      ? contactId === user.listContactId
        ? ({ kind: 'done' } as const)
        : await moveOffOldContact(scope, user.userId, {
            emailHash: null,
            contactId: user.listContactId,
          })
      : ({ kind: 'done' } as const);
  if (moved.kind === 'rejected') {
    await scope.record(item.contact.userId, { outcome: 'failed', reason: moved.reason });
    return;
  }
  await scope.record(item.contact.userId, {
    outcome: 'added',
    contactId,
    emailHash: item.emailHash,
    updated,
    ...(item.foundIn?.length ? { foundIn: item.foundIn } : {}),
    fields: {
      account: scope.ctx.platform.account,
      hashes: fieldsAfterSync(item.current, item.lastSeen),
    },
  });
}

/**
 * Patches contacts, then records each: patched, refused, deleted on the platform (skipped, and
 * recorded so), or not found (to sync again).
 */
async function patchEach(
  scope: BatchScope,
  patches: PendingPatch[],
  onGone: (item: Sendable) => void | Promise<void>,
): Promise<void> {
  const byUser = new Map(patches.map((one) => [one.item.contact.userId, one]));
  await scope.ctx.platform.patchContacts(
    patches.map(({ item, contactId, fields }) => ({
      contact: { userId: item.contact.userId, email: item.contact.email, contactId },
      fields: patchOfFields(fields),
    })),
    async (userId, outcome) => {
      const one = byUser.get(userId);
      if (!one) return;
      if (outcome.kind === 'done') await recordAdded(scope, one.item, one.contactId, true);
      else if (outcome.kind === 'rejected') await scope.record(userId, failedByPlatform(outcome));
      else if (outcome.kind === 'deleted') {
        const { emailHash } = one.item;
        await recordDeletedOnPlatform(scope.ctx.sql, scope.ctx.platform, {
          emailHash,
          contactId: one.contactId,
        });
        await scope.record(userId, { outcome: 'skipped', reason: 'deleted_in_platform' });
      } else await onGone(one.item);
    },
  );
}

/**
 * Users the ledger has in every list with this email, met before: only changed fields cost a
 * request, and a user whose fields did not change costs none. A member known by its email only
 * (a bulk import created it) is patched by its email, which Resend takes in place of the id.
 * Answers the users to sync.
 */
async function syncPresent(
  scope: BatchScope,
  sendable: Sendable[],
  inEveryList: Map<string, string | null>,
): Promise<Sendable[]> {
  const toSync: Sendable[] = [];
  const patches: PendingPatch[] = [];
  for (const item of sendable) {
    const contactId = inEveryList.get(item.contact.userId);
    if (contactId === undefined || !item.lastSeen) {
      toSync.push(item);
      continue;
    }
    const fields = fieldsToPatch(item.current, { lastSeen: item.lastSeen });
    if (isEmptyPatch(fields)) {
      await scope.record(item.contact.userId, {
        outcome: 'added',
        contactId,
        emailHash: item.emailHash,
      });
    } else patches.push({ item, contactId, fields });
  }
  await patchEach(scope, patches, (item) => {
    toSync.push(item);
  });
  return toSync;
}

/**
 * Puts the users into the lists on the platform (created or joined), patches the fields a first
 * meeting may fill, and records each. Answers how many got only ambiguous answers.
 */
async function syncToPlatform(scope: BatchScope, toSync: Sendable[]): Promise<number> {
  let unresolved = 0;
  const joinedPatches: PendingPatch[] = [];
  const byUser = new Map(toSync.map((item) => [item.contact.userId, item]));
  await sendContacts(scope, toSync, async (userId, contactOutcome) => {
    const item = byUser.get(userId);
    const outcome = outcomeOfContact(contactOutcome);
    if (!item) return;
    if (!outcome) unresolved += 1;
    else if (contactOutcome.kind === 'deleted') {
      await recordDeletedOnPlatform(scope.ctx.sql, scope.ctx.platform, {
        emailHash: item.emailHash,
        contactId: contactOutcome.contactId,
      });
      await scope.record(userId, outcome);
    } else if (outcome.outcome !== 'added') await scope.record(userId, outcome);
    // Created with every field it has.
    else if (contactOutcome.kind === 'created') {
      await recordAdded(scope, item, outcome.contactId, false);
    } else {
      const fields = fieldsToPatch(item.current, {
        lastSeen: item.lastSeen,
        emptyOnPlatform:
          'emptyFields' in contactOutcome && contactOutcome.emptyFields
            ? new Set(contactOutcome.emptyFields)
            : undefined,
      });
      item.foundIn = foundListsOf(contactOutcome, scope.listIds);
      if (isEmptyPatch(fields)) await recordAdded(scope, item, outcome.contactId, false);
      else joinedPatches.push({ item, contactId: outcome.contactId, fields });
    }
  });
  await patchEach(scope, joinedPatches, (item) =>
    scope.record(item.contact.userId, {
      outcome: 'failed',
      reason: 'contact_vanished_before_patch',
    }),
  );
  return unresolved;
}

/**
 * Sends contacts to be created or joined, once each user's email is noted as sent (an erasure
 * finds the contact by it later, whatever the retention). A dry run's platform sends nothing.
 */
async function sendContacts(
  scope: BatchScope,
  items: Sendable[],
  onOutcome: OutcomeSink<ContactOutcome>,
): Promise<void> {
  if (!scope.run.dryRun) {
    await recordSentEmails(
      scope.ctx.sql,
      items.map((item) => ({ userId: item.contact.userId, emailHash: item.emailHash })),
    );
  }
  await scope.ctx.platform.syncContacts(
    items.map((item) => item.contact),
    scope.listIds,
    onOutcome,
  );
}

/**
 * Claims each candidate's email for the run: a user whose email an earlier user owns is that
 * user's duplicate. Of the owners, those a bulk chunk created are recorded without a request and
 * those the platform objects to end skipped with its reason; the others are allowed on.
 */
async function claimAndClear(
  scope: BatchScope,
  candidates: Candidate[],
): Promise<{ allowed: Candidate[]; duplicates: { userId: string; ownerId: string }[] }> {
  const { ctx, run } = scope;
  const owners = await claimEmails(
    ctx.sql,
    run.runId,
    candidates.map(({ contact }) => ({
      emailHash: emailHash(contact.email),
      userId: contact.userId,
    })),
  );
  const ownerOf = (contact: ContactToSync) => owners.get(emailHash(contact.email)) ?? '';
  const owned = candidates.filter(({ contact }) => ownerOf(contact) === contact.userId);
  // Contacts a bulk chunk already created are recorded without a request.
  const notYetCreated = await takeBulkCreated(
    ctx.sql,
    run.runId,
    scope.list,
    ctx.platform,
    owned.map(({ contact }) => contact),
    (count) => {
      metrics.contacts.inc({ outcome: 'added' }, count);
      ctx.onProgress(count);
    },
  );
  const cleared = new Set(
    (await withoutPlatformOptOuts(ctx.sql, ctx.platform, notYetCreated, scope.record)).map(
      (contact) => contact.userId,
    ),
  );
  return {
    allowed: owned.filter(({ contact }) => cleared.has(contact.userId)),
    duplicates: candidates
      .filter(({ contact }) => ownerOf(contact) !== contact.userId)
      .map(({ contact }) => ({ userId: contact.userId, ownerId: ownerOf(contact) })),
  };
}

/**
 * Marks the contacts of users who opted out in the app unsubscribed; a contact the platform no
 * longer has is recorded as deleted there.
 */
async function unsubscribeEach(scope: BatchScope, users: BatchUser[]): Promise<void> {
  const { ctx } = scope;
  const byUser = new Map(users.map((user) => [user.userId, user]));
  await ctx.platform.markUnsubscribed(
    users.map((user) => ({
      userId: user.userId,
      email: user.email,
      contactId: user.listContactId,
    })),
    async (userId, outcome) => {
      const user = byUser.get(userId);
      if (outcome.kind === 'deleted' && user) {
        await recordDeletedOnPlatform(ctx.sql, ctx.platform, {
          emailHash: user.listEmailHash ?? emailHash(user.email ?? ''),
          contactId: user.listContactId,
        });
      }
      await scope.record(userId, outcomeOfUnsubscribe(outcome));
    },
  );
}

async function syncUsers(
  ctx: BatchContext,
  run: RunRecord,
  input: ProcessBatchInput,
  users: BatchUser[],
  turn: SendTurn | undefined,
): Promise<void> {
  const { sql } = ctx;
  const recorded = await recordedUsers(
    sql,
    run.runId,
    users.map((user) => user.userId),
  );
  const pending = users.filter((user) => !recorded.has(user.userId));
  if (pending.length === 0) return;
  const scope = scopeOf(ctx, run, input);
  const { candidates, unsubscribes } = await decideEach(scope, pending);
  const movable = await moveOffOldContacts(scope, candidates, turn);
  const { allowed, duplicates } = await claimAndClear(scope, movable);
  const sendable = await sendablesOf(scope, allowed);

  const inEveryList = await presentMembers(scope, sendable);

  // Prepared while the batch before it sent its last users; its requests go now.
  await turn?.ready();
  const toSync = await syncPresent(scope, sendable, inEveryList);
  const unresolved = await syncToPlatform(scope, toSync);
  await unsubscribeEach(scope, unsubscribes);

  // Users sharing an email with an earlier user are represented by that user's contact.
  for (const { userId, ownerId } of duplicates) {
    await scope.outcomes.duplicate(run.runId, scope.list, userId, ownerId);
    if (!run.dryRun) metrics.contacts.inc({ outcome: 'skipped' });
    ctx.onProgress(1);
  }
  if (unresolved > 0) {
    throw platformUnavailable(
      `${unresolved} contacts got only ambiguous answers; the batch is retried for them`,
    );
  }
}

/**
 * The sendable users the ledger has in every list of the run with their current email, by
 * contact id. A member the ledger knows by its email only (a bulk import created it) gets the id
 * the platform's directory has for that email (a look-up, no request), which its outcome then
 * records; null when the directory does not know it yet.
 */
async function presentMembers(
  scope: BatchScope,
  sendable: Sendable[],
): Promise<Map<string, string | null>> {
  const { ctx, run } = scope;
  const present = await membersInEveryList(
    ctx.sql,
    run.platform,
    [...new Set(scope.listIds)],
    sendable.map((item) => ({ userId: item.contact.userId, emailHash: item.emailHash })),
  );
  const withoutIds = sendable.filter(
    (item) => present.has(item.contact.userId) && present.get(item.contact.userId) === null,
  );
  if (withoutIds.length === 0) return present;
  const known = await ctx.platform.knownContacts?.(withoutIds.map((item) => item.emailHash));
  for (const item of withoutIds) {
    present.set(item.contact.userId, known?.get(item.emailHash) ?? null);
  }
  return present;
}

/** A user the ledger has in the run's list with another email than its current one. */
const emailChanged = ({ user, contact }: Candidate): boolean =>
  user.inList && user.listEmailHash !== null && user.listEmailHash !== emailHash(contact.email);

/**
 * Users whose email changed since this service put them into the run's lists: each old contact
 * leaves those lists first, whatever then happens to the new address (skipped for the platform's
 * reason, refused, another user's, created by a bulk import). Its id is the ledger's or, when the
 * ledger knows it by its email only (a contact a bulk import created), the platform directory's.
 * Answers the candidates still to handle: a user whose old contact stayed fails here, and the
 * next run tries again.
 */
async function moveOffOldContacts(
  scope: BatchScope,
  candidates: Candidate[],
  turn: SendTurn | undefined,
): Promise<Candidate[]> {
  const movers = candidates.filter(emailChanged);
  if (movers.length === 0) return candidates;
  const { ctx, run } = scope;
  const withoutIds = movers.flatMap(({ user }) =>
    user.listContactId ? [] : [user.listEmailHash ?? ''],
  );
  const directory =
    withoutIds.length > 0 ? await ctx.platform.knownContacts?.(withoutIds) : undefined;
  await turn?.ready();
  const stayed = new Set<string>();
  for (const { user } of movers) {
    const oldEmailHash = user.listEmailHash ?? '';
    const contactId = user.listContactId ?? directory?.get(oldEmailHash) ?? null;
    const moved = await moveOffOldContact(scope, user.userId, {
      emailHash: oldEmailHash,
      contactId,
    });
    if (moved.kind === 'rejected') {
      await scope.record(user.userId, { outcome: 'failed', reason: moved.reason });
      stayed.add(user.userId);
    } else if (!run.dryRun) {
      await dropOldMemberships(ctx.sql, run.platform, scope.listIds, user.userId, oldEmailHash);
    }
  }
  return candidates.filter(({ user }) => !stayed.has(user.userId));
}

/**
 * Takes a user's old contact out of the run's lists the ledger has it in through this user (the
 * contact itself stays); a contact another user of the list still stands for stays. Without an
 * id the platform does not have it (its directory would know it): nothing is left to take out.
 */
async function moveOffOldContact(
  scope: BatchScope,
  userId: string,
  old: { emailHash: string | null; contactId: string | null },
): Promise<ChangeOutcome> {
  const { ctx, run } = scope;
  const contactId = old.contactId;
  if (!contactId) return { kind: 'done' };
  const lists = await listsHoldingOnlyThrough(ctx.sql, run.platform, scope.listIds, userId, {
    emailHash: old.emailHash,
    contactId,
  });
  for (const listId of lists) {
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
    // Gone from the platform: out of every list, and never to be created again.
    if (removals.some((removal) => removal.kind === 'deleted') && old.emailHash !== null) {
      await recordDeletedOnPlatform(ctx.sql, ctx.platform, { emailHash: old.emailHash, contactId });
      return { kind: 'done' };
    }
  }
  return { kind: 'done' };
}
