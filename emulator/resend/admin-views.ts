// Read-only views of the emulator's state, as the admin API answers them.
import { intParam } from '../common/admin.js';
import { AdminError } from '../common/admin-error.js';
import { formatPostgresTimestamp } from './clock.js';
import type { ContactStore } from './store/contact-store.js';
import type { ContactRecord } from './store/records.js';

function contactView(store: ContactStore, contact: ContactRecord) {
  return {
    id: contact.id,
    email: contact.email,
    first_name: contact.firstName,
    last_name: contact.lastName,
    unsubscribed: contact.unsubscribed,
    properties: contact.properties,
    created_at: formatPostgresTimestamp(contact.createdAt),
    updated_at: formatPostgresTimestamp(contact.updatedAt),
    segment_ids: store.membershipsOfContact(contact).map((membership) => membership.segmentId),
  };
}

/** Contacts, oldest first, by segment or email, with offset paging. */
export function contactsView(store: ContactStore, query: URLSearchParams) {
  const offset = intParam(query, 'offset', 0, Number.MAX_SAFE_INTEGER);
  const limit = intParam(query, 'limit', 1000, 100_000);
  const segmentId = query.get('segment_id');
  const email = query.get('email');
  const segment = segmentId === null ? undefined : store.segmentsById.get(segmentId);
  if (segmentId !== null && !segment) throw new AdminError(404, 'No segment has this id.');
  if (email !== null) {
    const contact = store.contactsByEmail.get(email.toLowerCase());
    const matches = contact && (!segment || store.isMember(contact, segment)) ? [contact] : [];
    return {
      total: matches.length,
      data: matches.slice(offset, offset + limit).map((contact) => contactView(store, contact)),
    };
  }
  const list = segment ? segment.members : store.contacts;
  return {
    total: list.size,
    // SeqList.slice takes a count, not an end index as Array.slice does (above).
    data: list.slice(offset, limit).map((contact) => contactView(store, contact)),
  };
}

export function membershipsView(store: ContactStore, query: URLSearchParams) {
  const segmentId = query.get('segment_id');
  const segments =
    segmentId === null
      ? store.segments.slice(0, store.segments.size)
      : [store.segmentsById.get(segmentId)].filter((segment) => segment !== undefined);
  const data = segments.flatMap((segment) =>
    store.membershipsOf(segment).map((membership) => ({
      contact_id: membership.contactId,
      segment_id: membership.segmentId,
      added_at: formatPostgresTimestamp(membership.addedAt),
    })),
  );
  return { data };
}

export function segmentsView(store: ContactStore) {
  return {
    data: store.segments.slice(0, store.segments.size).map((segment) => ({
      id: segment.id,
      name: segment.name,
      created_at: formatPostgresTimestamp(segment.createdAt),
      contact_count: segment.members.size,
    })),
  };
}
