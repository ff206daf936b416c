import type { Platform } from '../../common/sync.js';

/**
 * What a sync needs from a marketing platform. A second platform is one new module implementing
 * this; the sync logic does not change.
 */
export interface MarketingPlatform {
  readonly name: Platform;
  /** A stable, non-secret id of the account the credentials belong to. */
  readonly account: string;
  getList(listId: string): Promise<PlatformList | null>;
  /** Lists whose name is exactly `name`, oldest first. */
  findListsByName(name: string): Promise<PlatformList[]>;
  /** Not idempotent on the platform: see `ambiguous`. */
  createList(name: string): Promise<PlatformResult<PlatformList>>;
  /**
   * A page of contacts, newest first, for the contact directory: from the newest, older than
   * `after`, or newer than `before`. Undefined when the platform does not know the cursor.
   */
  listContacts(cursor?: ContactCursor): Promise<ContactPage | undefined>;
  /**
   * Creates a contact in the given lists. Only for contacts not known to exist: platforms may
   * reset an existing contact's fields on create.
   */
  createContact(
    contact: NewContact,
    listIds: string[],
  ): Promise<PlatformResult<{ contactId: string }>>;
  /** Adds an existing contact (by id or email) to a list; never changes the contact itself. */
  addToList(contact: string, listId: string): Promise<PlatformResult<void>>;
  markUnsubscribed(contact: string): Promise<PlatformResult<void>>;
}

export interface PlatformList {
  id: string;
  name: string;
}

export interface NewContact {
  email: string;
  firstName: string | null;
  lastName: string | null;
}

export type ContactCursor = { after: string } | { before: string };

export interface ContactPage {
  contacts: { id: string; email: string; createdAt: string }[];
  hasMore: boolean;
}

/**
 * A platform answer. Transient failures (5xx, timeouts) of idempotent calls are retried inside
 * the platform and thrown when retries run out; non-idempotent creates report them as
 * `ambiguous`, because the write may have happened.
 */
export type PlatformResult<T> =
  | { ok: true; value: T }
  | { ok: false; kind: 'not_found'; code: string }
  | { ok: false; kind: 'rejected'; code: string; status: number }
  | { ok: false; kind: 'ambiguous'; code: string };

/** Thrown when a platform stays unavailable; the activity fails and Temporal retries it. */
export class PlatformUnavailableError extends Error {
  override name = 'PlatformUnavailableError';
}
