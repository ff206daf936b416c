import { createHash } from 'node:crypto';
import type { Sql } from '../db/sql.js';
import {
  type ContactCursor,
  type MarketingPlatform,
  PlatformUnavailableError,
} from './platforms/platform.js';

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
  watermarkId: string | null;
}

type Contact = { id: string; email: string; createdAt: string };

export interface ContactDirectory {
  /** Loads every contact of the account once; resumable page by page. */
  load(onPage?: () => void): Promise<{ pages: number }>;
  /**
   * Learns the contacts created since the last look (loading the whole directory first if it
   * never was).
   */
  refresh(): Promise<{ pages: number }>;
  lookup(emails: string[]): Promise<Map<string, string>>;
  remember(email: string, contactId: string): Promise<void>;
  forget(email: string): Promise<void>;
}

const newest = (contacts: Contact[]): Contact | undefined =>
  contacts.reduce<Contact | undefined>(
    (best, contact) =>
      !best || timestampMs(contact.createdAt) > timestampMs(best.createdAt) ? contact : best,
    undefined,
  );

export function createContactDirectory(sql: Sql, platform: MarketingPlatform): ContactDirectory {
  const account = platform.account;

  const readState = async (): Promise<DirectoryState> => {
    const [state] = await sql<DirectoryState[]>`
      select complete, resume_after as "resumeAfter", watermark, watermark_id as "watermarkId"
      from audience_sync.contact_directory_state where account = ${account}`;
    return state ?? { complete: false, resumeAfter: null, watermark: null, watermarkId: null };
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
  const advanceWatermark = async (contact: Contact | undefined): Promise<void> => {
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
  };

  const page = async (cursor?: ContactCursor) => {
    const found = await platform.listContacts(cursor);
    if (!found) throw new PlatformUnavailableError('the contact list lost its cursor; retrying');
    return found;
  };

  /** From the newest contact down to the watermark: the way that works whatever happened. */
  const scanFromNewest = async (watermark: string | null): Promise<{ pages: number }> => {
    const knownUntil = watermark === null ? Number.NEGATIVE_INFINITY : timestampMs(watermark);
    let after: string | undefined;
    let top: Contact | undefined;
    let pages = 0;
    for (;;) {
      const { contacts, hasMore } = await page(after ? { after } : undefined);
      pages += 1;
      top ??= contacts[0];
      const fresh = contacts.filter((contact) => timestampMs(contact.createdAt) >= knownUntil);
      await store(fresh);
      const last = contacts.at(-1);
      if (!hasMore || !last || fresh.length < contacts.length) break;
      after = last.id;
    }
    await advanceWatermark(top);
    return { pages };
  };

  return {
    async load(onPage) {
      let state = await readState();
      let pages = 0;
      while (!state.complete) {
        const found = await platform.listContacts(
          state.resumeAfter ? { after: state.resumeAfter } : undefined,
        );
        if (!found) {
          // The contact we stopped at was deleted meanwhile: start over from the newest.
          state = { ...state, resumeAfter: null };
          continue;
        }
        const { contacts, hasMore } = found;
        pages += 1;
        await store(contacts);
        if (state.resumeAfter === null) await advanceWatermark(contacts[0]);
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
    },

    async refresh() {
      const state = await readState();
      if (!state.complete) return this.load();
      // Usually one request: everything newer than the newest contact seen, when it fits a page.
      // More than a page, or a cursor that vanished, falls back to scanning from the newest.
      if (state.watermarkId) {
        const newer = await platform.listContacts({ before: state.watermarkId });
        if (newer && !newer.hasMore) {
          await store(newer.contacts);
          await advanceWatermark(newest(newer.contacts));
          return { pages: 1 };
        }
        const scanned = await scanFromNewest(state.watermark);
        return { pages: scanned.pages + 1 };
      }
      return scanFromNewest(state.watermark);
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
