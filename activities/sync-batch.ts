import type { SyncProgress } from '../common/sync.js';
import {
  lastSentFields,
  listsHoldingOnlyThrough,
  membersInEveryList,
} from '../db/contact-fields.js';
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
import { metrics } from '../telemetry/metrics.js';
import { takeBulkCreated } from './bulk-chunk.js';
import type { OutcomeRecorder } from './dry-run.js';
import { decideLocally } from './eligibility.js';
import { emailHash, normaliseEmail } from './emails.js';
import {
  type ContactFields,
  type FieldHashes,
  fieldsAfterSync,
  fieldsToPatch,
  isEmptyPatch,
  nameFields,
  patchOfFields,
  propertyFields,
} from './field-changes.js';
import { withoutPlatformOptOuts } from './platform-consent.js';
import {
  type ChangeOutcome,
  type ContactOutcome,
  type ContactToSync,
  type MarketingPlatform,
  platformUnavailable,
} from './platforms/platform.js';
import type { SendTurn, SendTurns } from './send-turns.js';
import {
  type BatchUser,
  readPopulationBatch,
  readRequestedBatch,
  type UsersSource,
} from './users-source.js';

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

async function readBatch(
  ctx: Pick<BatchContext, 'sql' | 'source' | 'platform' | 'batchSize'>,
  run: RunRecord,
  input: Pick<ProcessBatchInput, 'cursor' | 'upTo' | 'listId'>,
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
    case 'rejected':
      return failedByPlatform(outcome);
    case 'ambiguous':
      return undefined;
  }
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
}

/** An added user's contact whose fields need a patch. */
interface PendingPatch {
  item: Sendable;
  contactId: string | null;
  fields: ContactFields;
}

async function syncUsers(
  ctx: BatchContext,
  run: RunRecord,
  input: ProcessBatchInput,
  users: BatchUser[],
  turn: SendTurn | undefined,
): Promise<void> {
  const { sql, platform } = ctx;
  const recorded = await recordedUsers(
    sql,
    run.runId,
    users.map((user) => user.userId),
  );
  const pending = users.filter((user) => !recorded.has(user.userId));
  if (pending.length === 0) return;

  const list: ListRef = {
    platform: run.platform,
    listId: input.listId,
    tagListIds: input.tagListIds,
  };
  const listIds = [input.listId, ...input.tagListIds];
  const outcomes = ctx.outcomes ?? {
    record: (runId: string, ref: ListRef, userId: string, result: UserOutcome) =>
      recordOutcome(sql, runId, ref, userId, result),
    duplicate: (runId: string, ref: ListRef, userId: string, ownerId: string) =>
      recordDuplicate(sql, runId, ref, userId, ownerId),
  };
  const record = async (userId: string, result: UserOutcome) => {
    await outcomes.record(run.runId, list, userId, result);
    if (!run.dryRun) {
      metrics.contacts.inc({ outcome: result.outcome });
      if (result.outcome === 'added' && result.updated) metrics.contactsUpdated.inc();
    }
    ctx.onProgress(1);
  };

  const candidates: { contact: ContactToSync; user: BatchUser }[] = [];
  const unsubscribes: BatchUser[] = [];
  for (const user of pending) {
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
    else await record(user.userId, decision.outcome);
  }

  const owners = await claimEmails(
    sql,
    run.runId,
    candidates.map(({ contact }) => ({
      emailHash: emailHash(contact.email),
      userId: contact.userId,
    })),
  );
  const ownerOf = (contact: ContactToSync) => owners.get(emailHash(contact.email));
  const duplicates = candidates.filter(({ contact }) => ownerOf(contact) !== contact.userId);
  // Contacts a bulk chunk already created are recorded without a request.
  const notYetCreated = await takeBulkCreated(
    sql,
    run.runId,
    list,
    platform,
    candidates
      .filter(({ contact }) => ownerOf(contact) === contact.userId)
      .map(({ contact }) => contact),
    (count) => {
      metrics.contacts.inc({ outcome: 'added' }, count);
      ctx.onProgress(count);
    },
  );
  const allowed = new Set(
    (await withoutPlatformOptOuts(sql, platform, notYetCreated, record)).map((c) => c.userId),
  );
  const owned = candidates.filter(({ contact }) => allowed.has(contact.userId));

  const lastSent = await lastSentFields(
    sql,
    platform.account,
    owned.map(({ contact }) => contact.userId),
  );
  const sendable: Sendable[] = owned.map(({ contact, user }) => {
    const hash = emailHash(contact.email);
    const sent = lastSent.get(contact.userId);
    return {
      contact,
      user,
      emailHash: hash,
      current: {
        ...nameFields(contact.firstName, contact.lastName),
        ...propertyFields(contact.properties),
      },
      lastSeen: sent?.emailHash === hash ? sent.fields : undefined,
    };
  });
  const inEveryList = await membersInEveryList(
    sql,
    run.platform,
    [...new Set(listIds)],
    sendable.map((item) => ({ userId: item.contact.userId, emailHash: item.emailHash })),
  );

  /** Records an added user, first taking its old contact out of the lists if its email changed. */
  const added = async (item: Sendable, contactId: string | null, updated: boolean) => {
    const moved = await moveOffOldContact(ctx, run, listIds, item, contactId);
    if (moved.kind === 'rejected') {
      await record(item.contact.userId, { outcome: 'failed', reason: moved.reason });
      return;
    }
    await record(item.contact.userId, {
      outcome: 'added',
      contactId,
      emailHash: item.emailHash,
      updated,
      fields: { account: platform.account, hashes: fieldsAfterSync(item.current, item.lastSeen) },
    });
  };

  /** Patches contacts, then records each: patched, refused, or (gone meanwhile) to sync again. */
  const patch = async (patches: PendingPatch[], onGone: (item: Sendable) => void) => {
    const byUser = new Map(patches.map((one) => [one.item.contact.userId, one]));
    await platform.patchContacts(
      patches.map(({ item, contactId, fields }) => ({
        contact: { userId: item.contact.userId, email: item.contact.email, contactId },
        fields: patchOfFields(fields),
      })),
      async (userId, outcome) => {
        const one = byUser.get(userId);
        if (!one) return;
        if (outcome.kind === 'done') await added(one.item, one.contactId, true);
        else if (outcome.kind === 'rejected') await record(userId, failedByPlatform(outcome));
        else onGone(one.item);
      },
    );
  };

  // Prepared while the batch before it sent its last users; its requests go now.
  await turn?.ready();

  // Users the ledger has in every list with this email, met before: only changed fields cost a
  // request, and a user whose fields did not change costs none.
  const toSync: Sendable[] = [];
  const presentPatches: PendingPatch[] = [];
  for (const item of sendable) {
    const contactId = inEveryList.get(item.contact.userId);
    if (!contactId || !item.lastSeen) {
      toSync.push(item);
      continue;
    }
    const fields = fieldsToPatch(item.current, { lastSeen: item.lastSeen });
    if (isEmptyPatch(fields)) {
      await record(item.contact.userId, {
        outcome: 'added',
        contactId,
        emailHash: item.emailHash,
      });
    } else presentPatches.push({ item, contactId, fields });
  }
  await patch(presentPatches, (item) => toSync.push(item));

  let unresolved = 0;
  const joinedPatches: PendingPatch[] = [];
  const byUser = new Map(toSync.map((item) => [item.contact.userId, item]));
  await platform.syncContacts(
    toSync.map((item) => item.contact),
    listIds,
    async (userId, contactOutcome) => {
      const item = byUser.get(userId);
      const outcome = outcomeOfContact(contactOutcome);
      if (!item) return;
      if (!outcome) unresolved += 1;
      else if (outcome.outcome !== 'added') await record(userId, outcome);
      // Created with every field it has.
      else if (contactOutcome.kind === 'created') await added(item, outcome.contactId, false);
      else {
        const fields = fieldsToPatch(item.current, {
          lastSeen: item.lastSeen,
          emptyOnPlatform:
            'emptyFields' in contactOutcome && contactOutcome.emptyFields
              ? new Set(contactOutcome.emptyFields)
              : undefined,
        });
        if (isEmptyPatch(fields)) await added(item, outcome.contactId, false);
        else joinedPatches.push({ item, contactId: outcome.contactId, fields });
      }
    },
  );
  await patch(joinedPatches, (item) =>
    record(item.contact.userId, { outcome: 'failed', reason: 'contact_vanished_before_patch' }),
  );
  await platform.markUnsubscribed(
    unsubscribes.map((user) => ({
      userId: user.userId,
      email: user.email,
      contactId: user.listContactId,
    })),
    (userId, changeOutcome) => record(userId, outcomeOfUnsubscribe(changeOutcome)),
  );

  // Users sharing an email with an earlier user are represented by that user's contact.
  for (const { contact } of duplicates) {
    await outcomes.duplicate(run.runId, list, contact.userId, ownerOf(contact) ?? '');
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
 * A user whose email changed since this service put it into the run's list: its old contact
 * leaves the lists the ledger has it in through this user (the contact itself stays). A contact
 * another user of the list still stands for stays.
 */
async function moveOffOldContact(
  ctx: BatchContext,
  run: RunRecord,
  listIds: string[],
  item: Sendable,
  contactId: string | null,
): Promise<ChangeOutcome> {
  const { user } = item;
  const oldContactId = user.listContactId;
  if (!user.inList || !oldContactId) return { kind: 'done' };
  const changed =
    user.listEmailHash !== null
      ? user.listEmailHash !== item.emailHash
      : contactId !== null && contactId !== oldContactId;
  if (!changed) return { kind: 'done' };
  const lists = await listsHoldingOnlyThrough(
    ctx.sql,
    run.platform,
    listIds,
    user.userId,
    oldContactId,
  );
  for (const listId of lists) {
    const results: ChangeOutcome[] = [];
    await ctx.platform.removeFromList(
      [{ userId: user.userId, email: null, contactId: oldContactId }],
      listId,
      async (_userId, outcome) => {
        results.push(outcome);
      },
    );
    for (const result of results) {
      if (result.kind === 'rejected') {
        return { kind: 'rejected', reason: `old_contact_not_removed:${result.reason}` };
      }
    }
  }
  return { kind: 'done' };
}
