import type { Contact } from 'loops';
import { propertyField } from '../../../common/field-changes.js';
import type { ContactToSync } from '../platform.js';
import type { LoopsAnswer, LoopsApi } from './client.js';

/** The contact the user's id names, else the one its email names; null: Loops has neither. */
export async function findContact(
  api: LoopsApi,
  who: { userId: string; email: string | null },
): Promise<LoopsAnswer<Contact | null>> {
  const byUserId = await api.idempotent('contacts.find', (sdk) =>
    sdk.findContact({ userId: who.userId }),
  );
  if (byUserId.kind !== 'ok' || byUserId.data[0] || !who.email) {
    return byUserId.kind === 'ok' ? { kind: 'ok', data: byUserId.data[0] ?? null } : byUserId;
  }
  const email = who.email;
  const byEmail = await api.idempotent('contacts.find', (sdk) => sdk.findContact({ email }));
  return byEmail.kind === 'ok' ? { kind: 'ok', data: byEmail.data[0] ?? null } : byEmail;
}

const isEmpty = (value: unknown): boolean => value === undefined || value === null || value === '';

/**
 * The field keys (see field-changes.ts) empty on a contact found, so that a first meeting fills
 * them in without overwriting what someone wrote there.
 */
export function emptyFieldsOf(found: Contact, contact: ContactToSync): string[] {
  return [
    ...(isEmpty(found.firstName) ? ['first_name'] : []),
    ...(isEmpty(found.lastName) ? ['last_name'] : []),
    ...Object.keys(contact.properties)
      .filter((key) => isEmpty(found[key]))
      .map(propertyField),
  ];
}

/** The lists of `listIds` a contact found is subscribed to. */
export const listsHeld = (found: Contact, listIds: string[]): string[] =>
  listIds.filter((listId) => found.mailingLists?.[listId] === true);
