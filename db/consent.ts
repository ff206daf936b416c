import type postgres from 'postgres';
import type { Sql } from './sql.js';

/**
 * What marketing platforms say about contacts' consent (`platform_consent`): unsubscribed there,
 * deleted there, suppressed there. Rows are keyed by a hash of the normalised email, never the
 * email. Facts that start an opt-out are appended, for the users they match, to the opt-outs feed
 * (`opt_outs`) that `GET /api/marketing/opt-outs` reads by cursor.
 */

type Query = Sql | postgres.TransactionSql;

export type OptOutOrigin = 'unsubscribed' | 'deleted' | 'suppressed';

/** What a platform told us about one contact. `unsubscribed: false` lifts an unsubscribe. */
export type ConsentFact =
  | { kind: 'unsubscribed'; unsubscribed: boolean }
  | { kind: 'deleted' }
  | { kind: 'suppressed' };

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

/**
 * Appends one opt-out per user, in the order given. An erased user is never named again: its
 * tombstone, written under the same lock before its contacts are deleted, is seen here (the
 * `contact.deleted` of the erasure's own delete may come while its rows are being wiped).
 */
async function appendOptOuts(tx: Query, userIds: string[], origin: OptOutOrigin): Promise<number> {
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
 * Appends an opt-out for each (user, origin) the feed does not hold yet: a sync that skips a
 * user for the platform's reason makes sure the application hears of it.
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
        select 1 from audience_sync.opt_outs o where o.user_id = e.user_id and o.origin = e.origin)
        -- An erased user is in the feed already, as erased.
        and not exists (
          select 1 from audience_sync.erasure_tombstones t where t.user_id = e.user_id)
      order by e.n
      returning seq`;
    return rows.length;
  });
}

/**
 * Records one fact for one account, in the caller's transaction. Returns the opt-out it starts
 * (an unsubscribe, deletion or suppression the row did not have), or null when nothing new began.
 */
async function applyFact(
  tx: Query,
  account: string,
  subject: ConsentSubject,
  fact: ConsentFact,
): Promise<OptOutOrigin | null> {
  const key = { platform: subject.platform, account, emailHash: subject.emailHash };
  const [previous] = await tx<{ unsubscribed: boolean; deleted: boolean; suppressed: boolean }[]>`
    select unsubscribed, deleted_at is not null as deleted, suppressed_at is not null as suppressed
    from audience_sync.platform_consent
    where platform = ${key.platform} and account = ${key.account} and email_hash = ${key.emailHash}
    for update`;
  if (!previous && fact.kind === 'unsubscribed' && !fact.unsubscribed) return null;
  const unsubscribed = fact.kind === 'unsubscribed' ? fact.unsubscribed : null;
  const deleted = fact.kind === 'deleted';
  const suppressed = fact.kind === 'suppressed';
  await tx`
    insert into audience_sync.platform_consent as c
      (platform, account, email_hash, contact_id, unsubscribed, deleted_at, suppressed_at)
    values (${key.platform}, ${key.account}, ${key.emailHash}, ${subject.contactId},
      ${unsubscribed ?? false},
      case when ${deleted}::boolean then now() end, case when ${suppressed}::boolean then now() end)
    on conflict (platform, account, email_hash) do update set
      contact_id = coalesce(excluded.contact_id, c.contact_id),
      unsubscribed = coalesce(${unsubscribed}::boolean, c.unsubscribed),
      deleted_at = coalesce(c.deleted_at, excluded.deleted_at),
      suppressed_at = coalesce(c.suppressed_at, excluded.suppressed_at),
      updated_at = now()`;
  if (unsubscribed && !previous?.unsubscribed) return 'unsubscribed';
  if (deleted && !previous?.deleted) return 'deleted';
  if (suppressed && !previous?.suppressed) return 'suppressed';
  return null;
}

/** The accounts whose directory knows the contact (by id, else by email hash). */
async function accountsOfContact(tx: Query, subject: ConsentSubject): Promise<string[]> {
  const rows = await tx<{ account: string }[]>`
    select account from audience_sync.contact_directory
    where contact_id = ${subject.contactId} or email_hash = ${subject.emailHash}
    union
    select account from audience_sync.platform_consent
    where platform = ${subject.platform} and account <> ${ANY_ACCOUNT}
      and (contact_id = ${subject.contactId} or email_hash = ${subject.emailHash})
    order by 1`;
  return rows.map((row) => row.account);
}

export type WebhookRecord = { processed: false } | { processed: true; optOuts: number };

/**
 * One webhook delivery, in one transaction: the delivery id is recorded, and its fact is applied
 * to every account whose directory knows the contact (or to all accounts of the platform when
 * none does yet); an opt-out it starts is appended for every user the contact stands for. A
 * delivery id seen before changes nothing.
 */
export async function recordWebhookFact(
  sql: Sql,
  deliveryId: string,
  subject: ConsentSubject,
  fact: ConsentFact | null,
): Promise<WebhookRecord> {
  return sql.begin(async (tx) => {
    const fresh = await tx`
      insert into audience_sync.webhook_deliveries (svix_id) values (${deliveryId})
      on conflict do nothing returning svix_id`;
    if (fresh.length === 0) return { processed: false } as const;
    if (!fact) return { processed: true, optOuts: 0 } as const;
    const accounts = await accountsOfContact(tx, subject);
    let started: OptOutOrigin | null = null;
    for (const account of accounts.length > 0 ? accounts : [ANY_ACCOUNT]) {
      started = (await applyFact(tx, account, subject, fact)) ?? started;
    }
    const optOuts = started
      ? await appendOptOuts(tx, await usersOfContact(tx, subject), started)
      : 0;
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
    const started = await applyFact(tx, account, subject, fact);
    const optOuts = started
      ? await appendOptOuts(tx, await usersOfContact(tx, subject), started)
      : 0;
    return { optOuts };
  });
}

/**
 * The `unsubscribed` flags a page of the platform's contact list shows: an unsubscribed contact
 * is recorded (and its users' opt-outs appended when it is new); a subscribed one lifts an
 * earlier record. Subscribed contacts without a record write nothing.
 */
export async function recordUnsubscribedFlags(
  sql: Sql,
  platform: string,
  account: string,
  contacts: { emailHash: string; contactId: string; unsubscribed: boolean }[],
): Promise<{ optOuts: number }> {
  if (contacts.length === 0) return { optOuts: 0 };
  const hashes = contacts.map((c) => c.emailHash);
  const known = await sql<{ emailHash: string; unsubscribed: boolean }[]>`
    select email_hash as "emailHash", unsubscribed from audience_sync.platform_consent
    where platform = ${platform} and account = ${account} and email_hash = any(${hashes}::text[])`;
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
        { kind: 'unsubscribed', unsubscribed: contact.unsubscribed },
      )
    ).optOuts;
  }
  return { optOuts };
}

/**
 * What the platform says about each of these email hashes on the account (facts recorded for
 * any account of the platform included). Hashes without a fact are absent.
 */
export async function consentOf(
  sql: Sql,
  platform: string,
  account: string,
  emailHashes: string[],
): Promise<Map<string, ConsentState>> {
  if (emailHashes.length === 0) return new Map();
  // An erased user's email counts as deleted on every platform: no sync re-creates the contact.
  const rows = await sql<({ emailHash: string } & ConsentState)[]>`
    select email_hash as "emailHash", bool_or(unsubscribed) as unsubscribed,
      bool_or(deleted) as deleted, bool_or(suppressed) as suppressed
    from (
      select email_hash, unsubscribed, deleted_at is not null as deleted,
        suppressed_at is not null as suppressed
      from audience_sync.platform_consent
      where platform = ${platform} and account in (${account}, ${ANY_ACCOUNT})
        and email_hash = any(${emailHashes}::text[])
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

export interface OptOut {
  userId: string;
  origin: OptOutOrigin | 'erased';
  at: Date;
  seq: string;
}

/**
 * The feed after `after` (a seq; '0' from the start), oldest first: the opt-outs and the erased
 * users (their first tombstone, origin `erased`), which share one sequence.
 */
export async function readOptOuts(sql: Sql, after: string, limit: number): Promise<OptOut[]> {
  return sql<OptOut[]>`
    select "userId", origin, at, seq::text as seq from (
      select user_id as "userId", origin, at, seq from audience_sync.opt_outs
      where seq > ${after}::bigint
      union all
      select t.user_id, 'erased', t.erased_at, t.seq from audience_sync.erasure_tombstones t
      where t.seq > ${after}::bigint and not exists (
        select 1 from audience_sync.erasure_tombstones e
        where e.user_id = t.user_id and e.seq < t.seq)
    ) as feed
    order by feed.seq limit ${limit}`;
}
