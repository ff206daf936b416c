import { invalidUuid, MESSAGES, notFound, validationError } from '../errors.js';
import type { ContactRecord, SegmentRecord } from '../store/records.js';
import { isUuid } from '../store/uuid.js';
import type { RouteContext } from './types.js';

/** A contact by UUID or email; 404 `Contact not found` when there is none. */
export function findContactOr404(context: RouteContext, identifier: string): ContactRecord {
  if (!isUuid(identifier) && !identifier.includes('@')) {
    throw validationError('The `id` must be a valid UUID or an email address.');
  }
  const contact = context.store.findContact(identifier);
  if (!contact) throw notFound(MESSAGES.contactNotFound);
  return contact;
}

/** A segment by id; 422 for a malformed id, 404 `Audience not found` for an unknown one. */
export function findSegmentOr404(context: RouteContext, id: string, field = 'id'): SegmentRecord {
  if (!isUuid(id)) throw invalidUuid(field);
  const segment = context.store.segmentsById.get(id.toLowerCase());
  if (!segment) throw notFound(MESSAGES.segmentNotFound);
  return segment;
}
