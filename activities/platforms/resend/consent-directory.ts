import type { ConsentQuery, ContactDirectoryHooks } from '../../../db/consent.js';

/**
 * Resend's contact directory (contact-directory.ts), as consent records need it: a webhook's fact
 * lands on the accounts whose directory knows the contact, and a contact deleted on Resend (or a
 * deletion the app lifts) leaves the directory, so the next sync creates a new contact instead
 * of joining the one that is gone.
 */
export const resendContactDirectory: ContactDirectoryHooks = {
  async accountsKnowing(tx: ConsentQuery, subject) {
    const rows = await tx<{ account: string }[]>`
      select distinct account from audience_sync.contact_directory
      where contact_id = ${subject.contactId} or email_hash = ${subject.emailHash}`;
    return rows.map((row) => row.account);
  },
  async forget(tx: ConsentQuery, accounts, subject) {
    if (!subject.contactId) return;
    await tx`
      delete from audience_sync.contact_directory
      where account = any(${accounts}::text[]) and email_hash = ${subject.emailHash}
        and contact_id = ${subject.contactId}`;
  },
};
