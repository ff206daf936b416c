import type { Contact } from 'loops';
import type { FieldValue } from '../../../common/field-changes.js';
import type { ContactOutcome, ContactToSync, OutcomeSink } from '../platform.js';
import { forEachSettling } from '../pool.js';
import { type LoopsConnection, mailingLists, rejection } from './connection.js';
import { emptyFieldsOf, findContact, listsHeld } from './found-contacts.js';

/** A create carries the user's id, its names and the properties that have a value. */
function createFields(
  connection: LoopsConnection,
  contact: ContactToSync,
): Record<string, FieldValue> {
  const present = Object.fromEntries(
    Object.entries(contact.properties).filter(([, value]) => value !== null && value !== ''),
  );
  return {
    userId: contact.userId,
    ...(contact.firstName ? { firstName: contact.firstName } : {}),
    ...(contact.lastName ? { lastName: contact.lastName } : {}),
    ...connection.properties.typed(present),
  };
}

/**
 * Joins a contact Loops has to the lists it is not subscribed to, in one update that also sets
 * the user's id and email (so an email change is this one update of the same contact); never
 * sends `subscribed`. A contact unsubscribed from everything, or missing from a list this service
 * joined it to and did not take it out of (the person left it), is not joined: `unsubscribed`.
 */
async function joinFound(
  connection: LoopsConnection,
  contact: ContactToSync,
  listIds: string[],
  found: Contact,
  afterAmbiguousCreate: boolean,
): Promise<ContactOutcome> {
  const { api, memberships } = connection;
  if (found.userId && found.userId !== contact.userId) {
    return { kind: 'rejected', reason: 'rejected_by_platform:email_has_another_user_id' };
  }
  if (found.subscribed === false) return { kind: 'unsubscribed', contactId: found.id };
  const ours = await memberships.of(contact.userId, listIds);
  const held = listsHeld(found, listIds);
  const missing = listIds.filter((listId) => !held.includes(listId));
  const left = missing.find((listId) => ours.get(listId) === 'joined');
  if (left && !afterAmbiguousCreate) {
    return { kind: 'unsubscribed', contactId: found.id, listId: left };
  }
  const sameEmail = found.email.toLowerCase() === contact.email;
  if (missing.length > 0 || !sameEmail || found.userId !== contact.userId) {
    const updated = await api.idempotent('contacts.update', (sdk) =>
      sdk.updateContact({
        email: contact.email,
        userId: contact.userId,
        ...(missing.length > 0 ? { mailingLists: mailingLists(missing, true) } : {}),
      }),
    );
    if (updated.kind !== 'ok') return rejection(updated);
    await memberships.note(contact.userId, missing, 'joined');
  }
  // After a create whose answer was lost, the contact with the user's id is that create's.
  if (afterAmbiguousCreate && found.userId === contact.userId && sameEmail) {
    await memberships.note(contact.userId, listIds, 'joined');
    return { kind: 'created', contactId: found.id };
  }
  // Lists it was in that this service did not put it in were found there, not made.
  const foundIn = held.filter((listId) => ours.get(listId) !== 'joined');
  return {
    kind: foundIn.length === listIds.length ? 'already_there' : 'joined',
    contactId: found.id,
    ...(foundIn.length > 0 ? { foundIn } : {}),
    emptyFields: emptyFieldsOf(found, contact),
  };
}

/** The contact Loops has for the user, joined; null when it has none (by user id or email). */
async function joinExisting(
  connection: LoopsConnection,
  contact: ContactToSync,
  listIds: string[],
  afterAmbiguousCreate: boolean,
): Promise<ContactOutcome | null> {
  const answer = await findContact(connection.api, contact);
  if (answer.kind !== 'ok') return rejection(answer);
  if (!answer.data) return null;
  return joinFound(connection, contact, listIds, answer.data, afterAmbiguousCreate);
}

/** A contact just created, or deleted again when its email was erased meanwhile. */
async function unlessErased(
  { context, api, memberships }: LoopsConnection,
  contact: ContactToSync,
  contactId: string,
): Promise<ContactOutcome> {
  if (!(await context.isErased(contact.email))) return { kind: 'created', contactId };
  const removed = await api.idempotent('contacts.delete', (sdk) =>
    sdk.deleteContact({ userId: contact.userId }),
  );
  if (removed.kind !== 'ok' && removed.kind !== 'not_found') return rejection(removed);
  await memberships.forget(contact.userId);
  return { kind: 'erased' };
}

/**
 * Creates the contact with its lists in one request, unless an erasure took its email (asked
 * right before, and again once it is made). A 409 says Loops has the email or the user's id: that
 * contact is joined instead. After a create without an answer, a find tells whether it happened.
 */
async function createOne(
  connection: LoopsConnection,
  contact: ContactToSync,
  listIds: string[],
): Promise<ContactOutcome> {
  const { api, context, memberships } = connection;
  for (let attempt = 0; attempt < 3; attempt += 1) {
    if (await context.isErased(contact.email)) return { kind: 'erased' };
    const created = await api.create('contacts.create', (sdk) =>
      sdk.createContact({
        email: contact.email,
        properties: createFields(connection, contact),
        ...(listIds.length > 0 ? { mailingLists: mailingLists(listIds, true) } : {}),
      }),
    );
    if (created.kind === 'ok') {
      await memberships.note(contact.userId, listIds, 'joined');
      return unlessErased(connection, contact, created.data.id);
    }
    if (created.kind !== 'conflict' && created.kind !== 'ambiguous') return rejection(created);
    const ambiguous = created.kind === 'ambiguous';
    const joined = await joinExisting(connection, contact, listIds, ambiguous);
    if (joined) return joined;
    // A 409 for a contact no find shows, or a lost create that did not happen: try again.
  }
  return { kind: 'ambiguous', reason: 'create_kept_getting_ambiguous_answers' };
}

/**
 * One contact. One this service sent its fields to before is never created again: when Loops
 * no longer has it, someone deleted it there (`deleted`).
 */
async function syncOne(
  connection: LoopsConnection,
  contact: ContactToSync,
  listIds: string[],
): Promise<ContactOutcome> {
  if (!contact.knownContactId) return createOne(connection, contact, listIds);
  const joined = await joinExisting(connection, contact, listIds, false);
  if (joined) return joined;
  await connection.memberships.forget(contact.userId);
  return { kind: 'deleted', contactId: contact.knownContactId };
}

export const syncContacts = (
  connection: LoopsConnection,
  contacts: ContactToSync[],
  listIds: string[],
  onOutcome: OutcomeSink<ContactOutcome>,
): Promise<void> =>
  forEachSettling(contacts, connection.context.gate.capacity, async (contact) => {
    await onOutcome(contact.userId, await syncOne(connection, contact, listIds));
  });
