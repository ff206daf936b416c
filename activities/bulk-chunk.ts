import { emailHash, normaliseEmail } from '../common/emails.js';
import { hashFields, nameFields } from '../common/field-changes.js';
import { emptyCounts, type SyncProgress } from '../common/sync.js';
import {
  type BulkChunk,
  bulkCreatedAmong,
  bulkUnavailableReason,
  getBulkChunk,
  markBulkChunkImporting,
  prepareBulkChunk,
  recordBulkCreated,
  rememberBulkUnavailable,
  setRunBulkMode,
  settleBulkChunk,
  unrecordedBulkCreated,
} from '../db/bulk.js';
import { recordSentEmails, tombstonedEmailHashes } from '../db/erasures.js';
import { type ListRef, recordedUsers } from '../db/outcomes.js';
import { checkpointBatch, type RunRecord } from '../db/runs.js';
import type { Sql } from '../db/sql.js';
import { type BatchUser, readUsersById, type UsersSource } from '../db/users-source.js';
import { scopeOf } from './plan/apply-plan.js';
import { readBatchFacts } from './plan/batch-facts.js';
import { planBatchUsers } from './plan/plan-batch.js';
import type { BulkCreation, ContactToSync, MarketingPlatform } from './platforms/platform.js';
import { type BatchContext, processBatch, readRunUsers } from './sync-batch.js';

/**
 * The bulk pass of a run, before its batch pass: the next chunk of users after the cursor is
 * read, and those the platform does not have are created in one bulk job (Resend: a Contact
 * Import). The job's id is stored before it is awaited, so a retried attempt waits on the same
 * job instead of starting another. Users the job created are noted; then the chunk's users go
 * through the ordinary checkpointed batches (SYNC_BATCH_SIZE each, numbered as the run's
 * batches), inside this activity: noted users are recorded as added without a request, and
 * everyone else (existing contacts, duplicates, opt-outs, rows the job skipped or failed) is
 * handled one by one, as always. A retried attempt runs those batches again from the chunk's
 * start: recorded users are skipped and a repeated checkpoint adds nothing.
 */

export interface BulkChunkInput {
  runId: string;
  chunkNo: number;
  /** The run's cursor: the last user id of its last checkpointed batch; null for the first. */
  cursor: string | null;
  /** The run's last checkpointed batch. */
  batchNo: number;
  listId: string;
  tagListIds: string[];
}

export interface BulkChunkOutput {
  /** The run's cursor and last batch after this chunk's batches. */
  cursor: string | null;
  batchNo: number;
  /** The run's progress after them; absent when no batch ran. */
  progress?: SyncProgress;
  /** The population ended within this chunk: the run is done. */
  populationDone: boolean;
  /** No chunk follows: the population ended, or bulk creation is not used for this run. */
  bulkDone: boolean;
  /** Users of this chunk whose contacts the job created. */
  created: number;
  /**
   * The chunk stopped early, as asked (a pause or a cancellation of the run): before its import
   * started, or after an inner batch. The run keeps its cursor and takes the chunk up again.
   */
  stopped?: true;
}

export interface BulkChunkContext {
  sql: Sql;
  source: UsersSource;
  platform: MarketingPlatform;
  /** SYNC_BATCH_SIZE: a chunk is a whole number of batches. */
  batchSize: number;
  /** Called with each user whose outcome a batch recorded. */
  onUsers: (count: number) => void;
  /** Called as work goes on, so Temporal sees the attempt alive. */
  onProgress: () => void;
  /** True once the run asked the chunk to stop (it stops at the next inner batch boundary). */
  stopRequested: () => boolean;
}

/** An account that refused bulk creation is asked again after this long. */
export const BULK_UNAVAILABLE_HOURS = 24;

const notUsed = (input: BulkChunkInput): BulkChunkOutput => ({
  cursor: input.cursor,
  batchNo: input.batchNo,
  populationDone: false,
  bulkDone: true,
  created: 0,
});

/** A chunk stopped before anything of it was done. */
const stoppedAt = (input: BulkChunkInput): BulkChunkOutput => ({
  cursor: input.cursor,
  batchNo: input.batchNo,
  populationDone: false,
  bulkDone: false,
  created: 0,
  stopped: true,
});

/**
 * The chunk's users through the run's ordinary batches: until a batch ends where the chunk
 * ended, or the population does; never more batches than a chunk holds. A stop asked for takes
 * effect between two batches, as in the run's batch pass.
 */
async function runBatches(
  ctx: BulkChunkContext,
  run: RunRecord,
  input: BulkChunkInput,
  chunk: { cursorAfter: string | null; size: number },
): Promise<Omit<BulkChunkOutput, 'bulkDone' | 'created'>> {
  const batchContext: BatchContext = {
    sql: ctx.sql,
    source: ctx.source,
    platform: ctx.platform,
    batchSize: ctx.batchSize,
    onProgress: ctx.onUsers,
  };
  let cursor = input.cursor;
  let batchNo = input.batchNo;
  let progress: SyncProgress | undefined;
  const batches = Math.max(1, Math.ceil(chunk.size / ctx.batchSize));
  for (let index = 0; index < batches; index += 1) {
    if (ctx.stopRequested()) {
      return {
        cursor,
        batchNo,
        ...(progress ? { progress } : {}),
        populationDone: false,
        stopped: true,
      };
    }
    batchNo += 1;
    const result = await processBatch(batchContext, run, {
      runId: run.runId,
      batchNo,
      cursor,
      listId: input.listId,
      tagListIds: input.tagListIds,
    });
    cursor = result.cursor;
    progress = result.progress;
    if (result.done || cursor === chunk.cursorAfter || index === batches - 1) {
      return { cursor, batchNo, progress: result.progress, populationDone: result.done };
    }
  }
  throw new Error('a chunk ran no batch');
}

async function readChunk(
  sql: Sql,
  source: UsersSource,
  account: string,
  run: RunRecord,
  input: BulkChunkInput,
  limit: number,
): Promise<BatchUser[]> {
  const query = {
    platform: run.platform,
    account: account,
    listId: input.listId,
    filter: { filterActive: run.filterActive, activeSince: run.activeSince.toISOString() },
    cursor: input.cursor,
    limit,
    properties: run.properties,
  };
  return readRunUsers(sql, source, run, { ...query, tagListIds: input.tagListIds });
}

const contactOf = (user: BatchUser): ContactToSync => ({
  userId: user.userId,
  email: normaliseEmail(user.email ?? ''),
  firstName: user.firstName,
  lastName: user.lastName,
  properties: user.properties,
});

/**
 * The users of the chunk that the job should create: those the batch's plan would create
 * (sendable, not yet recorded, owners of their email in this run, nothing the platform said
 * against them, unknown to its directory), unless the platform turns out to have them. The rest
 * is the chunk's batches' to plan again and apply one by one.
 */
async function newContactsOf(
  ctx: BulkChunkContext,
  bulk: BulkCreation,
  run: RunRecord,
  input: BulkChunkInput,
  users: BatchUser[],
): Promise<ContactToSync[]> {
  const recorded = await recordedUsers(
    ctx.sql,
    run.runId,
    users.map((user) => user.userId),
  );
  const scope = scopeOf({ ...ctx, onProgress: () => {} }, run, input);
  const facts = await readBatchFacts(
    scope,
    users.filter((user) => !recorded.has(user.userId)),
  );
  const creates = planBatchUsers(facts).flatMap(({ action }) =>
    action.kind === 'create' ? [action.send.user] : [],
  );
  ctx.onProgress();
  const existing = await bulk.existing(
    creates.map((user) => contactOf(user).email),
    { learnNewest: input.chunkNo === 1 },
  );
  return creates.map(contactOf).filter((contact) => !existing.has(contact.email));
}

/** The chunk as stored, with its contacts read again from the users relation (they never leave it). */
async function contactsOfChunk(
  ctx: BulkChunkContext,
  run: RunRecord,
  input: BulkChunkInput,
  chunk: BulkChunk,
  limit: number,
): Promise<ContactToSync[]> {
  const members = new Set(chunk.userIds);
  const users = await readChunk(ctx.sql, ctx.source, ctx.platform.account, run, input, limit);
  return users
    .filter((user) => members.has(user.userId) && user.email && user.validEmail)
    .map(contactOf);
}

/**
 * The chunk's contacts an import may create now, each user's email noted as sent (an erasure
 * finds the contact by it later, whatever the retention): without users erased since the chunk
 * was prepared.
 */
async function noteSendable(sql: Sql, contacts: ContactToSync[]): Promise<ContactToSync[]> {
  const erased = await tombstonedEmailHashes(
    sql,
    contacts.map((c) => emailHash(c.email)),
  );
  const sendable = contacts.filter((contact) => !erased.has(emailHash(contact.email)));
  await recordSentEmails(
    sql,
    sendable.map((contact) => ({ userId: contact.userId, emailHash: emailHash(contact.email) })),
  );
  return sendable;
}

/**
 * The users the import created, without those erased while it ran: the erasure found no
 * contact to delete then, so theirs are deleted here, and the batch pass skips them as erased.
 * (A delete the platform refuses leaves that contact; the user is skipped all the same.)
 */
async function undoErasedCreates(
  ctx: BulkChunkContext,
  contacts: ContactToSync[],
  created: Set<string>,
): Promise<Set<string>> {
  const made = contacts.filter((contact) => created.has(contact.userId));
  const erased = await tombstonedEmailHashes(
    ctx.sql,
    made.map((c) => emailHash(c.email)),
  );
  if (erased.size === 0) return created;
  const undone = made.filter((contact) => erased.has(emailHash(contact.email)));
  const ids = (await ctx.platform.knownContacts?.([...erased])) ?? new Map<string, string>();
  await ctx.platform.deleteContacts(
    undone.map((contact) => ({
      userId: contact.userId,
      email: contact.email,
      contactId: ids.get(emailHash(contact.email)) ?? null,
    })),
    async () => ctx.onProgress(),
  );
  await ctx.platform.forgetContacts?.([...erased]);
  const undoneIds = new Set(undone.map((contact) => contact.userId));
  return new Set([...created].filter((userId) => !undoneIds.has(userId)));
}

/**
 * How the run creates contacts, known before any chunk: by the platform's bulk creation, or one
 * by one and why (bulk creation is off or not offered, or the run maps properties). With `bulk`,
 * a chunk still finds out whether the account can use it.
 */
export function bulkCreationOf(
  platform: Pick<MarketingPlatform, 'name' | 'bulk'>,
  run: Pick<RunRecord, 'properties'>,
): { bulk: BulkCreation; perContact?: never } | { bulk?: never; perContact: string } {
  if (!platform.bulk) {
    return { perContact: `Bulk creation on ${platform.name} is switched off or not offered` };
  }
  // Imports do not carry mapped properties yet: such runs create contacts with them, one by one.
  if (Object.keys(run.properties).length > 0) {
    return { perContact: 'Runs that map properties create contacts one by one' };
  }
  return { bulk: platform.bulk };
}

export async function processBulkChunk(
  ctx: BulkChunkContext,
  run: RunRecord,
  input: BulkChunkInput,
): Promise<BulkChunkOutput> {
  const { sql, platform } = ctx;
  const perContact = async (note: string) => {
    await setRunBulkMode(sql, run.runId, 'per_contact', note);
    return notUsed(input);
  };
  const { bulk, perContact: byDesign } = bulkCreationOf(platform, run);
  if (!bulk) return perContact(byDesign);
  const refusedBefore = await bulkUnavailableReason(
    sql,
    platform.name,
    platform.account,
    BULK_UNAVAILABLE_HOURS,
  );
  if (refusedBefore && !(await getBulkChunk(sql, run.runId, input.chunkNo))) {
    return perContact(
      `The account cannot use bulk creation (${refusedBefore}); contacts are created one by one`,
    );
  }

  // Whole batches, so the batch pass after the last chunk starts where a chunk ended.
  const limit = Math.max(ctx.batchSize, bulk.maxContacts - (bulk.maxContacts % ctx.batchSize));
  const { chunk, contacts } = await chunkOf(ctx, bulk, run, input, limit);
  const settledChunk = async (
    created: number,
    bulkDone = chunk.populationDone,
  ): Promise<BulkChunkOutput> => {
    const { cursorAfter } = chunk;
    const batches = await runBatches(ctx, run, input, { cursorAfter, size: limit });
    // A chunk that stopped between two batches is not done.
    return { ...batches, bulkDone: batches.stopped ? false : bulkDone, created };
  };
  if (chunk.status === 'settled') return settledChunk(0);
  // An import not started yet is not started now: the chunk taken up again starts it.
  if (!chunk.importId && ctx.stopRequested()) return stoppedAt(input);
  const imported = await importChunk(
    ctx,
    bulk,
    run,
    input,
    chunk,
    contacts ?? (await contactsOfChunk(ctx, run, input, chunk, limit)),
  );
  if (imported.kind === 'created') return settledChunk(imported.created);
  await perContact(
    `The account cannot use bulk creation (${imported.reason}); contacts are created one by one`,
  );
  return settledChunk(0, true);
}

/** The chunk as stored, or read and stored now with the contacts its import should create. */
async function chunkOf(
  ctx: BulkChunkContext,
  bulk: BulkCreation,
  run: RunRecord,
  input: BulkChunkInput,
  limit: number,
): Promise<{ chunk: BulkChunk; contacts?: ContactToSync[] }> {
  const stored = await getBulkChunk(ctx.sql, run.runId, input.chunkNo);
  if (stored) return { chunk: stored };
  const users = await readChunk(ctx.sql, ctx.source, ctx.platform.account, run, input, limit);
  const contacts = await newContactsOf(ctx, bulk, run, input, users);
  const chunk = await prepareBulkChunk(ctx.sql, {
    runId: run.runId,
    chunkNo: input.chunkNo,
    cursorAfter: users.at(-1)?.userId ?? input.cursor,
    populationDone: users.length < limit,
    userIds: contacts.map((contact) => contact.userId),
  });
  return { chunk, contacts };
}

/**
 * The chunk's import, started once (its id stored before it is awaited) and waited on to its
 * end; a stop asked for meanwhile waits too, since the import writes to the lists either way.
 * Settles the chunk with the users it created.
 */
async function importChunk(
  ctx: BulkChunkContext,
  bulk: BulkCreation,
  run: RunRecord,
  input: BulkChunkInput,
  chunk: BulkChunk,
  contacts: ContactToSync[],
): Promise<{ kind: 'created'; created: number } | { kind: 'unavailable'; reason: string }> {
  const { sql, platform } = ctx;
  let jobId = chunk.importId;
  if (chunk.status === 'prepared' || !jobId) {
    contacts = await noteSendable(sql, contacts);
    const started = await bulk.start(contacts, [input.listId, ...input.tagListIds]);
    if (started.kind === 'unavailable') {
      await rememberBulkUnavailable(sql, platform.name, platform.account, started.reason);
      await settleBulkChunk(sql, run.runId, input.chunkNo, {}, []);
      return { kind: 'unavailable', reason: started.reason };
    }
    if (started.kind === 'refused') {
      await settleBulkChunk(sql, run.runId, input.chunkNo, {}, []);
      return { kind: 'created', created: 0 };
    }
    jobId = started.jobId;
    await markBulkChunkImporting(sql, run.runId, input.chunkNo, jobId);
  }
  await setRunBulkMode(sql, run.runId, 'imports', 'New contacts are created by bulk imports');
  const result = await bulk.wait(jobId, ctx.onProgress);
  const created = await undoErasedCreates(ctx, contacts, await bulk.created(contacts, result));
  await settleBulkChunk(sql, run.runId, input.chunkNo, { ...result.counts }, [...created]);
  return { kind: 'created', created: created.size };
}

/**
 * For the batch pass: records the contacts a bulk chunk created as added (no request), and
 * answers the others, which are sent as usual. Their contact ids come from the platform's
 * directory when it already learned them (it lists the account's newest contacts after an
 * import it could not fully account for, and before any batch that sends one by one): a
 * look-up in Postgres, no request. Unknown ids stay null, as before.
 */
export async function takeBulkCreated(
  sql: Sql,
  runId: string,
  list: ListRef,
  platform: Pick<MarketingPlatform, 'account' | 'knownContacts'>,
  contacts: ContactToSync[],
  onRecorded: (count: number) => void,
): Promise<ContactToSync[]> {
  const created = await bulkCreatedAmong(
    sql,
    runId,
    contacts.map((contact) => contact.userId),
  );
  if (created.size === 0) return contacts;
  const candidates = contacts
    .filter((contact) => created.has(contact.userId))
    .map((contact) => ({ contact, emailHash: emailHash(contact.email) }));
  // Users erased since go the per-contact way, which skips them as erased.
  const erased = await tombstonedEmailHashes(
    sql,
    candidates.map((one) => one.emailHash),
  );
  const createdContacts = candidates.filter((one) => !erased.has(one.emailHash));
  const contactIds =
    (await platform.knownContacts?.(createdContacts.map((one) => one.emailHash))) ?? new Map();
  // Created with its names (imports carry no properties), which later runs compare with the app's.
  await recordBulkCreated(
    sql,
    runId,
    list,
    platform.account,
    createdContacts.map(({ contact, emailHash: hash }) => ({
      userId: contact.userId,
      emailHash: hash,
      contactId: contactIds.get(hash) ?? null,
      fieldHashes: hashFields(nameFields(contact.firstName, contact.lastName)),
    })),
  );
  onRecorded(createdContacts.length);
  const recorded = new Set(createdContacts.map((one) => one.contact.userId));
  return contacts.filter((contact) => !recorded.has(contact.userId));
}

/**
 * The checkpoint of users recorded at a run's end rather than by a batch (batches count from 1):
 * inserted once, so the end recorded again (a retried activity) counts nobody twice.
 */
const END_OF_RUN_BATCH = 0;

/**
 * At the end of a run that stopped short of its population (cancelled, failed): users whose
 * contacts a chunk's import created, and so put into the list and its tags, but that no batch
 * recorded yet, are recorded as added now (no request), so the ledger names every contact the
 * run put there (as made by it) and the counts say so.
 */
export async function recordBulkLeftovers(
  ctx: Pick<BulkChunkContext, 'sql' | 'source' | 'platform'>,
  run: RunRecord,
  tagListIds: string[],
): Promise<void> {
  if (!run.listId || run.dryRun) return;
  const userIds = await unrecordedBulkCreated(ctx.sql, run.runId);
  if (userIds.length === 0) return;
  const list: ListRef = { platform: run.platform, listId: run.listId, tagListIds };
  const users = await readUsersById(ctx.sql, ctx.source, list, userIds);
  const contacts = users.filter((user) => user.email && user.validEmail).map(contactOf);
  // Counted first, once; recorded after (a repeat records what is still missing).
  const counts = { ...emptyCounts(), processed: contacts.length, added: contacts.length };
  await checkpointBatch(ctx.sql, run.runId, END_OF_RUN_BATCH, null, counts);
  await takeBulkCreated(ctx.sql, run.runId, list, ctx.platform, contacts, () => {});
}
