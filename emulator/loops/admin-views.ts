import { intParam } from '../common/admin.js';
import type { LoopsCore } from './core.js';
import { mailingListBody } from './serialize.js';
import type { LoopsContact } from './store/records.js';

export function adminContactView(contact: LoopsContact) {
  return {
    id: contact.id,
    email: contact.email,
    userId: contact.userId,
    firstName: contact.firstName,
    lastName: contact.lastName,
    source: contact.source,
    userGroup: contact.userGroup,
    subscribed: contact.subscribed,
    mailingLists: contact.lists ?? [],
    properties: contact.properties,
    suppressed: contact.suppressed,
    optedOutLists: contact.optedOutLists ?? [],
    resubscriptions: contact.resubscriptions,
    createdAt: new Date(contact.createdAtMs).toISOString(),
  };
}

/**
 * Contacts, oldest first, with offset paging; by email, userId (one lookup) or list (a scan, fine
 * for tests, slow at a million).
 */
export function contactsView(core: LoopsCore, query: URLSearchParams) {
  const offset = intParam(query, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const limit = intParam(query, 'limit', 1000, 100_000);
  const email = query.get('email');
  const userId = query.get('userId');
  if (email !== null || userId !== null) {
    const contact = core.store.find(email !== null ? { email } : { userId: userId ?? '' });
    const matches = contact ? [contact] : [];
    return {
      total: matches.length,
      data: matches.slice(offset, offset + limit).map(adminContactView),
    };
  }
  const listId = query.get('listId');
  if (listId !== null) {
    const all = core.store.contacts.slice(0, core.store.contacts.size);
    const members = all.filter((contact) => contact.lists?.includes(listId));
    return {
      total: members.length,
      data: members.slice(offset, offset + limit).map(adminContactView),
    };
  }
  return {
    total: core.store.contacts.size,
    // SeqList.slice takes a count, not an end index.
    data: core.store.contacts.slice(offset, limit).map(adminContactView),
  };
}

export function listsView(core: LoopsCore) {
  return { data: core.store.lists.map(mailingListBody) };
}

export function statsView(core: LoopsCore) {
  return {
    contacts: core.store.contacts.size,
    mailingLists: core.store.lists.length,
    subscriptions: core.store.subscriptionCount,
    customProperties: core.store.properties.size,
    requests: core.log.total,
    rateLimit: core.rateLimiter.requestsPerSecond,
  };
}
