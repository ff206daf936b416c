import { emailHash, normaliseEmail } from '../../common/emails.js';
import {
  type ContactFields,
  type FieldHashes,
  fieldsToPatch,
  hashFields,
  isEmptyPatch,
  nameFields,
  propertyFields,
} from '../../common/field-changes.js';
import type { PlannedAdd } from '../../common/plan.js';
import type { ConsentState, OptOutOrigin } from '../../db/consent.js';
import type { LastSentFields } from '../../db/contact-fields.js';
import type { UserOutcome } from '../../db/outcomes.js';
import type { BatchUser } from '../../db/users-source.js';
import { decideLocally } from '../eligibility.js';
import { optOutOriginOf, platformSkipReason } from '../platform-consent.js';
import type { ContactRef, ContactToSync, FoundContact } from '../platforms/platform.js';

/**
 * The plan of one batch: what happens to each of its users, decided from what the batch read and
 * nothing else (no I/O, no platform). Applying it is the only step that talks to the platform
 * and records outcomes; a dry run records the plan instead of applying it.
 */

/** A membership of a user's old contact (an email change) in one of the run's lists. */
export interface OldMembership {
  listId: string;
  /** `found`: the contact was in the list before this service synced the user there. */
  origin: 'made' | 'found';
  /** Another user of the list stands for the same contact (it must stay for them). */
  shared: boolean;
}

/** The contact a user had at the email the ledger has it in the run's lists with. */
export interface OldContact {
  /** The ledger's hash of the old email; null for rows from before the ledger kept it. */
  emailHash: string | null;
  /** The ledger's id, else the platform directory's; null: the platform does not have it. */
  contactId: string | null;
  memberships: OldMembership[];
}

/** Everything a batch read that its plan is decided from. */
export interface BatchFacts {
  /** The batch's users whose outcome this run has not recorded yet, in id order. */
  users: BatchUser[];
  /** The run's list, then its tags. */
  listIds: string[];
  /** The run's claims of the users' emails: email hash → the user that owns it in this run. */
  owners: ReadonlyMap<string, string>;
  /** Users a bulk chunk of the run created, with the id the directory knows for the contact. */
  bulkCreated: ReadonlyMap<string, string | null>;
  /** Hashes of emails an erasure took (tombstones). */
  erased: ReadonlySet<string>;
  /** The platform's consent facts by email hash (erased emails count as deleted there too). */
  consent: ReadonlyMap<string, ConsentState>;
  /** What this service last sent for each user, by user id. */
  lastSent: ReadonlyMap<string, LastSentFields>;
  /** Users the ledger has in every list of the run with their current email → the contact id. */
  present: ReadonlyMap<string, string | null>;
  /** Users whose email changed since they were put into the run's lists → their old contact. */
  oldContacts: ReadonlyMap<string, OldContact>;
  /**
   * What the platform has of the users' current emails, by user id: its directory, or for a
   * platform without one the contact this service last sent the user's fields to.
   */
  directory: ReadonlyMap<string, FoundContact>;
}

/** A user the plan sends, with its contact as the platform receives it. */
export interface Sendable {
  contact: ContactToSync;
  user: BatchUser;
  emailHash: string;
  /** The fields the app has for the user now. */
  current: ContactFields;
  /** What was last sent or seen for this user at this email. */
  lastSeen: FieldHashes | undefined;
}

/** What the plan does with one user; every user of the batch has exactly one. */
export type PlannedAction =
  /** Ends here, skipped or failed; `optOut`: the opt-outs feed is sure to name the user. */
  | {
      kind: 'record';
      outcome: Exclude<UserOutcome, { outcome: 'added' }>;
      optOut?: OptOutOrigin;
    }
  /** Shares its email with an earlier user of the run, whose contact stands for it. */
  | { kind: 'duplicate'; ownerId: string }
  /** Opted out in the app after this service put it into the list: its contact is unsubscribed. */
  | { kind: 'unsubscribe'; contact: ContactRef; emailHash: string }
  /** A bulk chunk of the run created its contact: recorded added without a request. */
  | { kind: 'bulk_created'; contactId: string | null; send: Sendable }
  /** In every list already with this email, fields unchanged: nothing to send. */
  | { kind: 'present'; contactId: string | null; send: Sendable }
  /** In every list already with this email: only its changed fields are patched. */
  | { kind: 'patch'; contactId: string | null; send: Sendable; fields: ContactFields }
  /**
   * Put into the lists: `create` a contact the platform does not have, `join` one it has (never
   * re-subscribed). `patch`: the fields a join fills in as far as the directory tells (the
   * platform's answer decides again, see patchOnMeeting).
   */
  | { kind: 'create' | 'join'; send: Sendable; patch: ContactFields };

export interface UserPlan {
  userId: string;
  /** An email change: the old contact leaves these lists first, whatever happens next. */
  moveOff?: { emailHash: string; contactId: string | null; listIds: string[] };
  action: PlannedAction;
}

/** The plan of every user of the batch, in the batch's order. */
export function planBatchUsers(facts: BatchFacts): UserPlan[] {
  return facts.users.map((user) => {
    const action = planUser(facts, user);
    const moveOff = moveOffOf(facts, user);
    return { userId: user.userId, ...(moveOff ? { moveOff } : {}), action };
  });
}

function planUser(facts: BatchFacts, user: BatchUser): PlannedAction {
  const local = decideLocally(user);
  if (local.action === 'record') return { kind: 'record', outcome: local.outcome };
  if (local.action === 'unsubscribe') {
    return {
      kind: 'unsubscribe',
      contact: { userId: user.userId, email: user.email, contactId: user.listContactId },
      emailHash: user.listEmailHash ?? emailHash(user.email ?? ''),
    };
  }
  const send = sendableOf(facts, user);
  const ownerId = facts.owners.get(send.emailHash) ?? '';
  if (ownerId !== user.userId) return { kind: 'duplicate', ownerId };
  const erased = facts.erased.has(send.emailHash);
  if (facts.bulkCreated.has(user.userId) && !erased) {
    return { kind: 'bulk_created', contactId: facts.bulkCreated.get(user.userId) ?? null, send };
  }
  const skipped = platformSkipReason(facts.consent.get(send.emailHash));
  if (skipped !== null) {
    return {
      kind: 'record',
      outcome: { outcome: 'skipped', reason: skipped },
      optOut: optOutOriginOf(skipped),
    };
  }
  if (erased) return { kind: 'record', outcome: { outcome: 'skipped', reason: ERASED_REASON } };
  return planSend(facts, send);
}

/** An erased email is gone from the platform for good, as a deleted contact is. */
const ERASED_REASON = 'deleted_in_platform';

/** A user to send: present (patched if its fields changed), or created or joined. */
function planSend(facts: BatchFacts, send: Sendable): PlannedAction {
  const userId = send.contact.userId;
  const presentAs = facts.present.get(userId);
  if (presentAs !== undefined && send.lastSeen) {
    const fields = fieldsToPatch(send.current, { lastSeen: send.lastSeen });
    return isEmptyPatch(fields)
      ? { kind: 'present', contactId: presentAs, send }
      : { kind: 'patch', contactId: presentAs, send, fields };
  }
  const found = facts.directory.get(userId);
  if (!found) return { kind: 'create', send, patch: {} };
  return { kind: 'join', send, patch: patchOnMeeting(send, found.emptyFields) };
}

/**
 * The fields to patch on a contact the user joined (or met in its lists): those that changed
 * since last sent, or at a first meeting only those the platform has empty.
 */
export function patchOnMeeting(send: Sendable, emptyFields: string[] | undefined): ContactFields {
  return fieldsToPatch(send.current, {
    lastSeen: send.lastSeen,
    emptyOnPlatform: emptyFields ? new Set(emptyFields) : undefined,
  });
}

function sendableOf(facts: BatchFacts, user: BatchUser): Sendable {
  const email = normaliseEmail(user.email ?? '');
  const hash = emailHash(email);
  const sent = facts.lastSent.get(user.userId);
  const sameEmail = sent?.emailHash === hash;
  return {
    contact: {
      userId: user.userId,
      email,
      firstName: user.firstName,
      lastName: user.lastName,
      properties: user.properties,
      knownContactId: sameEmail ? sent.contactId : null,
    },
    user,
    emailHash: hash,
    current: { ...nameFields(user.firstName, user.lastName), ...propertyFields(user.properties) },
    lastSeen: sameEmail ? sent.fields : undefined,
  };
}

/**
 * A user whose email changed since this service put it into the run's lists: its old contact
 * leaves them first, whatever the plan for the new address (skipped for the platform's reason,
 * another user's, made by a bulk import), and the ledger forgets the old email's rows. Users the
 * app itself keeps from being sent (opted out, deleted, an invalid email) are not moved.
 */
function moveOffOf(facts: BatchFacts, user: BatchUser): UserPlan['moveOff'] | undefined {
  if (decideLocally(user).action !== 'send') return undefined;
  const old = facts.oldContacts.get(user.userId);
  if (!old || old.emailHash === null) return undefined;
  return {
    emailHash: old.emailHash,
    contactId: old.contactId,
    listIds: old.contactId ? listsToLeave(old.memberships) : [],
  };
}

/** The lists an old contact leaves: memberships this service made, that no other user needs. */
export const listsToLeave = (memberships: OldMembership[]): string[] =>
  memberships.filter((one) => one.origin === 'made' && !one.shared).map((one) => one.listId);

/** A user the ledger has in the run's list with another email than its current one. */
export const emailChanged = (user: BatchUser): boolean =>
  user.inList &&
  user.listEmailHash !== null &&
  user.listEmailHash !== emailHash(normaliseEmail(user.email ?? ''));

/**
 * A dry run's record of a planned user: the outcome a real run would record when nothing changes
 * meanwhile, and how it would be added. An email change's old contact is taken to leave.
 */
export function plannedOutcomeOf(action: PlannedAction): {
  outcome: UserOutcome;
  planned: PlannedAdd | null;
} {
  const added = (planned: PlannedAdd, updated: boolean) => ({
    outcome: { outcome: 'added' as const, contactId: null, updated },
    planned,
  });
  switch (action.kind) {
    case 'record':
      return { outcome: action.outcome, planned: null };
    case 'duplicate':
      return { outcome: { outcome: 'skipped', reason: 'duplicate_email' }, planned: null };
    case 'unsubscribe':
      return {
        outcome: { outcome: 'skipped', reason: 'opted_out', unsubscribed: true },
        planned: null,
      };
    case 'bulk_created':
      return added('create', false);
    case 'present':
      return added('present', false);
    case 'patch':
      return added('present', true);
    case 'create':
      return added('create', false);
    case 'join':
      return added('join', !isEmptyPatch(action.patch));
  }
}

/** The hashes of the fields a bulk import created a contact with (names only). */
export const bulkCreatedFields = (send: Sendable): FieldHashes =>
  hashFields(nameFields(send.contact.firstName, send.contact.lastName));
