import type { ContactProperties } from 'loops';
import { emailHash } from '../../../common/emails.js';
import { recordConsentFact } from '../../../db/consent.js';
import type { ChangeOutcome, ContactPatch, ContactRef, OutcomeSink } from '../platform.js';
import { forEachSettling } from '../pool.js';
import type { LoopsAnswer } from './client.js';
import { type LoopsConnection, mailingLists, rejection } from './connection.js';

/**
 * A change of a contact by the user's id (Loops' second key, which this service sets). An update
 * is an upsert, so it never carries an email here: one for a contact Loops no longer has is
 * refused instead of creating it, and a find then tells whether the contact is gone (`deleted`).
 */
async function updateKnown(
  connection: LoopsConnection,
  ref: ContactRef,
  change: { properties?: ContactProperties; mailingLists?: Record<string, boolean> },
): Promise<ChangeOutcome> {
  const { api, memberships } = connection;
  const updated = await api.idempotent('contacts.update', (sdk) =>
    sdk.updateContact({ userId: ref.userId, ...change }),
  );
  if (updated.kind === 'ok') return { kind: 'done' };
  if (updated.kind === 'not_found' || updated.kind === 'rejected') {
    const found = await api.idempotent('contacts.find', (sdk) =>
      sdk.findContact({ userId: ref.userId }),
    );
    if (found.kind === 'ok' && found.data.length === 0) {
      await memberships.forget(ref.userId);
      return { kind: 'deleted' };
    }
  }
  return rejection(updated);
}

/** Only the fields to change; null empties one (Loops' way to clear a property). */
function patchProperties(connection: LoopsConnection, { fields }: ContactPatch): ContactProperties {
  return {
    ...(fields.firstName !== undefined ? { firstName: fields.firstName } : {}),
    ...(fields.lastName !== undefined ? { lastName: fields.lastName } : {}),
    ...(fields.properties ? connection.properties.typed(fields.properties) : {}),
  };
}

const eachRef = <Item>(
  connection: LoopsConnection,
  items: Item[],
  userIdOf: (item: Item) => string,
  onOutcome: OutcomeSink<ChangeOutcome>,
  change: (item: Item) => Promise<ChangeOutcome>,
) =>
  forEachSettling(items, connection.context.gate.capacity, async (item) => {
    await onOutcome(userIdOf(item), await change(item));
  });

export const patchContacts = (
  connection: LoopsConnection,
  patches: ContactPatch[],
  onOutcome: OutcomeSink<ChangeOutcome>,
) =>
  eachRef(
    connection,
    patches,
    (patch) => patch.contact.userId,
    onOutcome,
    (patch) =>
      updateKnown(connection, patch.contact, { properties: patchProperties(connection, patch) }),
  );

/**
 * A mirror removal: `mailingLists: { <id>: false }`, remembered first as this service's own, so
 * that the user is joined again when it comes back (a list left by the person is not).
 */
export const removeFromList = (
  connection: LoopsConnection,
  contacts: ContactRef[],
  listId: string,
  onOutcome: OutcomeSink<ChangeOutcome>,
) =>
  eachRef(
    connection,
    contacts,
    (ref) => ref.userId,
    onOutcome,
    async (ref) => {
      await connection.memberships.note(ref.userId, [listId], 'removed');
      return updateKnown(connection, ref, { mailingLists: mailingLists([listId], false) });
    },
  );

/**
 * The user opted out in the app: `subscribed: false` (the only value this service sends). Loops
 * now has the contact unsubscribed: recorded as its answer would show it, so that later runs skip
 * the user without asking Loops (as Resend's directory remembers it).
 */
async function unsubscribeOne(connection: LoopsConnection, ref: ContactRef) {
  const outcome = await updateKnown(connection, ref, { properties: { subscribed: false } });
  if (outcome.kind === 'done' && ref.email) {
    const { context, account } = connection;
    await recordConsentFact(
      context.sql,
      account,
      { platform: 'loops', emailHash: emailHash(ref.email), contactId: ref.contactId },
      { kind: 'unsubscribed', unsubscribed: true },
    );
  }
  return outcome;
}

export const markUnsubscribed = (
  connection: LoopsConnection,
  contacts: ContactRef[],
  onOutcome: OutcomeSink<ChangeOutcome>,
) =>
  eachRef(
    connection,
    contacts,
    (ref) => ref.userId,
    onOutcome,
    (ref) => unsubscribeOne(connection, ref),
  );

const deleteOutcome = (answer: LoopsAnswer<unknown>): ChangeOutcome =>
  answer.kind === 'ok'
    ? { kind: 'done' }
    : answer.kind === 'not_found'
      ? { kind: 'not_found' }
      : rejection(answer);

/**
 * Erasure: the contact is deleted, found by the user's id, else by the email this service sent
 * (a 404 for both: it is gone already).
 */
async function deleteOne(connection: LoopsConnection, ref: ContactRef): Promise<ChangeOutcome> {
  const { api, memberships } = connection;
  let answer = await api.idempotent('contacts.delete', (sdk) =>
    sdk.deleteContact({ userId: ref.userId }),
  );
  const email = ref.email;
  if (answer.kind === 'not_found' && email) {
    answer = await api.idempotent('contacts.delete', (sdk) => sdk.deleteContact({ email }));
  }
  const outcome = deleteOutcome(answer);
  if (outcome.kind !== 'rejected') await memberships.forget(ref.userId);
  return outcome;
}

export const deleteContacts = (
  connection: LoopsConnection,
  contacts: ContactRef[],
  onOutcome: OutcomeSink<ChangeOutcome>,
) =>
  eachRef(
    connection,
    contacts,
    (ref) => ref.userId,
    onOutcome,
    (ref) => deleteOne(connection, ref),
  );
