import { AdminError } from '../common/admin-error.js';
import type { LoopsCore } from './core.js';
import { deleteWithEvents } from './routes/contacts.js';
import type { LoopsContact } from './store/records.js';

/** Who the person is: an email or a userId. */
export interface PersonRef {
  email?: string | undefined;
  userId?: string | undefined;
}

function findPerson(core: LoopsCore, ref: PersonRef): LoopsContact {
  const contact =
    ref.email !== undefined ? core.store.find({ email: ref.email }) : core.store.find(ref);
  if (!contact) throw new AdminError(404, 'No contact has this email or userId.');
  return contact;
}

/** Unsubscribes from everything; `contact.unsubscribed` only when it was subscribed. */
function unsubscribeAll(core: LoopsCore, contact: LoopsContact): void {
  const events = core.store.apply(contact, { subscribed: false });
  if (events.unsubscribed) core.webhooks.emit('contact.unsubscribed', contact);
}

/** An email event that suppresses the address and unsubscribes the contact. */
function suppressAfter(
  core: LoopsCore,
  ref: PersonRef,
  eventName: 'email.hardBounced' | 'email.spamReported',
) {
  const contact = findPerson(core, ref);
  core.store.setSuppressed(contact, true);
  core.webhooks.emitEmailEvent(eventName, contact, 'Emulated campaign');
  unsubscribeAll(core, contact);
  return { id: contact.id, suppressed: true, subscribed: contact.subscribed };
}

/**
 * What people do outside the API (a preference page, the dashboard, their mail provider), each
 * sending the webhook events Loops documents for it.
 */
export const personActions = {
  leaveList(core: LoopsCore, ref: PersonRef, listId: string) {
    const contact = findPerson(core, ref);
    if (!core.store.listsById.has(listId))
      throw new AdminError(404, 'No mailing list has this id.');
    if (core.store.personLeavesList(contact, listId)) {
      core.webhooks.emitListEvent(core.store, 'contact.mailingList.unsubscribed', contact, listId);
    }
    return { id: contact.id, mailingLists: contact.lists ?? [] };
  },
  unsubscribe(core: LoopsCore, ref: PersonRef) {
    const contact = findPerson(core, ref);
    unsubscribeAll(core, contact);
    return { id: contact.id, subscribed: contact.subscribed };
  },
  delete(core: LoopsCore, ref: PersonRef) {
    const contact = findPerson(core, ref);
    deleteWithEvents(core, contact);
    return { id: contact.id, deleted: true };
  },
  /** A hard bounce suppresses the address and, as Loops documents, unsubscribes the contact. */
  hardBounce: (core: LoopsCore, ref: PersonRef) => suppressAfter(core, ref, 'email.hardBounced'),
  /** A spam report: suppressed and unsubscribed like a hard bounce (a guess; see the docs). */
  spamReport: (core: LoopsCore, ref: PersonRef) => suppressAfter(core, ref, 'email.spamReported'),
};
