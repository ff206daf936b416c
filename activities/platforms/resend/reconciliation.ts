import { emailHash } from '../../../common/emails.js';
import type { Sql } from '../../../db/sql.js';
import type { DisappearedContact } from '../platform.js';
import { platformUnavailable } from '../platform.js';
import type { ResendClient } from './client.js';
import type { ContactDirectory } from './contact-directory.js';

/** True when Resend says the contact (by id, or by email) does not exist. */
export async function contactIsGone(
  client: ResendClient,
  contact: { id: string } | { email: string },
): Promise<boolean> {
  const { answer, kind } = await client.idempotent('contacts.get', (signal) =>
    client.sdk.contacts.get(contact, { signal }),
  );
  if (kind === 'not_found') return true;
  if (answer.error) {
    throw platformUnavailable(`Resend contacts.get answered ${answer.error.name}`);
  }
  return false;
}

/**
 * Reads every contact of the account (one request per 100) into the directory: the
 * `unsubscribed` flags are recorded as every directory read records them (runs read only contacts
 * created since their last look, so this is where a change made on an older contact without a
 * webhook is learned), and so are the contacts a run passed over after an import. The ids go
 * into a scratch table of one connection; then it takes the directory's contacts that were not
 * among them; each of those is asked for once more, so a contact created while the list was read
 * is not taken for deleted. The deleted ones are dropped from the directory and returned.
 */
async function findDisappeared(
  sql: Sql,
  client: ResendClient,
  directory: ContactDirectory,
  onPage: () => void,
): Promise<DisappearedContact[]> {
  const account = directory.account;
  // The database's clock, as the range's own time is: a range opened after this stays open.
  const [{ readFrom } = { readFrom: '-infinity' }] = await sql<{ readFrom: string }[]>`
    select clock_timestamp()::text as "readFrom"`;
  const connection = await sql.reserve();
  try {
    await connection`create temporary table if not exists reconcile_seen (contact_id text primary key)`;
    await connection`truncate reconcile_seen`;
    let after: string | undefined;
    for (;;) {
      const page = await directory.readPage(after);
      onPage();
      if (!page) {
        // The contact the cursor stood on was deleted meanwhile: read from the newest again.
        after = undefined;
        continue;
      }
      if (page.ids.length > 0) {
        await connection`
          insert into reconcile_seen select unnest(${page.ids}::text[]) on conflict do nothing`;
      }
      const last = page.ids.at(-1);
      if (!page.hasMore || !last) break;
      after = last;
    }
    const candidates = await connection<DisappearedContact[]>`
      select d.email_hash as "emailHash", d.contact_id as "contactId"
      from audience_sync.contact_directory d
      where d.account = ${account}
        and not exists (select 1 from reconcile_seen s where s.contact_id = d.contact_id)
      order by d.contact_id`;
    await connection`drop table if exists reconcile_seen`;
    await directory.closeUnread(readFrom);
    const gone: DisappearedContact[] = [];
    for (const candidate of candidates) {
      if (await contactIsGone(client, { id: candidate.contactId })) gone.push(candidate);
      onPage();
    }
    if (gone.length > 0) {
      await sql`
        delete from audience_sync.contact_directory
        where account = ${account}
          and contact_id = any(${gone.map((contact) => contact.contactId)}::text[])`;
    }
    return gone;
  } finally {
    connection.release();
  }
}

/** The hashes of every email on the account's suppression list, page by page. */
async function listSuppressions(
  client: ResendClient,
  onPage: (emailHashes: string[]) => Promise<void>,
): Promise<void> {
  let after: string | undefined;
  for (;;) {
    const { answer, kind } = await client.idempotent('suppressions.list', (signal) =>
      client.sdk.suppressions.list({ limit: 100, ...(after ? { after } : {}) }, { signal }),
    );
    if (kind === 'not_found' && after) {
      after = undefined;
      continue;
    }
    if (answer.error || !answer.data) {
      throw platformUnavailable(`Resend suppressions.list answered ${answer.error?.name}`);
    }
    const entries = answer.data.data;
    await onPage(entries.map((entry) => emailHash(entry.email)));
    const last = entries.at(-1);
    if (!answer.data.has_more || !last) return;
    after = last.id;
  }
}

/**
 * Reconciliation without webhooks: which contacts of the directory Resend no longer has (someone
 * deleted them in the dashboard), which are unsubscribed there, and which emails are on Resend's
 * suppression list.
 */
export function createResendReconciliation(
  sql: Sql,
  client: ResendClient,
  directory: ContactDirectory,
) {
  return {
    findDisappeared: (onPage: () => void) => findDisappeared(sql, client, directory, onPage),
    listSuppressions: (onPage: (emailHashes: string[]) => Promise<void>) =>
      listSuppressions(client, onPage),
  };
}
