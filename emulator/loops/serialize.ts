import type { LoopsContact, MailingListRecord } from './store/records.js';

/** `mailingLists` as Loops shows it: the subscribed lists, each `true`. */
function subscribedLists(contact: LoopsContact): Record<string, true> {
  const lists: Record<string, true> = {};
  for (const id of contact.lists ?? []) lists[id] = true;
  return lists;
}

/** A contact as `GET /v1/contacts/find` answers it: standard fields, then custom properties. */
export function contactBody(contact: LoopsContact) {
  return {
    id: contact.id,
    email: contact.email,
    firstName: contact.firstName,
    lastName: contact.lastName,
    source: contact.source,
    subscribed: contact.subscribed,
    userGroup: contact.userGroup,
    userId: contact.userId,
    mailingLists: subscribedLists(contact),
    optInStatus: null,
    ...contact.properties,
  };
}

export function contactIdentity(contact: LoopsContact) {
  return { id: contact.id, email: contact.email, userId: contact.userId };
}

export function mailingListBody(list: MailingListRecord) {
  return { id: list.id, name: list.name, description: list.description, isPublic: list.isPublic };
}
