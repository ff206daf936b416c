import type { Migration } from '../../../db/migrations.js';

/**
 * Resend's own tables, applied after the service's migrations (db/migrate.ts), versioned on
 * their own (`audience_sync.platform_migrations`, platform `resend`). Append new versions; never
 * edit one that has shipped.
 *
 * None yet: the tables only Resend uses today (contact directory and its state, named lists,
 * property definitions) were made by the service's versions 1, 6 and 15 before platforms had
 * migrations of their own, and shipped versions never change. New Resend tables go here.
 */
export const resendMigrations: Migration[] = [];
