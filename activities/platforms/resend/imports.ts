import { setTimeout as sleep } from 'node:timers/promises';
import { csvCell } from '../../../common/csv.js';
import type { BulkCreation, BulkJobResult, BulkStart, ContactToSync } from '../platform.js';
import { platformUnavailable } from '../platform.js';
import type { ResendClient } from './client.js';
import type { ContactDirectory } from './contact-directory.js';

/**
 * Resend's Contact Imports (a beta: accounts without it answer 403 or 404): one CSV of new
 * contacts per job, put into the run's segments, with `on_conflict: skip` so an existing contact
 * is never touched (an upsert resets what the file omits, re-subscribing people).
 *
 * Resend answers an import with counts only, never which rows it skipped or failed. When the
 * counts say every row was created, all were; otherwise the directory learns the newest contacts
 * and, if the contacts it now knows are exactly as many as the import created, those are the
 * created ones. Anything else goes the per-contact way, which finds out for itself.
 */

/**
 * Rows per import. Resend documents 50 MB as the largest file (its API reference; another page
 * says 200 MB): 10,000 rows of even 1 KB each stay a fifth of that, the CSV of one chunk is
 * built in memory, and a chunk the import could not fully account for costs its rows again.
 */
export const IMPORT_MAX_ROWS = 10_000;
/** Refused before sending (and left to the per-contact path): under the 50 MB Resend documents. */
export const IMPORT_MAX_BYTES = 45 * 1024 * 1024;
/**
 * Looks at a running import: every poll is a request against the account's rate limit, so the
 * wait grows from 1 s to at most 5 s (at 10 requests a second, a poll costs 2 % of the budget).
 */
export const IMPORT_POLL_MS = { first: 1000, max: 5000 };

export interface ImportSettings {
  pollMs?: { first: number; max: number };
  signal: AbortSignal;
}

export const IMPORT_COLUMNS = ['email', 'first_name', 'last_name'] as const;

/** The import file: a header, then one row per contact. Built here; it never leaves the activity. */
export function contactsCsv(contacts: ContactToSync[]): string {
  const lines = [IMPORT_COLUMNS.join(',')];
  for (const contact of contacts) {
    lines.push(
      [contact.email, contact.firstName, contact.lastName].map((cell) => csvCell(cell)).join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

/**
 * Which rows of an ended import it created, from its counts and what the directory learned:
 * all when the counts say so; the newly known ones when exactly as many as were created;
 * otherwise none can be told apart.
 */
export function createdRows(
  contacts: ContactToSync[],
  result: BulkJobResult,
  knownAfter: Set<string> | undefined,
): Set<string> {
  const { counts } = result;
  if (result.status === 'completed' && counts.created === contacts.length) {
    return new Set(contacts.map((contact) => contact.userId));
  }
  if (!knownAfter || counts.created === 0) return new Set();
  const known = contacts.filter((contact) => knownAfter.has(contact.email));
  return known.length === counts.created
    ? new Set(known.map((contact) => contact.userId))
    : new Set();
}

const delay = (ms: number, signal: AbortSignal) => sleep(ms, undefined, { signal });

/** Which of these emails the directory knows; `learnNewest`: first the contacts created since. */
async function existingAmong(
  directory: ContactDirectory,
  emails: string[],
  learnNewest: boolean,
): Promise<Set<string>> {
  if (emails.length === 0) return new Set();
  const knownAmong = async () => new Set((await directory.lookup(emails)).keys());
  const known = await knownAmong();
  // Only a chunk with contacts still unknown needs the newest look (the run's preparation had
  // one): a chunk of members already known costs no request.
  if (!learnNewest || known.size === new Set(emails).size) return known;
  await directory.refresh();
  return knownAmong();
}

/** Polls an import until it ended, the wait growing from `pollMs.first` to `pollMs.max`. */
async function waitForImport(
  client: ResendClient,
  jobId: string,
  onPoll: () => void,
  settings: { pollMs: { first: number; max: number }; signal: AbortSignal },
): Promise<BulkJobResult> {
  const { pollMs } = settings;
  let waitMs = pollMs.first;
  for (;;) {
    await delay(waitMs, settings.signal);
    const { answer, kind } = await client.idempotent('contacts.imports.get', (signal) =>
      client.sdk.contacts.imports.get(jobId, { signal }),
    );
    onPoll();
    if (kind === 'not_found') {
      return {
        status: 'failed',
        counts: { total: 0, created: 0, updated: 0, skipped: 0, failed: 0 },
      };
    }
    const job = answer.data;
    if (!job) throw platformUnavailable(`Resend contacts.imports.get answered ${kind}`);
    if (job.status === 'completed' || job.status === 'failed') {
      return { status: job.status, counts: job.counts };
    }
    waitMs = Math.min(pollMs.max, waitMs * 2);
  }
}

/** Starts one import of contacts new to Resend, straight into the lists. */
async function startImport(
  client: ResendClient,
  contacts: ContactToSync[],
  listIds: string[],
): Promise<BulkStart> {
  const csv = contactsCsv(contacts);
  if (Buffer.byteLength(csv) > IMPORT_MAX_BYTES) {
    return { kind: 'refused', reason: 'import_file_too_large' };
  }
  const started = await client.create(
    'contacts.imports.create',
    (signal) =>
      client.sdk.contacts.imports.create(
        {
          file: new Blob([csv], { type: 'text/csv' }),
          columnMap: { email: 'email', firstName: 'first_name', lastName: 'last_name' },
          onConflict: 'skip',
          segments: listIds.map((id) => ({ id })),
        },
        { signal },
      ),
    { refusalIsAnswer: true },
  );
  if (started.kind === 'ambiguous') {
    // The next attempt imports again; with `skip` a repeat creates nothing twice.
    throw platformUnavailable(`Resend contacts.imports.create gave no answer (${started.code})`);
  }
  if (started.kind === 'ok' && started.answer.data) {
    return { kind: 'started', jobId: started.answer.data.id };
  }
  const status = started.answer.error?.statusCode;
  const name = started.answer.error?.name ?? 'unknown';
  // A 404 about a segment is this import's (the per-contact path reports it); any other 404
  // or a 403 says the account has no imports.
  const aboutSegment = /audience|segment|topic/i.test(started.answer.error?.message ?? '');
  if (status === 403 || (status === 404 && !aboutSegment)) {
    return { kind: 'unavailable', reason: `imports_refused:${status}_${name}` };
  }
  return { kind: 'refused', reason: `import_rejected:${status}_${name}` };
}

/**
 * The rows an import created. When it created them all, the directory passes over them (one
 * page, not one per 100 rows: this service knows their emails); when its counts leave doubt,
 * the refreshed directory tells.
 */
async function createdByImport(
  directory: ContactDirectory,
  contacts: ContactToSync[],
  result: BulkJobResult,
): Promise<Set<string>> {
  const all = createdRows(contacts, result, undefined);
  if (all.size === contacts.length && all.size > 0) await directory.passImported();
  if (all.size === contacts.length || result.counts.created === 0) return all;
  await directory.refresh();
  return createdRows(
    contacts,
    result,
    new Set((await directory.lookup(contacts.map((contact) => contact.email))).keys()),
  );
}

export function createContactImports(
  client: ResendClient,
  directory: ContactDirectory,
  settings: ImportSettings,
): BulkCreation {
  const pollMs = settings.pollMs ?? IMPORT_POLL_MS;
  return {
    maxContacts: IMPORT_MAX_ROWS,
    existing: (emails, { learnNewest }) => existingAmong(directory, emails, learnNewest),
    start: (contacts, listIds) => startImport(client, contacts, listIds),
    wait: (jobId, onPoll) => waitForImport(client, jobId, onPoll, { ...settings, pollMs }),
    created: (contacts, result) => createdByImport(directory, contacts, result),
  };
}
