import { SeqList } from '../../common/seq-list.js';
import { MESSAGES, notFound } from '../errors.js';
import type { SegmentRecord } from '../store/records.js';
import { findContactOr404, findSegmentOr404 } from './lookup.js';
import { listBody, pageOf, readPagination } from './pagination.js';
import { segmentListItem } from './serialize.js';
import { defineRoute, ok, type RouteContext, type RouteRequest } from './types.js';

const membershipKey = (request: RouteRequest) =>
  `${request.params.contact ?? ''}→${request.params.segmentId ?? ''}`;

/** Contact first: an unknown contact is `Contact not found` whatever the segment. */
function findPair(context: RouteContext, request: RouteRequest) {
  const contact = findContactOr404(context, request.params.contact ?? '');
  const segment = findSegmentOr404(context, request.params.segmentId ?? '', 'segment_id');
  return { contact, segment };
}

export const membershipRoutes = [
  defineRoute(
    'POST',
    '/contacts/:contact/segments/:segmentId',
    (request, context) => {
      const { contact, segment } = findPair(context, request);
      // Re-adding a member succeeds and keeps the original membership; `unsubscribed` is untouched.
      context.store.addMembership(contact, segment);
      return ok({ id: segment.id });
    },
    membershipKey,
  ),
  defineRoute(
    'DELETE',
    '/contacts/:contact/segments/:segmentId',
    (request, context) => {
      const { contact, segment } = findPair(context, request);
      if (!context.store.removeMembership(contact, segment)) {
        throw notFound(MESSAGES.contactNotInSegment);
      }
      return ok({
        object: 'contact_segment',
        id: contact.id,
        audienceId: segment.id,
        deleted: true,
      });
    },
    membershipKey,
  ),
  defineRoute(
    'GET',
    '/contacts/:contact/segments',
    (request, context) => {
      const contact = findContactOr404(context, request.params.contact ?? '');
      const segments = new SeqList<SegmentRecord>();
      for (const segment of context.store.segmentsOf(contact)) segments.insert(segment);
      const page = pageOf(segments, readPagination(request.query), (id) =>
        context.store.segmentsById.get(id.toLowerCase()),
      );
      return ok(listBody(page, segmentListItem));
    },
    (request) => request.params.contact,
  ),
];
