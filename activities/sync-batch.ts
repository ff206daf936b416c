import type { SyncProgress } from '../common/sync.js';
import {
  claimEmails,
  countOutcomes,
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
import { decideLocally } from './eligibility.js';
import { emailHash, normaliseEmail } from './emails.js';
import { withoutPlatformOptOuts } from './platform-consent.js';
import {
  type ChangeOutcome,
  type ContactOutcome,
  type ContactToSync,
  type MarketingPlatform,
  platformUnavailable,
} from './platforms/platform.js';
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
}

async function readBatch(ctx: BatchContext, run: RunRecord, input: ProcessBatchInput) {
  const query = {
    platform: run.platform,
    listId: input.listId,
    filter: { filterActive: run.filterActive, activeSince: run.activeSince.toISOString() },
    cursor: input.cursor,
    limit: ctx.batchSize,
  };
  return run.syncType === 'specific'
    ? readRequestedBatch(ctx.sql, ctx.source, { ...query, runId: run.runId })
    : readPopulationBatch(ctx.sql, ctx.source, { ...query, onlyNew: run.syncType === 'new' });
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
  const users = await readBatch(ctx, run, input);
  const cursor = users.at(-1)?.userId ?? input.cursor;
  const done = users.length < ctx.batchSize;
  if (users.length > 0) await syncUsers(ctx, run, input, users);
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
      return { outcome: 'failed', reason: outcome.reason };
    case 'ambiguous':
      return undefined;
  }
}

/** An opted-out user's unsubscribe, as its outcome: a contact already gone needs nothing. */
export const outcomeOfUnsubscribe = (outcome: ChangeOutcome): UserOutcome =>
  outcome.kind === 'rejected'
    ? { outcome: 'failed', reason: outcome.reason }
    : { outcome: 'skipped', reason: 'opted_out', unsubscribed: true };

async function syncUsers(
  ctx: BatchContext,
  run: RunRecord,
  input: ProcessBatchInput,
  users: BatchUser[],
): Promise<void> {
  const { sql, platform } = ctx;
  const recorded = await recordedUsers(
    sql,
    run.runId,
    users.map((user) => user.userId),
  );
  const pending = users.filter((user) => !recorded.has(user.userId));
  if (pending.length === 0) return;

  const list: ListRef = { platform: run.platform, listId: input.listId };
  const record = async (userId: string, result: UserOutcome) => {
    await recordOutcome(sql, run.runId, list, userId, result);
    metrics.contacts.inc({ outcome: result.outcome });
    ctx.onProgress(1);
  };

  const candidates: ContactToSync[] = [];
  const unsubscribes: BatchUser[] = [];
  for (const user of pending) {
    const decision = decideLocally(user);
    if (decision.action === 'send') {
      candidates.push({
        userId: user.userId,
        email: normaliseEmail(user.email ?? ''),
        firstName: user.firstName,
        lastName: user.lastName,
      });
    } else if (decision.action === 'unsubscribe') unsubscribes.push(user);
    else await record(user.userId, decision.outcome);
  }

  const owners = await claimEmails(
    sql,
    run.runId,
    candidates.map((c) => ({ emailHash: emailHash(c.email), userId: c.userId })),
  );
  const ownerOf = (c: ContactToSync) => owners.get(emailHash(c.email));
  const duplicates = candidates.filter((c) => ownerOf(c) !== c.userId);
  // Contacts a bulk chunk already created are recorded without a request.
  const notYetCreated = await takeBulkCreated(
    sql,
    run.runId,
    list,
    candidates.filter((c) => ownerOf(c) === c.userId),
    (count) => {
      metrics.contacts.inc({ outcome: 'added' }, count);
      ctx.onProgress(count);
    },
  );
  const sendable = await withoutPlatformOptOuts(sql, platform, notYetCreated, record);

  let unresolved = 0;
  await platform.syncContacts(
    sendable,
    [input.listId, ...input.tagListIds],
    async (userId, contactOutcome) => {
      const outcome = outcomeOfContact(contactOutcome);
      if (outcome) await record(userId, outcome);
      else unresolved += 1;
    },
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
  for (const duplicate of duplicates) {
    await recordDuplicate(sql, run.runId, list, duplicate.userId, ownerOf(duplicate) ?? '');
    metrics.contacts.inc({ outcome: 'skipped' });
    ctx.onProgress(1);
  }
  if (unresolved > 0) {
    throw platformUnavailable(
      `${unresolved} contacts got only ambiguous answers; the batch is retried for them`,
    );
  }
}
