import { emailHash, normaliseEmail } from '../../../common/emails.js';
import { withAdvisoryLock } from '../../../db/advisory-lock.js';
import { recordUnsubscribedFlags } from '../../../db/consent.js';
import type { Sql } from '../../../db/sql.js';
import { type LearnedContacts, type LearnedCursor, platformUnavailable } from '../platform.js';
import { timestampMs } from './answers.js';
import type { ResendClient } from './client.js';

/**
 * Which contacts already exist on the platform account, keyed by a hash of the normalised email.
 *
 * A sync must never create a contact that exists (Resend's create resets omitted fields, which
 * re-subscribes people), yet asking per user doubles the requests. So the directory is loaded once
 * per account (one request per 100 contacts), kept in Postgres across runs, and refreshed before
 * each batch from the newest end of the platform's list: one request, and one more per 100
 * contacts created since. Older contacts are not read again by runs (what changed on them without
 * a webhook is the daily reconciliation's to learn), so a run's directory cost is what changed.
 */

interface DirectoryState {
  complete: boolean;
  resumeAfter: string | null;
  watermark: string | null;
  watermarkId: string | null;
}

type Contact = {
  id: string;
  email: string;
  createdAt: string;
  unsubscribed: boolean;
  emptyFields: string[];
};

/** A contact the directory knows: its id, and which names were empty when it was listed. */
export interface KnownContact {
  id: string;
  /** Field keys (`first_name`, `last_name`); null when the directory never listed it. */
  emptyFields: string[] | null;
}

/** From the newest, older than `after`, or newer than `before`. */
type ContactCursor = { after: string } | { before: string };

interface ContactPage {
  contacts: Contact[];
  hasMore: boolean;
  /** When it was asked for: the flags it shows held at least then. */
  observedAt: Date;
}

export interface ContactDirectory {
  /** The platform account whose contacts these are (a hash of its key). */
  account: string;
  /** Loads every contact of the account once; resumable page by page. */
  load(onPage?: () => void): Promise<{ pages: number }>;
  /**
   * Learns the contacts created since the last look (loading the whole directory first if it
   * never was). With `shared`, a refresh of the account this process began less than
   * REFRESH_SHARED_WITHIN_MS ago serves instead (its pages are not counted again).
   */
  refresh(options?: { shared?: boolean }): Promise<{ pages: number }>;
  lookup(emails: string[]): Promise<Map<string, KnownContact>>;
  remember(email: string, contactId: string): Promise<void>;
  forget(email: string): Promise<void>;
  /**
   * Contact ids by email hash, for callers that only have hashes (erasure). `readUnread`: these
   * contacts exist on the platform, so one the directory lacks has the unread range read first.
   */
  lookupHashes(
    emailHashes: string[],
    options?: { readUnread?: boolean },
  ): Promise<Map<string, string>>;
  /** After an import created its rows: the newest page only; the rest of it is left unread. */
  passImported(): Promise<{ pages: number }>;
  /** Whether some contacts (an import's) were passed over unread: an unknown email may exist. */
  hasUnread(): Promise<boolean>;
  /** Reads the contacts passed over unread after imports, if any (one request per 100). */
  readUnread(): Promise<{ pages: number }>;
  /** Asks Resend for this email's contact (one request), and remembers it. */
  findOnPlatform(email: string): Promise<(KnownContact & { unsubscribed: boolean }) | undefined>;
  /** Reads one page from `after` (the newest when absent) and remembers its contacts. */
  readPage(after: string | undefined): Promise<{ ids: string[]; hasMore: boolean } | undefined>;
  /** Every page was read from `readFrom` on: an unread range opened before then is read. */
  closeUnread(readFrom: string): Promise<void>;
  forgetHashes(emailHashes: string[]): Promise<void>;
  /**
   * Contacts learned after `cursor`, in the order learned, at most `limit` (from a transaction
   * on: `{ xid, emailHash: '' }`).
   */
  learnedSince(cursor: LearnedCursor, limit: number): Promise<LearnedContacts>;
  /** A contact this service marked unsubscribed, as a page listing it now would say. */
  noteUnsubscribed(contact: { email: string | null; contactId: string | null }): Promise<void>;
}

const newest = (contacts: Contact[]): Contact | undefined =>
  contacts.reduce<Contact | undefined>(
    (best, contact) =>
      !best || timestampMs(contact.createdAt) > timestampMs(best.createdAt) ? contact : best,
    undefined,
  );

/** The last refresh of each account this process began, while it may serve others. Per process. */
export type RecentRefreshes = Map<string, { startedAt: number; done: Promise<unknown> }>;

/**
 * A batch's refresh joins one of this account that began less than this long ago. Every run
 * starts from a look of its own; its batches then share one look per second. What a batch needs
 * from it is the contacts created elsewhere since the last look (this service's own creates are
 * remembered as Resend answers them): creating one of those again would re-subscribe it, as
 * Resend answers a create of an existing email with the existing contact, not a conflict. The
 * gap is not closed: a contact created after a batch's look and before its create is missed,
 * and at 50/s a batch sends for 2 s after its look, so it is about 3 s. Sharing a look for 10 s
 * saved 0.2% of a run at 50/s and widened that gap to 10 s and more: not worth it.
 */
export const REFRESH_SHARED_WITHIN_MS = 1000;

/** Whether a batch uses the account's last look, begun at `startedAt`, instead of its own. */
export const sharesLastLook = (startedAt: number | undefined, nowMs: number): boolean =>
  startedAt !== undefined && nowMs - startedAt < REFRESH_SHARED_WITHIN_MS;

/** What the directory's steps share: the account's table rows and its Resend client. */
interface DirectoryContext {
  sql: Sql;
  client: ResendClient;
  account: string;
  recentRefreshes: RecentRefreshes;
  /** The activity's heartbeat, while a batch waits for another to read the unread range. */
  onWait: () => void;
}

/** A contact as Resend lists or gets it. */
const contactOf = (contact: {
  id: string;
  email: string;
  created_at: string;
  unsubscribed: boolean;
  first_name?: string | null;
  last_name?: string | null;
}): Contact => ({
  id: contact.id,
  email: contact.email,
  createdAt: contact.created_at,
  unsubscribed: contact.unsubscribed,
  emptyFields: [
    ...(contact.first_name ? [] : ['first_name']),
    ...(contact.last_name ? [] : ['last_name']),
  ],
});

/** Resend's largest page. */
const PAGE_SIZE = 100;

/**
 * A batch's look reads the contacts newer than a watermark created less than this long ago in
 * one answer, with no page limit (Resend then answers every contact after the cursor): they were
 * all created within it, so the answer stays small, where pages of 100 cost a request per 100
 * contacts, most of them the run's own creates read back. A run's first look, after a pause of
 * any length, keeps to pages.
 */
export const ONE_ANSWER_WITHIN_MS = 60_000;

/** The limit of the read of contacts newer than the watermark: none for a batch's, when recent. */
export const newerReadLimit = (
  look: { watermark: string | null; batch: boolean },
  nowMs: number,
): number | null =>
  look.batch &&
  look.watermark !== null &&
  nowMs - timestampMs(look.watermark) < ONE_ANSWER_WITHIN_MS
    ? null
    : PAGE_SIZE;

/** A page of contacts, newest first; undefined when Resend no longer knows the cursor. */
async function listContacts(
  { client }: DirectoryContext,
  cursor?: ContactCursor,
  /** Null: every contact after the cursor, in one answer. */
  limit: number | null = PAGE_SIZE,
): Promise<ContactPage | undefined> {
  const paged = limit === null ? {} : { limit };
  const query =
    cursor && 'before' in cursor
      ? { ...paged, before: cursor.before }
      : { ...paged, ...(cursor ? { after: cursor.after } : {}) };
  const observedAt = new Date();
  const { answer, kind } = await client.idempotent('contacts.list', (signal) =>
    client.sdk.contacts.list(query, { signal }),
  );
  // A cursor whose contact was deleted meanwhile is not an outage.
  if (kind === 'not_found' || answer.error?.statusCode === 422) return undefined;
  if (answer.error || !answer.data) {
    throw platformUnavailable(`Resend contacts.list answered ${answer.error?.name}`);
  }
  return {
    contacts: answer.data.data.map(contactOf),
    hasMore: answer.data.has_more,
    observedAt,
  };
}

async function readState({ sql, account }: DirectoryContext): Promise<DirectoryState> {
  const [state] = await sql<DirectoryState[]>`
    select complete, resume_after as "resumeAfter", watermark, watermark_id as "watermarkId"
    from audience_sync.contact_directory_state where account = ${account}`;
  return state ?? { complete: false, resumeAfter: null, watermark: null, watermarkId: null };
}

/**
 * Remembers the contacts, and what their `unsubscribed` flags said at `observedAt` (so
 * unsubscribes made in Resend are learned without webhooks, for the contacts a page shows).
 */
async function store(
  { sql, account }: DirectoryContext,
  contacts: { id: string; email: string; unsubscribed?: boolean; emptyFields?: string[] }[],
  observedAt = new Date(),
): Promise<void> {
  if (contacts.length === 0) return;
  await recordUnsubscribedFlags(
    sql,
    'resend',
    account,
    contacts.flatMap((contact) =>
      contact.unsubscribed === undefined
        ? []
        : [
            {
              emailHash: emailHash(contact.email),
              contactId: contact.id,
              unsubscribed: contact.unsubscribed,
            },
          ],
    ),
    observedAt,
  );
  const rows = contacts.map((contact) => ({
    account,
    email_hash: emailHash(contact.email),
    contact_id: contact.id,
    // Which names were empty as listed; null for a contact created here (not listed).
    empty_fields: contact.emptyFields ?? null,
  }));
  // A read without a page limit may bring thousands: Postgres takes 65,535 parameters at most.
  for (let from = 0; from < rows.length; from += STORED_PER_STATEMENT) {
    await storeRows(sql, rows.slice(from, from + STORED_PER_STATEMENT));
  }
}

const STORED_PER_STATEMENT = 1000;

async function storeRows(
  sql: Sql,
  rows: {
    account: string;
    email_hash: string;
    contact_id: string;
    empty_fields: string[] | null;
  }[],
): Promise<void> {
  await sql`
    insert into audience_sync.contact_directory ${sql(rows)}
    on conflict (account, email_hash) do update set contact_id = excluded.contact_id,
      empty_fields = coalesce(excluded.empty_fields, audience_sync.contact_directory.empty_fields),
      -- Learned again only when the id is new: a page read again teaches the ledger nothing.
      learned_xid = case
        when audience_sync.contact_directory.contact_id is distinct from excluded.contact_id
        then excluded.learned_xid else audience_sync.contact_directory.learned_xid end`;
}

/** Only ever moves forward, whichever of several concurrent refreshes writes last. */
async function advanceWatermark(
  { sql, account }: DirectoryContext,
  contact: Contact | undefined,
): Promise<void> {
  if (!contact) return;
  await sql`
    insert into audience_sync.contact_directory_state (account, watermark, watermark_id, refreshed_at)
    values (${account}, ${contact.createdAt}, ${contact.id}, now())
    on conflict (account) do update set
      (watermark, watermark_id) = (
        select case when s.watermark is null
            or excluded.watermark::timestamptz > s.watermark::timestamptz
          then excluded.watermark else s.watermark end,
        case when s.watermark is null
            or excluded.watermark::timestamptz > s.watermark::timestamptz
          then excluded.watermark_id else s.watermark_id end
        from audience_sync.contact_directory_state s where s.account = excluded.account),
      refreshed_at = now()`;
}

/**
 * Reads pages from `after` (the newest when absent) down to contacts created before `untilMs`,
 * storing what it reads. A cursor Resend no longer knows (its contact was deleted meanwhile)
 * starts over from the newest: more pages, never fewer contacts.
 */
async function scanDown(
  context: DirectoryContext,
  untilMs: number,
  from?: string,
  onPage?: (last: Contact) => Promise<void>,
): Promise<{ pages: number; top: Contact | undefined }> {
  let after = from;
  let top: Contact | undefined;
  let pages = 0;
  for (;;) {
    const found = await listContacts(context, after ? { after } : undefined);
    if (!found) {
      // Only a cursor can be unknown; the newest page answering so is an outage, not a loop.
      if (!after) throw platformUnavailable('Resend contacts.list answered 404');
      after = undefined;
      continue;
    }
    const { contacts, hasMore, observedAt } = found;
    pages += 1;
    if (!after) top ??= contacts[0];
    const fresh = contacts.filter((contact) => timestampMs(contact.createdAt) >= untilMs);
    await store(context, fresh, observedAt);
    const last = contacts.at(-1);
    if (!hasMore || !last || fresh.length < contacts.length) break;
    await onPage?.(last);
    after = last.id;
  }
  return { pages, top };
}

const sinceMs = (createdAt: string | null) =>
  createdAt === null ? Number.NEGATIVE_INFINITY : timestampMs(createdAt);

/** From the newest contact down to the watermark: the way that works whatever happened. */
async function scanFromNewest(
  context: DirectoryContext,
  watermark: string | null,
): Promise<{ pages: number }> {
  const { pages, top } = await scanDown(context, sinceMs(watermark));
  await advanceWatermark(context, top);
  return { pages };
}

/** Learns the contacts created since the watermark. */
async function refreshNow(context: DirectoryContext, batch: boolean): Promise<{ pages: number }> {
  const state = await readState(context);
  if (!state.complete) return load(context);
  // Usually one request: everything newer than the newest contact seen, in one answer when the
  // watermark is recent, else when it fits a page. More than a page, or a cursor that vanished,
  // falls back to scanning from the newest.
  if (state.watermarkId) {
    const limit = newerReadLimit({ watermark: state.watermark, batch }, Date.now());
    const newer = await listContacts(context, { before: state.watermarkId }, limit);
    if (newer && !newer.hasMore) {
      await store(context, newer.contacts, newer.observedAt);
      await advanceWatermark(context, newest(newer.contacts));
      return { pages: 1 };
    }
    const scanned = await scanFromNewest(context, state.watermark);
    return { pages: scanned.pages + 1 };
  }
  return scanFromNewest(context, state.watermark);
}

/**
 * Contacts no page has shown yet: those an import created below the page read after it
 * (`after`, created at `afterAt`), down to the look before it (`until`; null: the oldest).
 * `since`: when the range was last opened or widened.
 */
interface UnreadRange {
  after: string;
  afterAt: string;
  until: string | null;
  /** When it was opened or last widened, in Postgres' text (a Date would drop microseconds). */
  since: string;
}

async function readUnreadRange({ sql, account }: DirectoryContext): Promise<UnreadRange | null> {
  const [row] = await sql<(Omit<UnreadRange, 'after'> & { after: string | null })[]>`
    select unread_after as after, unread_after_at as "afterAt", unread_until as until,
      unread_since::text as since
    from audience_sync.contact_directory_state where account = ${account}`;
  return row?.after ? { ...row, after: row.after } : null;
}

/**
 * Records contacts below `cursor` down to `until` as unread, or widens the range there is: its
 * top is the newer of the two cursors, its bottom the older of the two looks.
 */
async function openUnread(
  { sql, account }: DirectoryContext,
  cursor: { id: string; createdAt: string },
  until: string | null,
): Promise<void> {
  await sql`
    update audience_sync.contact_directory_state s set
      unread_until = case when s.unread_after is null then ${until} else s.unread_until end,
      unread_after = case when s.unread_after is null
          or ${cursor.createdAt}::timestamptz > s.unread_after_at::timestamptz
        then ${cursor.id} else s.unread_after end,
      unread_after_at = case when s.unread_after is null
          or ${cursor.createdAt}::timestamptz > s.unread_after_at::timestamptz
        then ${cursor.createdAt} else s.unread_after_at end,
      unread_since = now()
    where s.account = ${account}`;
}

/** The range is read: closed, unless it was opened or widened after `readFrom`. */
async function closeUnread({ sql, account }: DirectoryContext, readFrom: string): Promise<void> {
  // Compared as Postgres' own text: a timestamp parameter would pass through a Date and lose
  // the microseconds, and the range would never close.
  await sql`
    update audience_sync.contact_directory_state
    set unread_after = null, unread_after_at = null, unread_until = null, unread_since = null
    where account = ${account} and unread_since <= ${readFrom}::text::timestamptz`;
}

/**
 * After an import created its rows: one page, the newest, instead of one per 100 contacts it
 * created. This service made those contacts and knows their emails (Resend takes an email in
 * place of an id wherever a later request names one); the contacts below that page, down to the
 * look before the import, are recorded as unread until something reads them: a look-up that
 * needs one (`readUnread`) or the daily reconciliation, which reads every page.
 */
async function passImported(context: DirectoryContext): Promise<{ pages: number }> {
  const state = await readState(context);
  if (!state.complete) return load(context);
  const found = await listContacts(context);
  if (!found) throw platformUnavailable('Resend contacts.list answered 404');
  await store(context, found.contacts, found.observedAt);
  const cursor = unreadBelow(found, state);
  // Widened before the watermark moves: a crash in between leaves more unread, never less.
  if (cursor) await openUnread(context, cursor, state.watermark);
  await advanceWatermark(context, found.contacts[0]);
  return { pages: 1 };
}

/**
 * The newest page after an import, against the directory's last look before it: the contact
 * below which contacts are left unread, or null when the page reaches that look (or the end).
 */
export function unreadBelow(
  page: { contacts: { id: string; createdAt: string }[]; hasMore: boolean },
  lastLook: { watermark: string | null; watermarkId: string | null },
): { id: string; createdAt: string } | null {
  const last = page.contacts.at(-1);
  if (!page.hasMore || !last) return null;
  const reached = page.contacts.some(
    (contact) =>
      contact.id === lastLook.watermarkId ||
      timestampMs(contact.createdAt) < sinceMs(lastLook.watermark),
  );
  return reached ? null : last;
}

/** Far below the 15 s heartbeat timeout of a batch waiting to read the unread range. */
const UNREAD_WAIT_BEAT_MS = 5000;

/**
 * Reads the unread range, if any: then the directory knows every contact up to its watermark.
 * Under the account's advisory lock, so batches side by side do not both read it: one reads, the
 * others wait and find it narrowed or closed. A session lock: no transaction stays open while
 * Resend answers (what a page teaches is written as it comes, in transactions of its own).
 */
function readUnread(context: DirectoryContext): Promise<{ pages: number }> {
  return withAdvisoryLock(
    context.sql,
    `contact_directory_unread|${context.account}`,
    () => readUnreadNow(context),
    { onWait: context.onWait, everyMs: UNREAD_WAIT_BEAT_MS },
  );
}

async function readUnreadNow(context: DirectoryContext): Promise<{ pages: number }> {
  const range = await readUnreadRange(context);
  if (!range) return { pages: 0 };
  let top = range.after;
  // Each page read narrows the range, so an attempt cut short (a timeout, a crash) resumes there.
  const { pages } = await scanDown(context, sinceMs(range.until), range.after, async (last) => {
    await narrowUnread(context, top, last);
    top = last.id;
  });
  await closeUnread(context, range.since);
  return { pages };
}

/** The range now starts below `last`, unless an import widened it since (then it stays). */
async function narrowUnread(
  { sql, account }: DirectoryContext,
  from: string,
  last: Contact,
): Promise<void> {
  await sql`
    update audience_sync.contact_directory_state
    set unread_after = ${last.id}, unread_after_at = ${last.createdAt}
    where account = ${account} and unread_after = ${from}`;
}

/** Loads every contact of the account once; resumable page by page. */
async function load(context: DirectoryContext, onPage?: () => void): Promise<{ pages: number }> {
  const { sql, account } = context;
  let state = await readState(context);
  let pages = 0;
  while (!state.complete) {
    const found = await listContacts(
      context,
      state.resumeAfter ? { after: state.resumeAfter } : undefined,
    );
    if (!found) {
      // The contact we stopped at was deleted meanwhile: start over from the newest.
      state = { ...state, resumeAfter: null };
      continue;
    }
    const { contacts, hasMore } = found;
    pages += 1;
    await store(context, contacts, found.observedAt);
    if (state.resumeAfter === null) await advanceWatermark(context, contacts[0]);
    const last = contacts.at(-1);
    const complete = !hasMore || !last;
    await sql`
      insert into audience_sync.contact_directory_state (account, complete, resume_after)
      values (${account}, ${complete}, ${last?.id ?? null})
      on conflict (account) do update
        set complete = excluded.complete, resume_after = excluded.resume_after`;
    state = { ...state, complete, resumeAfter: last?.id ?? null };
    onPage?.();
  }
  return { pages };
}

/** Learns the contacts created since the last look, or joins a refresh begun a moment ago. */
async function refresh(
  context: DirectoryContext,
  options?: { shared?: boolean },
): Promise<{ pages: number }> {
  const { account, recentRefreshes } = context;
  const recent = recentRefreshes.get(account);
  if (options?.shared && recent && sharesLastLook(recent.startedAt, Date.now())) {
    await recent.done;
    return { pages: 0 };
  }
  const done = refreshNow(context, options?.shared ?? false);
  recentRefreshes.set(account, { startedAt: Date.now(), done });
  try {
    return await done;
  } catch (error) {
    // A failed refresh serves no one: the next batch asks again.
    if (recentRefreshes.get(account)?.done === done) recentRefreshes.delete(account);
    throw error;
  }
}

async function lookup(
  { sql, account }: DirectoryContext,
  emails: string[],
): Promise<Map<string, KnownContact>> {
  if (emails.length === 0) return new Map();
  const hashes = emails.map(emailHash);
  const rows = await sql<{ emailHash: string; contactId: string; emptyFields: string[] | null }[]>`
    select email_hash as "emailHash", contact_id as "contactId", empty_fields as "emptyFields"
    from audience_sync.contact_directory
    where account = ${account} and email_hash = any(${hashes}::text[])`;
  const byHash = new Map(rows.map((row) => [row.emailHash, row]));
  const found = new Map<string, KnownContact>();
  emails.forEach((email, index) => {
    const row = byHash.get(hashes[index] ?? '');
    if (row) {
      found.set(normaliseEmail(email), { id: row.contactId, emptyFields: row.emptyFields });
    }
  });
  return found;
}

async function lookupHashesNow(
  { sql, account }: DirectoryContext,
  emailHashes: string[],
): Promise<Map<string, string>> {
  if (emailHashes.length === 0) return new Map();
  const rows = await sql<{ emailHash: string; contactId: string }[]>`
    select email_hash as "emailHash", contact_id as "contactId"
    from audience_sync.contact_directory
    where account = ${account} and email_hash = any(${emailHashes}::text[])`;
  return new Map(rows.map((row) => [row.emailHash, row.contactId]));
}

/** With `readUnread`, a hash it does not know has the unread range read first, if there is one. */
async function lookupHashes(
  context: DirectoryContext,
  emailHashes: string[],
  options?: { readUnread?: boolean },
): Promise<Map<string, string>> {
  const found = await lookupHashesNow(context, emailHashes);
  if (!options?.readUnread || found.size === new Set(emailHashes).size) return found;
  await readUnread(context);
  // Read here, or by a batch this one waited for: what the directory knows now.
  return lookupHashesNow(context, emailHashes);
}

/**
 * Asks Resend for the contact of this email (one request) and remembers it as a page would;
 * undefined when Resend has none.
 */
async function findOnPlatform(
  context: DirectoryContext,
  email: string,
): Promise<(KnownContact & { unsubscribed: boolean }) | undefined> {
  const { client } = context;
  const observedAt = new Date();
  const { answer, kind } = await client.idempotent('contacts.get', (signal) =>
    client.sdk.contacts.get({ email }, { signal }),
  );
  if (kind === 'not_found') return undefined;
  if (answer.error || !answer.data) {
    throw platformUnavailable(`Resend contacts.get answered ${answer.error?.name}`);
  }
  const contact = contactOf(answer.data);
  await store(context, [contact], observedAt);
  return { id: contact.id, emptyFields: contact.emptyFields, unsubscribed: contact.unsubscribed };
}

/** One page, remembered (for reads of every page: the reconciliation's). */
async function readPage(
  context: DirectoryContext,
  after: string | undefined,
): Promise<{ ids: string[]; hasMore: boolean } | undefined> {
  const found = await listContacts(context, after ? { after } : undefined);
  if (!found) return undefined;
  await store(context, found.contacts, found.observedAt);
  return { ids: found.contacts.map((contact) => contact.id), hasMore: found.hasMore };
}

async function forgetHashes(
  { sql, account }: DirectoryContext,
  emailHashes: string[],
): Promise<void> {
  if (emailHashes.length === 0) return;
  await sql`
    delete from audience_sync.contact_directory
    where account = ${account} and email_hash = any(${emailHashes}::text[])`;
}

async function learnedSince(
  { sql, account }: DirectoryContext,
  cursor: LearnedCursor,
  limit: number,
): Promise<LearnedContacts> {
  const rows = await sql<{ emailHash: string; contactId: string; xid: string }[]>`
    select email_hash as "emailHash", contact_id as "contactId", learned_xid::text as xid
    from audience_sync.contact_directory
    where account = ${account}
      and (learned_xid, email_hash) > (${cursor.xid}::xid8, ${cursor.emailHash})
    order by learned_xid, email_hash
    limit ${limit}`;
  const last = rows.at(-1);
  return {
    contacts: rows.map(({ emailHash: hash, contactId }) => ({ emailHash: hash, contactId })),
    next: rows.length === limit && last ? { xid: last.xid, emailHash: last.emailHash } : null,
  };
}

async function noteUnsubscribed(
  context: DirectoryContext,
  { email, contactId }: { email: string | null; contactId: string | null },
): Promise<void> {
  if (!email) return;
  const hash = emailHash(email);
  const id = contactId ?? (await lookupHashesNow(context, [hash])).get(hash);
  if (!id) return;
  await recordUnsubscribedFlags(
    context.sql,
    'resend',
    context.account,
    [{ emailHash: hash, contactId: id, unsubscribed: true }],
    new Date(),
  );
}

async function forget({ sql, account }: DirectoryContext, email: string): Promise<void> {
  await sql`
    delete from audience_sync.contact_directory
    where account = ${account} and email_hash = ${emailHash(email)}`;
}

export function createContactDirectory(
  sql: Sql,
  client: ResendClient,
  account: string,
  recentRefreshes: RecentRefreshes = new Map(),
  onWait: () => void = () => {},
): ContactDirectory {
  const context: DirectoryContext = { sql, client, account, recentRefreshes, onWait };
  return {
    account,
    load: (onPage) => load(context, onPage),
    refresh: (options) => refresh(context, options),
    lookup: (emails) => lookup(context, emails),
    remember: (email, contactId) => store(context, [{ id: contactId, email }]),
    lookupHashes: (emailHashes, options) => lookupHashes(context, emailHashes, options),
    passImported: () => passImported(context),
    hasUnread: async () => (await readUnreadRange(context)) !== null,
    readUnread: () => readUnread(context),
    findOnPlatform: (email) => findOnPlatform(context, email),
    readPage: (after) => readPage(context, after),
    closeUnread: (readFrom) => closeUnread(context, readFrom),
    forgetHashes: (emailHashes) => forgetHashes(context, emailHashes),
    learnedSince: (cursor, limit) => learnedSince(context, cursor, limit),
    forget: (email) => forget(context, email),
    noteUnsubscribed: (contact) => noteUnsubscribed(context, contact),
  };
}
