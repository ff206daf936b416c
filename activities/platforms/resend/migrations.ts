import type { Migration } from '../../../db/migrations.js';

/**
 * Resend's own tables, applied after the service's migrations (db/migrate.ts), versioned on
 * their own (`audience_sync.platform_migrations`, platform `resend`). Append new versions; never
 * edit one that has shipped.
 *
 * The tables only Resend uses (contact directory and its state, named lists, property
 * definitions) were made by the service's versions 1, 6 and 15 before platforms had migrations
 * of their own, and shipped versions never change. New Resend tables and columns go here.
 */
export const resendMigrations: Migration[] = [
  {
    version: 1,
    name: 'contact directory: the contacts an import created that no page has shown',
    sql: /* sql */ `
      -- After an import, the directory reads only the newest page; the contacts below it (from
      -- the cursor down to the look before the import) are unread until something reads them:
      -- a look-up that needs one, or the daily reconciliation, which reads every page.
      alter table audience_sync.contact_directory_state
        add column unread_after text,
        add column unread_after_at text,
        add column unread_until text,
        add column unread_since timestamptz;
    `,
  },
  {
    version: 2,
    name: 'contact directory: which transaction learned each contact',
    sql: /* sql */ `
      -- The transaction that last learned a contact (or a new id for its email), so the ledger's
      -- members known by email only are named from what was learned since, not by a look-up per
      -- member each run. Entries from before are 0: a list's first naming looks its members up.
      alter table audience_sync.contact_directory add column learned_xid xid8 not null default '0';
      alter table audience_sync.contact_directory
        alter column learned_xid set default pg_current_xact_id();
      create index contact_directory_learned
        on audience_sync.contact_directory (account, learned_xid, email_hash);
    `,
  },
];
