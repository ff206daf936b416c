import pLimit from 'p-limit';
import type { SyncCounts } from '../common/sync.js';
import { checkpointBatch, type RunRecord } from '../db/runs.js';
import type { Sql } from '../db/sql.js';
import { metrics } from '../telemetry/metrics.js';
import { type ContactDirectory, emailHash, normaliseEmail } from './contact-directory.js';
import {
  type MarketingPlatform,
  type PlatformResult,
  PlatformUnavailableError,
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
  counts: SyncCounts;
}

export interface BatchContext {
  sql: Sql;
  source: UsersSource;
  platform: MarketingPlatform;
  directory: ContactDirectory;
  batchSize: number;
  /** Requests in flight at once: enough to keep the rate limit busy, few enough to resend little. */
  concurrency: () => number;
  /** Called after each user, so Temporal sees progress (and can deliver cancellation). */
  onProgress: (usersDone: number) => void;
}

type Outcome =
  | { outcome: 'added'; contactId: string | null }
  | { outcome: 'skipped'; reason: string; unsubscribed?: boolean }
  | { outcome: 'failed'; reason: string };

/** A user who may be sent, with the email kept inside this activity. */
interface Candidate {
  user: BatchUser;
  email: string;
}

const platformReason = (result: Exclude<PlatformResult<unknown>, { ok: true }>): string =>
  `rejected_by_platform:${result.code}`;

/** Why a user is not sent at all, decided from the users relation alone. */
function localDecision(user: BatchUser): Outcome | 'send' | 'unsubscribe' {
  if (!user.found) return { outcome: 'skipped', reason: 'not_found' };
  if (user.deleted) return { outcome: 'skipped', reason: 'deleted' };
  if (!user.active) return { outcome: 'skipped', reason: 'inactive' };
  if (user.optedOut) {
    return user.inList && !user.listUnsubscribed
      ? 'unsubscribe'
      : { outcome: 'skipped', reason: 'opted_out' };
  }
  if (!user.validEmail || !user.email) return { outcome: 'failed', reason: 'invalid_email' };
  return 'send';
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
 * filters, each ends as added, skipped or failed (recorded as it happens, with the ledger in the
 * same transaction), and the batch's counts advance the run once. A retry skips users already
 * recorded, so each user is sent at most once per run, apart from requests in flight at a crash.
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
  if (users.length > 0) await sendBatch(ctx, run, input, users);
  const counts = await countOutcomes(
    ctx.sql,
    run.runId,
    users.map((user) => user.userId),
  );
  await checkpointBatch(ctx.sql, run.runId, input.batchNo, cursor, counts);
  metrics.batchDuration.observe((performance.now() - started) / 1000);
  return { cursor, done, counts };
}

async function sendBatch(
  ctx: BatchContext,
  run: RunRecord,
  input: ProcessBatchInput,
  users: BatchUser[],
): Promise<void> {
  const { sql, platform, directory } = ctx;
  const recorded = await recordedUsers(sql, run.runId, users);
  const pending = users.filter((user) => !recorded.has(user.userId));
  if (pending.length === 0) return;

  const listIds = [input.listId, ...input.tagListIds];
  const record = async (user: BatchUser, result: Outcome) => {
    await recordOutcome(sql, run, input.listId, user.userId, result);
    metrics.contacts.inc({ outcome: result.outcome });
    ctx.onProgress(1);
  };

  const candidates: Candidate[] = [];
  const unsubscribes: BatchUser[] = [];
  for (const user of pending) {
    const decision = localDecision(user);
    if (decision === 'send') candidates.push({ user, email: normaliseEmail(user.email ?? '') });
    else if (decision === 'unsubscribe') unsubscribes.push(user);
    else await record(user, decision);
  }

  const owners = await claimEmails(sql, run.runId, candidates);
  const sendable = candidates.filter((c) => owners.get(c.email) === c.user.userId);
  const duplicates = candidates.filter((c) => owners.get(c.email) !== c.user.userId);

  await directory.refresh();
  const known = await directory.lookup(sendable.map((c) => c.email));
  const limit = pLimit(Math.max(1, ctx.concurrency()));

  await Promise.all([
    ...sendable.map((candidate) =>
      limit(async () => {
        const outcome = await sendContact(platform, directory, candidate, listIds, known);
        await record(candidate.user, outcome);
      }),
    ),
    ...unsubscribes.map((user) =>
      limit(async () => {
        const target = user.listContactId ?? user.email;
        const result = target ? await platform.markUnsubscribed(target) : null;
        if (result && !result.ok && result.kind !== 'not_found') {
          await record(user, { outcome: 'failed', reason: platformReason(result) });
        } else {
          await record(user, { outcome: 'skipped', reason: 'opted_out', unsubscribed: true });
        }
      }),
    ),
  ]);

  // Users sharing an email with an earlier user are represented by that user's contact.
  for (const duplicate of duplicates) {
    await recordDuplicate(
      sql,
      run,
      input.listId,
      duplicate.user.userId,
      owners.get(duplicate.email),
    );
    metrics.contacts.inc({ outcome: 'skipped' });
    ctx.onProgress(1);
  }
}

/**
 * Sends one user. A contact known to exist joins the lists through the membership endpoint and
 * is never re-created; an unknown one is created with its lists in one request. After an
 * ambiguous create, the membership endpoint tells whether the first create happened.
 */
async function sendContact(
  platform: MarketingPlatform,
  directory: ContactDirectory,
  { user, email }: Candidate,
  listIds: string[],
  known: Map<string, string>,
): Promise<Outcome> {
  const knownId = known.get(email);
  if (knownId) {
    const joined = await addToLists(platform, knownId, listIds);
    if (joined.ok) return { outcome: 'added', contactId: knownId };
    if (joined.kind !== 'not_found') return { outcome: 'failed', reason: platformReason(joined) };
    await directory.forget(email);
  }
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const created = await platform.createContact(
      { email, firstName: user.firstName, lastName: user.lastName },
      listIds,
    );
    if (created.ok) {
      await directory.remember(email, created.value.contactId);
      return { outcome: 'added', contactId: created.value.contactId };
    }
    if (created.kind !== 'ambiguous') return { outcome: 'failed', reason: platformReason(created) };
    const joined = await addToLists(platform, email, listIds);
    if (joined.ok) return { outcome: 'added', contactId: null };
    if (joined.kind !== 'not_found') return { outcome: 'failed', reason: platformReason(joined) };
  }
  throw new PlatformUnavailableError('creating a contact kept getting ambiguous answers');
}

async function addToLists(
  platform: MarketingPlatform,
  contact: string,
  listIds: string[],
): Promise<PlatformResult<void>> {
  for (const listId of listIds) {
    const result = await platform.addToList(contact, listId);
    if (!result.ok) return result;
  }
  return { ok: true, value: undefined };
}

async function recordedUsers(sql: Sql, runId: string, users: BatchUser[]): Promise<Set<string>> {
  const rows = await sql<{ userId: string }[]>`
    select user_id as "userId" from audience_sync.run_users
    where run_id = ${runId} and user_id = any(${users.map((user) => user.userId)}::text[])`;
  return new Set(rows.map((row) => row.userId));
}

/**
 * Claims each email for the first user (by id) of the run who has it, and returns the owner of
 * each email. Claims happen in id order, so within a batch the earlier user wins too.
 */
async function claimEmails(
  sql: Sql,
  runId: string,
  candidates: Candidate[],
): Promise<Map<string, string>> {
  if (candidates.length === 0) return new Map();
  const hashes = candidates.map((c) => emailHash(c.email));
  await sql`
    insert into audience_sync.run_emails (run_id, email_hash, user_id)
    select ${runId}, claim.email_hash, claim.user_id
    from unnest(${hashes}::text[], ${candidates.map((c) => c.user.userId)}::text[])
      with ordinality as claim(email_hash, user_id, position)
    order by claim.position
    on conflict do nothing`;
  const rows = await sql<{ emailHash: string; userId: string }[]>`
    select email_hash as "emailHash", user_id as "userId" from audience_sync.run_emails
    where run_id = ${runId} and email_hash = any(${hashes}::text[])`;
  const ownerByHash = new Map(rows.map((row) => [row.emailHash, row.userId]));
  const owners = new Map<string, string>();
  candidates.forEach((candidate, index) => {
    const owner = ownerByHash.get(hashes[index] ?? '');
    if (owner) owners.set(candidate.email, owner);
  });
  return owners;
}

/** The outcome and the ledger change it implies, in one transaction. */
async function recordOutcome(
  sql: Sql,
  run: RunRecord,
  listId: string,
  userId: string,
  result: Outcome,
): Promise<void> {
  const reason = result.outcome === 'added' ? null : result.reason;
  await sql.begin(async (tx) => {
    await tx`
      insert into audience_sync.run_users (run_id, user_id, outcome, reason)
      values (${run.runId}, ${userId}, ${result.outcome}, ${reason})
      on conflict do nothing`;
    if (result.outcome === 'added') {
      await tx`
        insert into audience_sync.list_members (platform, list_id, user_id, contact_id)
        values (${run.platform}, ${listId}, ${userId}, ${result.contactId})
        on conflict (platform, list_id, user_id) do update set
          contact_id = coalesce(excluded.contact_id, audience_sync.list_members.contact_id),
          synced_at = now()`;
    }
    if (result.outcome === 'skipped' && result.unsubscribed) {
      await tx`
        update audience_sync.list_members set unsubscribed_at = now()
        where platform = ${run.platform} and list_id = ${listId} and user_id = ${userId}`;
    }
  });
}

/** A duplicate is skipped, and counts as synced for 'new' when its email's owner was added. */
async function recordDuplicate(
  sql: Sql,
  run: RunRecord,
  listId: string,
  userId: string,
  ownerId: string | undefined,
): Promise<void> {
  await sql.begin(async (tx) => {
    await tx`
      insert into audience_sync.run_users (run_id, user_id, outcome, reason)
      values (${run.runId}, ${userId}, 'skipped', 'duplicate_email')
      on conflict do nothing`;
    await tx`
      insert into audience_sync.list_members (platform, list_id, user_id, contact_id)
      select platform, list_id, ${userId}, contact_id from audience_sync.list_members
      where platform = ${run.platform} and list_id = ${listId} and user_id = ${ownerId ?? ''}
      on conflict do nothing`;
  });
}

async function countOutcomes(sql: Sql, runId: string, userIds: string[]): Promise<SyncCounts> {
  const rows = await sql<{ outcome: 'added' | 'skipped' | 'failed'; count: number }[]>`
    select outcome, count(*)::int as count from audience_sync.run_users
    where run_id = ${runId} and user_id = any(${userIds}::text[])
    group by outcome`;
  const counts = { processed: 0, added: 0, failed: 0, skipped: 0 };
  for (const row of rows) {
    counts[row.outcome] = row.count;
    counts.processed += row.count;
  }
  return counts;
}
