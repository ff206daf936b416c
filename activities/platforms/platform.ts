import type { FieldValue } from '../../common/field-changes.js';
import type { Sql } from '../../db/sql.js';
import type { RequestGate } from './request-gate.js';

/**
 * What a sync needs from a marketing platform, at the level of a batch. The generic sync reads
 * users, decides locally who is sent, claims them, then makes one platform call per batch and
 * records what the platform says about each contact. How a platform gets there (a directory of
 * existing contacts, upserts, bulk calls), its limits, retries and answers stay in its folder.
 */
export interface MarketingPlatform {
  /** The registry's name for it, e.g. the `platform` value of a sync request. */
  readonly name: string;
  /** A stable, non-secret id of the account the credentials belong to. */
  readonly account: string;
  /**
   * Contacts are keyed by the user's id, which this service sets (Loops' `userId`): a new email
   * is an update of the same contact, which keeps its lists, so a user whose email changed is not
   * first taken out of them through its old contact.
   */
  readonly contactsFollowUsers?: boolean;

  /**
   * Optional and possibly long work before a run's first batch (such as learning the contacts
   * that already exist). `onProgress` is called as it goes, so the activity can heartbeat.
   */
  prepare?(onProgress: (pagesDone: number) => void): Promise<void>;

  /** The list with this id, or null when the platform does not know it. */
  getList(listId: string): Promise<PlatformList | null>;
  /** A new list for one run: created at most once for `runId`, whatever the answers were. */
  createRunList(runId: string, name: string): Promise<PlatformList>;
  /** The list named exactly `name`, found or created once per account (two runs make one). */
  findOrCreateList(name: string): Promise<PlatformList>;
  /**
   * Makes sure the account defines these contact properties (a missing one is created once per
   * account), so contact writes may carry them.
   */
  defineProperties(definitions: PropertyDefinition[]): Promise<void>;

  /**
   * Puts each contact into every list of `listIds`: creates it when new (with its fields), joins
   * it when it exists (never changing an existing contact's subscription or fields). Reports every contact once
   * through `onOutcome`, as soon as its outcome is known, and settles every request it started
   * before it returns or throws. A contact whose email an erasure took (`PlatformContext.isErased`,
   * asked right before a create is sent and again once it is made) is never created, or is
   * deleted again at once: its outcome is `erased`.
   */
  syncContacts(
    contacts: ContactToSync[],
    listIds: string[],
    onOutcome: OutcomeSink<ContactOutcome>,
  ): Promise<void>;

  /** Sets the given fields of existing contacts; never their subscription. */
  patchContacts(patches: ContactPatch[], onOutcome: OutcomeSink<ChangeOutcome>): Promise<void>;
  /** Takes contacts out of one list; the contacts themselves stay. */
  removeFromList(
    contacts: ContactRef[],
    listId: string,
    onOutcome: OutcomeSink<ChangeOutcome>,
  ): Promise<void>;
  /** Marks contacts unsubscribed from all marketing on the account. */
  markUnsubscribed(contacts: ContactRef[], onOutcome: OutcomeSink<ChangeOutcome>): Promise<void>;
  /** Deletes contacts from the account (every list). */
  deleteContacts(contacts: ContactRef[], onOutcome: OutcomeSink<ChangeOutcome>): Promise<void>;

  /**
   * Platforms that keep a directory of the account's contacts (hashes of emails → contact ids):
   * the contacts it knows for these hashes, so an erasure finds contacts of users whose email the
   * service no longer has, and a bulk chunk's created users are recorded with their contacts.
   * A look-up of what is known, no request. `onPlatform`: the caller knows these contacts exist
   * there (members of its lists, emails it sent); the directory may then read the contacts it
   * passed over after an import before it answers that it lacks one (a request per 100 of them,
   * once). Absent: the platform keeps no directory.
   */
  knownContacts?(
    emailHashes: string[],
    options?: { onPlatform?: boolean },
  ): Promise<Map<string, string>>;
  /**
   * The directory's contacts learned after `cursor` (a transaction, then an email hash), in the
   * order learned, at most `limit`: the ledger's members known by email only are named from what
   * was learned since their list's last naming, not looked up one by one each run.
   */
  contactsLearnedSince?(cursor: LearnedCursor, limit: number): Promise<LearnedContacts>;
  /** Drops these hashes from the directory (their contacts were deleted). */
  forgetContacts?(emailHashes: string[]): Promise<void>;
  /**
   * Learns the contacts created since the directory last looked (a request or two), so that
   * `knownContacts` also knows contacts created a moment ago: an erasure asks, after writing its
   * tombstones, before it looks its users' contacts up.
   */
  refreshContacts?(): Promise<void>;
  /**
   * Dry runs, read only: which of these contacts the platform has (after learning the newest),
   * by user id, with the fields it knows to be empty (as `syncContacts` would report a join).
   * Absent: the platform cannot plan, and dry runs into it are refused.
   */
  findContacts?(contacts: ContactToSync[]): Promise<Map<string, FoundContact>>;
  /** Dry runs, read only: the list named exactly `name`, or null (`findOrCreateList` would create it). */
  findList?(name: string): Promise<PlatformList | null>;
  /** Present when the platform can create many new contacts in one job (optional). */
  readonly bulk?: BulkCreation;

  /**
   * Reconciliation without webhooks: the contacts the directory knows that the platform no longer
   * has (deleted there), dropped from the directory. Long; `onProgress` lets the activity heartbeat.
   */
  findDisappearedContacts?(onProgress: () => void): Promise<DisappearedContact[]>;
  /** The platform's suppression list, as hashes of the emails, a page at a time. */
  listSuppressions?(onPage: (emailHashes: string[]) => Promise<void>): Promise<void>;
}

/**
 * Creating many contacts the platform does not have in one job (such as Resend's Contact
 * Imports) instead of one request each. A job never changes a contact that exists: those are
 * left for the per-contact path, as is every contact the job did not provably create.
 */
export interface BulkCreation {
  /** Contacts one job takes at most. */
  readonly maxContacts: number;
  /**
   * Of these normalised emails, those the platform is known to have (they join lists one by
   * one instead). `learnNewest`: first learn the contacts created since the last look.
   */
  existing(emails: string[], options: { learnNewest: boolean }): Promise<Set<string>>;
  /** Starts a job creating the contacts, each in every list of `listIds`. */
  start(contacts: ContactToSync[], listIds: string[]): Promise<BulkStart>;
  /** Waits until the job ended; `onPoll` is called after every look at it. */
  wait(jobId: string, onPoll: () => void): Promise<BulkJobResult>;
  /**
   * The user ids of the job's contacts that it created and put into the lists, as far as the
   * platform can tell; the others go the per-contact way.
   */
  created(contacts: ContactToSync[], result: BulkJobResult): Promise<Set<string>>;
}

/**
 * `unavailable`: the account cannot use bulk creation at all (remembered for it). `refused`:
 * this job was refused (e.g. too large); its contacts go the per-contact way.
 */
export type BulkStart =
  | { kind: 'started'; jobId: string }
  | { kind: 'unavailable'; reason: string }
  | { kind: 'refused'; reason: string };

export interface BulkJobResult {
  status: 'completed' | 'failed';
  counts: { total: number; created: number; updated: number; skipped: number; failed: number };
}

/** An existing contact as a dry run finds it. */
export interface FoundContact {
  contactId: string;
  /** As `emptyFields` of a join. */
  emptyFields?: string[];
}

/** A contact the platform no longer has. */
export interface DisappearedContact {
  emailHash: string;
  contactId: string;
}

/** Called once per contact of a batch call, awaited, so outcomes are stored as they happen. */
export type OutcomeSink<Outcome> = (userId: string, outcome: Outcome) => Promise<void>;

export interface PlatformList {
  id: string;
  name: string;
}

/** A user as the platform receives it: the normalised email and the fields a sync sends. */
export interface ContactToSync {
  userId: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  /** Mapped contact properties by key; null: none (not sent on a create). */
  properties: Record<string, FieldValue>;
  /**
   * The contact this service last sent this user's fields to, at this email (null or absent:
   * none). A platform that keeps no directory of its contacts joins it by this id instead of
   * creating a contact, and reports it `deleted` when the platform no longer has it.
   */
  knownContactId?: string | null;
}

/** A contact property a sync sends, with the platform's type for it. */
export interface PropertyDefinition {
  key: string;
  type: 'string' | 'number';
}

/** A contact this service knows: by the platform's id when it has one, else by email. */
export interface ContactRef {
  userId: string;
  email: string | null;
  contactId: string | null;
}

/** Only the fields to change; null clears one. */
export interface ContactPatch {
  contact: ContactRef;
  fields: {
    firstName?: string | null;
    lastName?: string | null;
    properties?: Record<string, FieldValue>;
  };
}

/**
 * One contact of `syncContacts`. `created`: a new contact. `joined`: an existing contact was
 * added to the lists (`foundIn`: those of them it was in already). `already_there`: it was in
 * every one of them already. A membership that was there before the call was found, not made:
 * it is never taken out (mirror runs, email changes). `deleted`: the contact this service knew
 * for the email no longer exists there (someone deleted it); nothing was created. `rejected`:
 * the platform refused this contact (final; the reason is the platform's). `ambiguous`: the
 * platform could not say whether its write happened; the batch is retried for it. `erased`: the
 * email belongs to an erased user; no contact was created (or the one just made was deleted
 * again). `unsubscribed`: the platform's answer shows the contact unsubscribed from everything or
 * (`listId`) from a list that is a subscription; nothing was sent, since joining would
 * re-subscribe it.
 */
export type ContactOutcome =
  | { kind: 'created'; contactId: string | null }
  | {
      kind: 'joined' | 'already_there';
      contactId: string | null;
      /** For `joined`: the lists of the call the contact was in before it (absent: none). */
      foundIn?: string[];
      /**
       * Field keys (see field-changes.ts) the platform knows to be empty on this contact, for a
       * first meeting; absent when it does not know.
       */
      emptyFields?: string[];
    }
  | { kind: 'deleted'; contactId: string }
  | { kind: 'unsubscribed'; contactId: string; listId?: string }
  | PlatformRejection
  | { kind: 'ambiguous'; reason: string }
  | { kind: 'erased' };

/**
 * The platform refused a contact or a change of it: `reason` is a code, `platformMessage` the
 * platform's own words (see platform-messages.ts: no personal data), when it gave any.
 */
export interface PlatformRejection {
  kind: 'rejected';
  reason: string;
  platformMessage?: string;
}

/**
 * One contact of a change. `not_found`: there was nothing to change (not in the list; a contact
 * that cannot be named). `deleted`: the platform has no such contact any more (deleted there).
 */
export type ChangeOutcome =
  | { kind: 'done' }
  | { kind: 'not_found' }
  | { kind: 'deleted' }
  | PlatformRejection;

/** How a platform limits one account: a request rate, or connections open at once. */
export type PlatformLimit =
  | { kind: 'requests_per_second'; initial: number; upperBound?: number | undefined }
  | { kind: 'concurrent_connections'; connections: number };

/** What every platform client of one activity attempt gets from the worker. */
export interface PlatformContext {
  /** For the platform's own state in the `audience_sync` schema (directories, locks). */
  sql: Sql;
  /** Aborted when the activity is cancelled or times out; stops waits and requests. */
  signal: AbortSignal;
  /** Called on every answer the platform gives, so a batch that gets answers is seen alive. */
  onAnswer(): void;
  /**
   * Whether this normalised email belongs to an erased user (a tombstone): a contact create asks
   * right before it is sent, and again once the contact is made, since an erasure may come
   * meanwhile.
   */
  isErased(email: string): Promise<boolean>;
  /** The account's gate, built by the registry from the module's `limit`. */
  gate: RequestGate;
}

/** A platform as the registry knows it. */
export interface PlatformModule {
  readonly name: string;
  /** The account its credentials belong to (a hash: never the credentials themselves). */
  readonly account: string;
  readonly limit: PlatformLimit;
  connect(context: PlatformContext): MarketingPlatform;
  /**
   * One cheap request the account's key must be accepted for (for the health route). Resolves
   * when the platform answered and accepted the key; throws a PlatformError: platform_auth_failed
   * when it refused the key, platform_unavailable when it did not answer. Absent: not checked.
   */
  checkAccess?(context: PlatformContext): Promise<void>;
}

export type PlatformErrorCode =
  | 'platform_unavailable'
  | 'platform_auth_failed'
  | 'list_refused'
  | 'list_create_ambiguous';

/**
 * A failure of the platform as a whole rather than of one contact. `retryable` failures heal by
 * themselves (outages, ambiguous creates); the others end the run with their code.
 */
export class PlatformError extends Error {
  override name = 'PlatformError';
  constructor(
    readonly code: PlatformErrorCode,
    message: string,
    readonly retryable: boolean,
  ) {
    super(message);
  }
}

export const platformUnavailable = (message: string): PlatformError =>
  new PlatformError('platform_unavailable', message, true);

export const platformAuthFailed = (message: string): PlatformError =>
  new PlatformError('platform_auth_failed', message, false);

/**
 * A place in the order a directory learned its contacts: the Postgres transaction that wrote the
 * entry (`xid8`, as text), then its email hash; `{ xid, emailHash: '' }` is just before `xid`.
 */
export interface LearnedCursor {
  xid: string;
  emailHash: string;
}

export interface LearnedContacts {
  contacts: { emailHash: string; contactId: string }[];
  /** Where the next page starts; null when this one was the last. */
  next: LearnedCursor | null;
}
