import type { Migration } from '../../../db/migrations.js';

/**
 * Loops' own tables, applied after the service's migrations (db/migrate.ts), versioned on their
 * own (`audience_sync.platform_migrations`, platform `loops`). Append new versions; never edit
 * one that has shipped.
 */
export const loopsMigrations: Migration[] = [
  {
    version: 1,
    name: 'loops_memberships',
    // A mailing list is a subscription, and Loops' answers list only the lists a contact is
    // subscribed to: whether a missing list was left by the person or taken out by this service
    // is known only from what this service did. Keyed by the contact's userId (the user's id).
    sql: `
      create table audience_sync.loops_memberships (
        account text not null,
        user_id text not null,
        list_id text not null,
        state text not null check (state in ('joined', 'removed')),
        updated_at timestamptz not null default now(),
        primary key (account, user_id, list_id)
      );
    `,
  },
];
