import { createHash } from 'node:crypto';
import type { Sql } from '../db/sql.js';
import type { MarketingPlatform } from './platforms/platform.js';

/**
 * Which contacts already exist on the platform account, keyed by a hash of the normalised email.
 *
 * A sync must never create a contact that exists (Resend's create resets omitted fields, which
 * re-subscribes people), yet asking per user doubles the requests. So the directory is loaded once
 * per account (one request per 100 contacts), kept in Postgres across runs, and refreshed before
 * each batch from the newest end of the platform's list, which costs one or two requests.
 */

export const normaliseEmail = (email: string): string => email.trim().toLowerCase();

/** Hex SHA-256 of the normalised email: the service's tables never store the address itself. */
export const emailHash = (email: string): string =>
  createHash('sha256').update(normaliseEmail(email)).digest('hex');

/** Resend's timestamps look like `2025-11-30 20:39:59.540771+00`. */
const timestampMs = (createdAt: string): number => {
  const iso = createdAt.replace(' ', 'T').replace(/\+00(:00)?$/, 'Z');
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : Date.parse(createdAt);
};

interface DirectoryState {
  complete: boolean;
  resumeAfter: string | null;
  watermark: string | null;
}

export interface ContactDirectory {
  /** Loads every contact of the account once; resumable page by page. */
  load(onPage?: () => void): Promise<{ pages: number }>;
  /**
   * Reads contacts created since the last look, newest first, until known ground (loading the
   * whole directory first if it never was).
   */
  refresh(): Promise<{ pages: number }>;
  lookup(emails: string[]): Promise<Map<string, string>>;
  remember(email: string, contactId: string): Promise<void>;
  forget(email: string): Promise<void>;
}

export function createContactDirectory(sql: Sql, platform: MarketingPlatform): ContactDirectory {
  const account = platform.account;

  const readState = async (): Promise<DirectoryState> => {
    const [state] = await sql<DirectoryState[]>`
      select complete, resume_after as "resumeAfter", watermark
      from audience_sync.contact_directory_state where account = ${account}`;
    return state ?? { complete: false, resumeAfter: null, watermark: null };
  };

  const store = async (contacts: { id: string; email: string }[]): Promise<void> => {
    if (contacts.length === 0) return;
    const rows = contacts.map((contact) => ({
      account,
      email_hash: emailHash(contact.email),
      contact_id: contact.id,
    }));
    await sql`
      insert into audience_sync.contact_directory ${sql(rows)}
      on conflict (account, email_hash) do update set contact_id = excluded.contact_id`;
  };

  /** Only ever moves forward, whichever of several concurrent refreshes writes last. */
  const advanceWatermark = async (watermark: string): Promise<void> => {
    await sql`
      insert into audience_sync.contact_directory_state (account, watermark, refreshed_at)
      values (${account}, ${watermark}, now())
      on conflict (account) do update set
        watermark = case
          when audience_sync.contact_directory_state.watermark is null
            or excluded.watermark::timestamptz > audience_sync.contact_directory_state.watermark::timestamptz
          then excluded.watermark else audience_sync.contact_directory_state.watermark end,
        refreshed_at = now()`;
  };

  return {
    async load(onPage) {
      let state = await readState();
      let pages = 0;
      while (!state.complete) {
        const page = await platform.listContacts(state.resumeAfter ?? undefined);
        pages += 1;
        await store(page.contacts);
        const first = page.contacts[0];
        if (state.resumeAfter === null && first) await advanceWatermark(first.createdAt);
        const last = page.contacts.at(-1);
        const complete = !page.hasMore || !last;
        await sql`
          insert into audience_sync.contact_directory_state (account, complete, resume_after)
          values (${account}, ${complete}, ${last?.id ?? null})
          on conflict (account) do update
            set complete = excluded.complete, resume_after = excluded.resume_after`;
        state = { ...state, complete, resumeAfter: last?.id ?? null };
        onPage?.();
      }
      return { pages };
    },

    async refresh() {
      const { watermark, complete } = await readState();
      if (!complete) return this.load();
      const knownUntil = watermark === null ? Number.NEGATIVE_INFINITY : timestampMs(watermark);
      let after: string | undefined;
      let newest: string | undefined;
      let pages = 0;
      for (;;) {
        const page = await platform.listContacts(after);
        pages += 1;
        newest ??= page.contacts[0]?.createdAt;
        const fresh = page.contacts.filter(
          (contact) => timestampMs(contact.createdAt) >= knownUntil,
        );
        await store(fresh);
        const last = page.contacts.at(-1);
        if (!page.hasMore || !last || fresh.length < page.contacts.length) break;
        after = last.id;
      }
      if (newest) await advanceWatermark(newest);
      return { pages };
    },

    async lookup(emails) {
      if (emails.length === 0) return new Map();
      const hashes = emails.map(emailHash);
      const rows = await sql<{ emailHash: string; contactId: string }[]>`
        select email_hash as "emailHash", contact_id as "contactId"
        from audience_sync.contact_directory
        where account = ${account} and email_hash = any(${hashes}::text[])`;
      const byHash = new Map(rows.map((row) => [row.emailHash, row.contactId]));
      const found = new Map<string, string>();
      emails.forEach((email, index) => {
        const contactId = byHash.get(hashes[index] ?? '');
        if (contactId) found.set(normaliseEmail(email), contactId);
      });
      return found;
    },

    async remember(email, contactId) {
      await store([{ id: contactId, email }]);
    },

    async forget(email) {
      await sql`
        delete from audience_sync.contact_directory
        where account = ${account} and email_hash = ${emailHash(email)}`;
    },
  };
}
