import type postgres from 'postgres';
import { recordColumns, type Sql } from './sql.js';

/**
 * What marketing platforms say about contacts' consent (`platform_consent`): unsubscribed there,
 * deleted there, suppressed there. Rows are keyed by a hash of the normalised email, never the
 * email. Facts that start an opt-out are appended, for the users they match, to the opt-outs feed
 * (`opt_outs`) that `GET /api/marketing/opt-outs` reads by cursor.
 */

type Query = Sql | postgres.TransactionSql;
/** A query function: the pool, or a transaction. */
export type ConsentQuery = Query;

export type OptOutOrigin = 'unsubscribed' | 'deleted' | 'suppressed';

/**
 * What a platform told us about one contact, and when it happened there (absent: now). An
 * unsubscribe may be from one list (`listId`), where a list is a subscription (Loops' mailing
 * lists); without it, from the whole account.
 */
export type ConsentFact = (
  | { kind: 'unsubscribed'; unsubscribed: boolean; listId?: string | undefined }
  | { kind: 'deleted' }
  | { kind: 'suppressed' }
) & { at?: Date | undefined };

/** The list of a fact's record: '' for the whole account. */
const ACCOUNT_WIDE = '';
const listOf = (fact: ConsentFact): string =>
  fact.kind === 'unsubscribed' ? (fact.listId ?? ACCOUNT_WIDE) : ACCOUNT_WIDE;

/**
 * A platform that keeps a directory of its contacts (Resend's), as consent records consult it:
 * which accounts know a contact a webhook names, and forgetting a contact deleted there.
 */
export interface ContactDirectoryHooks {
  accountsKnowing(tx: ConsentQuery, subject: ConsentSubject): Promise<string[]>;
  forget(tx: ConsentQuery, accounts: string[], subject: ConsentSubject): Promise<void>;
}

export interface ConsentSubject {
  platform: string;
  emailHash: string;
  contactId: string | null;
}

export interface ConsentState {
  unsubscribed: boolean;
  deleted: boolean;
  suppressed: boolean;
}

/** Facts learned from a webhook before any directory knew the contact: they hold for every account. */
export const ANY_ACCOUNT = '';

/** A `platform_consent` row: the platform's facts with their event times, and the app's lift. */
export interface ConsentRecord {
  unsubscribed: boolean;
  /** When the platform's unsubscribed flag last changed. */
  unsubscribedAt: Date | null;
  deletedAt: Date | null;
  suppressedAt: Date | null;
  /** When the app said the person consented again: facts up to then no longer count. */
  liftedAt: Date | null;
}

const CONSENT_RECORD_COLUMNS = recordColumns<ConsentRecord>()([
  'unsubscribed',
  'unsubscribed_at',
  'deleted_at',
  'suppressed_at',
  'lifted_at',
]);

const NO_RECORD: ConsentRecord = {
  unsubscribed: false,
  unsubscribedAt: null,
  deletedAt: null,
  suppressedAt: null,
  liftedAt: null,
};

const sinceLift = (time: Date | null, lifted: Date | null): boolean =>
  time !== null && (lifted === null || time > lifted);

/** What a record says now (consentOf says the same in SQL). */
export function stateOf(record: ConsentRecord): ConsentState {
  return {
    unsubscribed: record.unsubscribed && sinceLift(record.unsubscribedAt, record.liftedAt),
    deleted: sinceLift(record.deletedAt, record.liftedAt),
    suppressed: sinceLift(record.suppressedAt, record.liftedAt),
  };
}

/**
 * A fact that happened at `at`, applied to the record: the record after it and the opt-out it
 * starts, or null when it changes nothing. Facts apply in the order they happened, not the order
 * they arrive: a fact older than the flag's last change, or than the app's lift, is a late
 * delivery; one that repeats what the record says is no change (a `contact.updated` repeats the
 * flag whatever else changed).
 */
export function applyFactTo(
  previous: ConsentRecord | undefined,
  fact: ConsentFact,
  at: Date,
): { record: ConsentRecord; started: OptOutOrigin | null } | null {
  const base = previous ?? NO_RECORD;
  const before = stateOf(base);
  if (fact.kind === 'unsubscribed') {
    if (base.unsubscribedAt !== null && at < base.unsubscribedAt) return null;
    if (previous && base.unsubscribed === fact.unsubscribed) return null;
    const record = { ...base, unsubscribed: fact.unsubscribed, unsubscribedAt: at };
    const starts = stateOf(record).unsubscribed && !before.unsubscribed;
    return { record, started: starts ? 'unsubscribed' : null };
  }
  if (before[fact.kind] || (base.liftedAt !== null && at <= base.liftedAt)) return null;
  const record = { ...base, [fact.kind === 'deleted' ? 'deletedAt' : 'suppressedAt']: at };
  return { record, started: fact.kind };
}

/**
 * Facts about one email are applied one at a time: two deliveries of one unsubscribe at the same
 * moment (or a delivery and a directory read) then see each other, and only the first changes
 * the state. Locks are taken in a fixed order, so writers of several hashes never deadlock.
 * Answers the time a fact happening at `at` is taken to have happened: never later than now, and
 * to the millisecond, as JavaScript compares times.
 */
async function lockFacts(tx: Query, emailHashes: string[], at?: Date): Promise<Date> {
  await tx`
    select pg_advisory_xact_lock(k) from (
      select distinct hashtext('audience_sync.consent:' || h) as k
      from unnest(${emailHashes}::text[]) as h order by k) as locks`;
  const [time] = await tx<{ at: Date }[]>`
    select date_trunc('milliseconds', least(coalesce(${at ?? null}::timestamptz, now()), now())) as at`;
  return time?.at ?? new Date();
}

/**
 * Writers of the feed hold this lock from taking a seq until they commit, so rows become visible
 * in seq order and a reader's cursor never passes a row that commits later. Everyone who takes a
 * value of `opt_out_seq` takes the lock first.
 */
export async function lockOptOutFeed(tx: Query): Promise<void> {
  await tx`select pg_advisory_xact_lock(hashtext('audience_sync.opt_out_seq'))`;
}

/** The user ids a contact stands for: the ledger (by contact id) and the runs' emails (by hash). */
export async function usersOfContact(tx: Query, subject: ConsentSubject): Promise<string[]> {
  const rows = await tx<{ userId: string }[]>`
    select user_id as "userId" from audience_sync.list_members
    where platform = ${subject.platform} and contact_id = ${subject.contactId}
    union
    select user_id from audience_sync.run_emails where email_hash = ${subject.emailHash}
    order by 1`;
  return rows.map((row) => row.userId);
}

/** The feed's entries: opt-outs, and the app's lifts of them. */
export type FeedOrigin = OptOutOrigin | 'lifted';

/**
 * Appends one entry per user, in the order given. An erased user is never named again: its
 * tombstone, written under the same lock before its contacts are deleted, is seen here (the
 * `contact.deleted` of the erasure's own delete may come while its rows are being wiped).
 */
async function appendOptOuts(tx: Query, userIds: string[], origin: FeedOrigin): Promise<number> {
  if (userIds.length === 0) return 0;
  await lockOptOutFeed(tx);
  const rows = await tx`
    insert into audience_sync.opt_outs (user_id, origin)
    select user_id, ${origin} from unnest(${userIds}::text[]) with ordinality as u(user_id, n)
    where not exists (
      select 1 from audience_sync.erasure_tombstones t where t.user_id = u.user_id)
    order by n
    returning seq`;
  return rows.length;
}

/**
 * Appends an opt-out for each (user, origin) the feed does not hold since the user's last lift:
 * a sync that skips a user for the platform's reason makes sure the application hears of it.
 */
export async function appendMissingOptOuts(
  sql: Sql,
  entries: { userId: string; origin: OptOutOrigin }[],
): Promise<number> {
  const unique = [...new Map(entries.map((e) => [`${e.userId}\u0000${e.origin}`, e])).values()];
  if (unique.length === 0) return 0;
  return sql.begin(async (tx) => {
    await lockOptOutFeed(tx);
    const rows = await tx`
      insert into audience_sync.opt_outs (user_id, origin)
      select e.user_id, e.origin
      from unnest(${unique.map((e) => e.userId)}::text[], ${unique.map((e) => e.origin)}::text[])
        with ordinality as e(user_id, origin, n)
      where not exists (
        select 1 from audience_sync.opt_outs o
        where o.user_id = e.user_id and o.origin = e.origin and not exists (
          select 1 from audience_sync.opt_outs l
          where l.user_id = o.user_id and l.origin = 'lifted' and l.seq > o.seq))
        -- An erased user is in the feed already, as erased.
        and not exists (
          select 1 from audience_sync.erasure_tombstones t where t.user_id = e.user_id)
      order by e.n
      returning seq`;
    return rows.length;
  });
}

/**
 * Records one fact for one account, in the caller's transaction (which holds the email's lock).
 * Returns the opt-out it starts, or null when nothing new began.
 */
async function applyFact(
  tx: Query,
  account: string,
  subject: ConsentSubject,
  fact: ConsentFact,
  at: Date,
): Promise<OptOutOrigin | null> {
  const key = {
    platform: subject.platform,
    account,
    emailHash: subject.emailHash,
    listId: listOf(fact),
  };
  const [previous] = await tx<ConsentRecord[]>`
    select ${tx.unsafe(CONSENT_RECORD_COLUMNS)}
    from audience_sync.platform_consent
    where platform = ${key.platform} and account = ${key.account} and email_hash = ${key.emailHash}
      and list_id = ${key.listId}
    for update`;
  const change = applyFactTo(previous, fact, at);
  if (!change) return null;
  const { record } = change;
  await tx`
    insert into audience_sync.platform_consent as c
      (platform, account, email_hash, list_id, contact_id, unsubscribed, unsubscribed_at,
       deleted_at, suppressed_at)
    values (${key.platform}, ${key.account}, ${key.emailHash}, ${key.listId}, ${subject.contactId},
      ${record.unsubscribed}, ${record.unsubscribedAt}, ${record.deletedAt}, ${record.suppressedAt})
    on conflict (platform, account, email_hash, list_id) do update set
      contact_id = coalesce(excluded.contact_id, c.contact_id),
      unsubscribed = excluded.unsubscribed, unsubscribed_at = excluded.unsubscribed_at,
      deleted_at = excluded.deleted_at, suppressed_at = excluded.suppressed_at,
      updated_at = now()`;
  return change.started;
}

/**
 * A contact deleted on the platform is no one's any more: it leaves the ledger (it is in no
 * list), the platform's directory of these accounts (when it keeps one), and its users' last sent
 * fields, so that once the app lifts the deletion the next sync creates a new contact instead of
 * joining the one that is gone.
 */
async function forgetDeletedContact(
  tx: Query,
  subject: ConsentSubject,
  accounts: string[],
  userIds: string[],
  directory: ContactDirectoryHooks | undefined,
): Promise<void> {
  const contactId = subject.contactId;
  if (!contactId) return;
  await tx`
    delete from audience_sync.list_members
    where platform = ${subject.platform} and contact_id = ${contactId}`;
  await directory?.forget(tx, accounts, subject);
  await tx`
    update audience_sync.contact_fields set contact_id = null
    where account = any(${accounts}::text[]) and user_id = any(${userIds}::text[])
      and contact_id = ${contactId}`;
}

/** What a fact that started an opt-out means: the feed names the contact's users. */
async function announce(
  tx: Query,
  subject: ConsentSubject,
  accounts: string[],
  started: OptOutOrigin | null,
  directory?: ContactDirectoryHooks,
): Promise<number> {
  if (!started) return 0;
  const userIds = await usersOfContact(tx, subject);
  if (started === 'deleted') {
    await forgetDeletedContact(tx, subject, accounts, userIds, directory);
  }
  return appendOptOuts(tx, userIds, started);
}

/**
 * The accounts that know the contact (by id, else by email hash): the platform's directory when
 * it keeps one, and the platform's earlier facts.
 */
async function accountsOfContact(
  tx: Query,
  subject: ConsentSubject,
  directory: ContactDirectoryHooks | undefined,
): Promise<string[]> {
  const rows = await tx<{ account: string }[]>`
    select account from audience_sync.platform_consent
    where platform = ${subject.platform} and account <> ${ANY_ACCOUNT}
      and (contact_id = ${subject.contactId} or email_hash = ${subject.emailHash})`;
  const known = new Set(rows.map((row) => row.account));
  for (const account of (await directory?.accountsKnowing(tx, subject)) ?? []) known.add(account);
  return [...known].sort();
}

export type WebhookRecord = { processed: false } | { processed: true; optOuts: number };

/**
 * One webhook delivery, in one transaction: the delivery id is recorded (per platform), and its
 * fact is applied to every account that knows the contact (or to all accounts of the platform
 * when none does yet); an opt-out it starts is appended for every user the contact stands for.
 * A delivery id seen before changes nothing. `directory`: the platform's, when it keeps one.
 */
export async function recordWebhookFact(
  sql: Sql,
  deliveryId: string,
  subject: ConsentSubject,
  fact: ConsentFact | null,
  // Required, so that no caller forgets it: without it, only earlier facts name the accounts.
  directory: ContactDirectoryHooks | undefined,
): Promise<WebhookRecord> {
  return sql.begin(async (tx) => {
    const fresh = await tx`
      insert into audience_sync.webhook_deliveries (platform, svix_id)
      values (${subject.platform}, ${deliveryId})
      on conflict do nothing returning svix_id`;
    if (fresh.length === 0) return { processed: false } as const;
    if (!fact) return { processed: true, optOuts: 0 } as const;
    const at = await lockFacts(tx, [subject.emailHash], fact.at);
    const accounts = await accountsOfContact(tx, subject, directory);
    const applied = accounts.length > 0 ? accounts : [ANY_ACCOUNT];
    let started: OptOutOrigin | null = null;
    for (const account of applied) {
      started = (await applyFact(tx, account, subject, fact, at)) ?? started;
    }
    const optOuts = await announce(tx, subject, applied, started, directory);
    return { processed: true, optOuts } as const;
  });
}

/**
 * Records one fact for one known account (reconciliation, tests), appending the opt-out it
 * starts for the users the contact stands for.
 */
export async function recordConsentFact(
  sql: Sql,
  account: string,
  subject: ConsentSubject,
  fact: ConsentFact,
): Promise<{ optOuts: number }> {
  return sql.begin(async (tx) => {
    const at = await lockFacts(tx, [subject.emailHash], fact.at);
    const started = await applyFact(tx, account, subject, fact, at);
    return { optOuts: await announce(tx, subject, [account], started) };
  });
}

interface KnownUnsubscribed {
  emailHash: string;
  unsubscribed: boolean;
}

const KNOWN_UNSUBSCRIBED_COLUMNS = recordColumns<KnownUnsubscribed>()([
  'email_hash',
  'unsubscribed',
]);

/**
 * The `unsubscribed` flags a page of the platform's contact list showed when it was asked for at
 * `observedAt`: an unsubscribed contact is recorded (and its users' opt-outs appended when it is
 * new); a subscribed one lifts an earlier record. Subscribed contacts without a record write
 * nothing.
 */
export async function recordUnsubscribedFlags(
  sql: Sql,
  platform: string,
  account: string,
  contacts: { emailHash: string; contactId: string; unsubscribed: boolean }[],
  observedAt: Date,
): Promise<{ optOuts: number }> {
  if (contacts.length === 0) return { optOuts: 0 };
  const hashes = contacts.map((c) => c.emailHash);
  const known = await sql<KnownUnsubscribed[]>`
    select ${sql.unsafe(KNOWN_UNSUBSCRIBED_COLUMNS)} from audience_sync.platform_consent
    where platform = ${platform} and account = ${account} and email_hash = any(${hashes}::text[])
      and list_id = ${ACCOUNT_WIDE}`;
  const wasUnsubscribed = new Map(known.map((row) => [row.emailHash, row.unsubscribed]));
  const changed = contacts.filter(
    (c) => (wasUnsubscribed.get(c.emailHash) ?? false) !== c.unsubscribed,
  );
  let optOuts = 0;
  for (const contact of changed) {
    optOuts += (
      await recordConsentFact(
        sql,
        account,
        { platform, emailHash: contact.emailHash, contactId: contact.contactId },
        { kind: 'unsubscribed', unsubscribed: contact.unsubscribed, at: observedAt },
      )
    ).optOuts;
  }
  return { optOuts };
}

/** The platform records that still count (after the last lift), as consentOf reads them. */
const COUNTING = `(unsubscribed and unsubscribed_at > coalesce(lifted_at, '-infinity'))
  or deleted_at > coalesce(lifted_at, '-infinity')
  or suppressed_at > coalesce(lifted_at, '-infinity')`;

/** What a lift answers of each record it lifted (and whether it was a deletion). */
const LIFTED_COLUMNS = recordColumns<ConsentSubject & { account: string }>()([
  'platform',
  'account',
  'email_hash',
  'contact_id',
]);

/**
 * The app's word that the person consented again: the platform records of these email hashes
 * (unsubscribed, deleted, suppressed; every platform and account) stop counting, and the feed
 * names the user `lifted`. A deleted contact is forgotten, so the next sync creates a new one
 * (`subscribed` only as a new contact gets it); an unsubscribed one that still exists is joined
 * again, unsubscribed as it is. Erasure tombstones are not platform records: they stay. Answers
 * how many records it lifted (none: no change, no entry).
 */
export async function liftConsent(
  sql: Sql,
  userId: string,
  emailHashes: string[],
  directories: Readonly<Record<string, ContactDirectoryHooks>> = {},
): Promise<number> {
  if (emailHashes.length === 0) return 0;
  return sql.begin(async (tx) => {
    await lockFacts(tx, emailHashes);
    const lifted = await tx<(ConsentSubject & { account: string; deleted: boolean })[]>`
      update audience_sync.platform_consent
      set lifted_at = date_trunc('milliseconds', now()), updated_at = now()
      where email_hash = any(${emailHashes}::text[]) and (${tx.unsafe(COUNTING)})
      returning ${tx.unsafe(LIFTED_COLUMNS)}, deleted_at is not null as deleted`;
    for (const record of lifted.filter((row) => row.deleted)) {
      await forgetDeletedContact(
        tx,
        record,
        [record.account],
        [userId],
        directories[record.platform],
      );
    }
    if (lifted.length > 0) await appendOptOuts(tx, [userId], 'lifted');
    return lifted.length;
  });
}

/**
 * What the platform says about each of these email hashes on the account (facts recorded for
 * any account of the platform included): its account-wide records, and those of `listIds` where
 * a list is a subscription. Hashes without a fact are absent.
 */
export async function consentOf(
  sql: Sql,
  platform: string,
  account: string,
  emailHashes: string[],
  listIds: readonly string[] = [],
): Promise<Map<string, ConsentState>> {
  if (emailHashes.length === 0) return new Map();
  // An erased user's email counts as deleted on every platform: no sync re-creates the contact.
  const rows = await sql<({ emailHash: string } & ConsentState)[]>`
    select email_hash as "emailHash", bool_or(unsubscribed) as unsubscribed,
      bool_or(deleted) as deleted, bool_or(suppressed) as suppressed
    from (
      -- As stateOf: what happened after the app's last lift.
      select email_hash,
        coalesce(unsubscribed and unsubscribed_at > coalesce(lifted_at, '-infinity'), false)
          as unsubscribed,
        coalesce(deleted_at > coalesce(lifted_at, '-infinity'), false) as deleted,
        coalesce(suppressed_at > coalesce(lifted_at, '-infinity'), false) as suppressed
      from audience_sync.platform_consent
      where platform = ${platform} and account in (${account}, ${ANY_ACCOUNT})
        and email_hash = any(${emailHashes}::text[])
        and (list_id = ${ACCOUNT_WIDE} or list_id = any(${[...listIds]}::text[]))
      union all
      select email_hash, false, true, false from audience_sync.erasure_tombstones
      where email_hash = any(${emailHashes}::text[])
    ) as facts
    group by email_hash`;
  return new Map(
    rows
      .filter((row) => row.unsubscribed || row.deleted || row.suppressed)
      .map(({ emailHash, ...state }) => [emailHash, state]),
  );
}

/**
 * True in SQL when the platform reported a fact about the contact of `emailHash` that stops a
 * sync (as consentOf reads them: unsubscribed, deleted, suppressed since the last lift, or an
 * erased user's email), for this account and these lists.
 */
export function platformObjectsSql(
  sql: Sql,
  scope: { platform: string; account: string; listIds: readonly string[] },
  emailHash: postgres.Fragment,
): postgres.Fragment {
  return sql`(exists (
      select 1 from audience_sync.platform_consent pc
      where pc.email_hash = ${emailHash} and pc.platform = ${scope.platform}
        and pc.account in (${scope.account}, ${ANY_ACCOUNT})
        and (pc.list_id = ${ACCOUNT_WIDE} or pc.list_id = any(${[...scope.listIds]}::text[]))
        and (${sql.unsafe(COUNTING)}))
    or exists (
      select 1 from audience_sync.erasure_tombstones et where et.email_hash = ${emailHash}))`;
}

/**
 * platformObjectsSql as a set: the email hashes with a fact of the platform that counts
 * (unsubscribed, deleted, suppressed) or an erasure's tombstone, to join a whole population to.
 */
export function platformObjectHashesSql(
  sql: Sql,
  scope: { platform: string; account: string },
): postgres.Fragment {
  return sql`
    select pc.email_hash from audience_sync.platform_consent pc
    where pc.platform = ${scope.platform} and pc.account in (${scope.account}, ${ANY_ACCOUNT})
      and pc.list_id = ${ACCOUNT_WIDE} and (${sql.unsafe(COUNTING)})
    union
    select et.email_hash from audience_sync.erasure_tombstones et`;
}

export interface OptOut {
  userId: string;
  origin: FeedOrigin | 'erased';
  at: Date;
  seq: string;
}

/** The opt-outs' own columns (the seq a bigint until the feed answers it as text). */
const OPT_OUT_COLUMNS = recordColumns<OptOut>()(['user_id', 'origin', 'at', 'seq']);

/**
 * The feed after `after` (a seq; '0' from the start), oldest first: the opt-outs and the erased
 * users (their first tombstone, origin `erased`), which share one sequence.
 */
export async function readOptOuts(sql: Sql, after: string, limit: number): Promise<OptOut[]> {
  return sql<OptOut[]>`
    select "userId", origin, at, seq::text as seq from (
      select ${sql.unsafe(OPT_OUT_COLUMNS)} from audience_sync.opt_outs
      where seq > ${after}::bigint
      union all
      select t.user_id, 'erased', t.erased_at, t.seq from audience_sync.erasure_tombstones t
      where t.seq > ${after}::bigint and not exists (
        select 1 from audience_sync.erasure_tombstones e
        where e.user_id = t.user_id and e.seq < t.seq)
    ) as feed
    order by feed.seq limit ${limit}`;
}
