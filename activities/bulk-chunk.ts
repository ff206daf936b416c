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
} from '../db/bulk.js';
import { consentOf } from '../db/consent.js';
import { claimEmails, type ListRef, recordedUsers } from '../db/outcomes.js';
import type { RunRecord } from '../db/runs.js';
import type { Sql } from '../db/sql.js';
import { decideLocally } from './eligibility.js';
import { emailHash, normaliseEmail } from './emails.js';
import type { BulkCreation, ContactToSync, MarketingPlatform } from './platforms/platform.js';
import {
  type BatchUser,
  readPopulationBatch,
  readRequestedBatch,
  type UsersSource,
} from './users-source.js';

/**
 * The bulk pass of a run, before its batch pass: the next chunk of users after the cursor is
 * read, and those the platform does not have are created in one bulk job (Resend: a Contact
 * Import). The job's id is stored before it is awaited, so a retried attempt waits on the same
 * job instead of starting another. Users the job created are noted, and the batch pass records
 * them as added without a request; everyone else (existing contacts, duplicates, opt-outs,
 * rows the job skipped or failed) is left to the batch pass, which handles them one by one.
 */

export interface BulkChunkInput {
  runId: string;
  chunkNo: number;
  /** The last user id the previous chunk read; null for the first. */
  cursor: string | null;
  listId: string;
  tagListIds: string[];
}

export interface BulkChunkOutput {
  cursor: string | null;
  /** No chunk follows: the population ended, or bulk creation is not used for this run. */
  done: boolean;
  /** Users of this chunk whose contacts the job created. */
  created: number;
}

export interface BulkChunkContext {
  sql: Sql;
  source: UsersSource;
  platform: MarketingPlatform;
  /** Called as work goes on, so Temporal sees the attempt alive. */
  onProgress: () => void;
}

/** An account that refused bulk creation is asked again after this long. */
export const BULK_UNAVAILABLE_HOURS = 24;

const finished = (cursor: string | null): BulkChunkOutput => ({ cursor, done: true, created: 0 });

async function readChunk(
  sql: Sql,
  source: UsersSource,
  run: RunRecord,
  input: BulkChunkInput,
  limit: number,
): Promise<BatchUser[]> {
  const query = {
    platform: run.platform,
    listId: input.listId,
    filter: { filterActive: run.filterActive, activeSince: run.activeSince.toISOString() },
    cursor: input.cursor,
    limit,
    properties: run.properties,
  };
  return run.syncType === 'specific'
    ? readRequestedBatch(sql, source, { ...query, runId: run.runId })
    : readPopulationBatch(sql, source, { ...query, onlyNew: run.syncType === 'new' });
}

const contactOf = (user: BatchUser): ContactToSync => ({
  userId: user.userId,
  email: normaliseEmail(user.email ?? ''),
  firstName: user.firstName,
  lastName: user.lastName,
  properties: user.properties,
});

/**
 * The users of the chunk that the job should create: sendable, not yet recorded, owners of their
 * email in this run, unknown to the platform.
 */
async function newContactsOf(
  ctx: BulkChunkContext,
  bulk: BulkCreation,
  run: RunRecord,
  users: BatchUser[],
  learnNewest: boolean,
): Promise<ContactToSync[]> {
  const recorded = await recordedUsers(
    ctx.sql,
    run.runId,
    users.map((user) => user.userId),
  );
  const candidates = users
    .filter((user) => !recorded.has(user.userId) && decideLocally(user).action === 'send')
    .map(contactOf);
  const owners = await claimEmails(
    ctx.sql,
    run.runId,
    candidates.map((contact) => ({ emailHash: emailHash(contact.email), userId: contact.userId })),
  );
  const owned = candidates.filter(
    (contact) => owners.get(emailHash(contact.email)) === contact.userId,
  );
  // What the platform said of a contact (unsubscribed, deleted, suppressed) is the batch pass's
  // to decide: such users are never imported.
  const facts = await consentOf(
    ctx.sql,
    ctx.platform.name,
    ctx.platform.account,
    owned.map((contact) => emailHash(contact.email)),
  );
  const withoutFacts = owned.filter((contact) => !facts.has(emailHash(contact.email)));
  ctx.onProgress();
  const existing = await bulk.existing(
    withoutFacts.map((contact) => contact.email),
    { learnNewest },
  );
  return withoutFacts.filter((contact) => !existing.has(contact.email));
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
  const users = await readChunk(ctx.sql, ctx.source, run, input, limit);
  return users
    .filter((user) => members.has(user.userId) && user.email && user.validEmail)
    .map(contactOf);
}

export async function processBulkChunk(
  ctx: BulkChunkContext,
  run: RunRecord,
  input: BulkChunkInput,
): Promise<BulkChunkOutput> {
  const { sql, platform } = ctx;
  const bulk = platform.bulk;
  const perContact = async (note: string) => {
    await setRunBulkMode(sql, run.runId, 'per_contact', note);
    return finished(input.cursor);
  };
  if (!bulk) {
    return perContact(`Bulk creation on ${platform.name} is switched off or not offered`);
  }
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

  let chunk = await getBulkChunk(sql, run.runId, input.chunkNo);
  let contacts: ContactToSync[] | undefined;
  if (!chunk) {
    const users = await readChunk(ctx.sql, ctx.source, run, input, bulk.maxContacts);
    contacts = await newContactsOf(ctx, bulk, run, users, input.chunkNo === 1);
    chunk = await prepareBulkChunk(sql, {
      runId: run.runId,
      chunkNo: input.chunkNo,
      cursorAfter: users.at(-1)?.userId ?? input.cursor,
      populationDone: users.length < bulk.maxContacts,
      userIds: contacts.map((contact) => contact.userId),
    });
  }
  const output = { cursor: chunk.cursorAfter, done: chunk.populationDone };
  if (chunk.status === 'settled') return { ...output, created: 0 };
  contacts ??= await contactsOfChunk(ctx, run, input, chunk, bulk.maxContacts);

  let jobId = chunk.importId;
  if (chunk.status === 'prepared' || !jobId) {
    const started = await bulk.start(contacts, [input.listId, ...input.tagListIds]);
    if (started.kind === 'unavailable') {
      await rememberBulkUnavailable(sql, platform.name, platform.account, started.reason);
      await settleBulkChunk(sql, run.runId, input.chunkNo, {}, []);
      return perContact(
        `The account cannot use bulk creation (${started.reason}); contacts are created one by one`,
      );
    }
    if (started.kind === 'refused') {
      await settleBulkChunk(sql, run.runId, input.chunkNo, {}, []);
      return { ...output, created: 0 };
    }
    jobId = started.jobId;
    await markBulkChunkImporting(sql, run.runId, input.chunkNo, jobId);
  }
  await setRunBulkMode(sql, run.runId, 'imports', 'New contacts are created by bulk imports');
  const result = await bulk.wait(jobId, ctx.onProgress);
  const created = await bulk.created(contacts, result);
  await settleBulkChunk(sql, run.runId, input.chunkNo, { ...result.counts }, [...created]);
  return { ...output, created: created.size };
}

/**
 * For the batch pass: records the contacts a bulk chunk created as added (no request), and
 * answers the others, which are sent as usual.
 */
export async function takeBulkCreated<Contact extends { userId: string }>(
  sql: Sql,
  runId: string,
  list: ListRef,
  contacts: Contact[],
  onRecorded: (count: number) => void,
): Promise<Contact[]> {
  const created = await bulkCreatedAmong(
    sql,
    runId,
    contacts.map((contact) => contact.userId),
  );
  if (created.size === 0) return contacts;
  await recordBulkCreated(sql, runId, list, [...created]);
  onRecorded(created.size);
  return contacts.filter((contact) => !created.has(contact.userId));
}
