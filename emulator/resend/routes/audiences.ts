import { MESSAGES, notFound } from '../errors.js';
import type { ContactRecord, SegmentRecord } from '../store/records.js';
import {
  checkTopics,
  contactUpdateSchema,
  parseContactCreate,
  segmentsNamedBy,
  toContactFields,
  upsertFromCreate,
} from './contact-writes.js';
import { findContactOr404, findSegmentOr404 } from './lookup.js';
import { parseWith, peekStringField, readJsonObject } from './request-body.js';
import { deleteSegmentIfAny, listSegmentContacts, readSegmentName } from './segments.js';
import { contactDetail, segmentListItem } from './serialize.js';
import { created, defineRoute, ok, type RouteContext, type RouteRequest } from './types.js';

/**
 * The deprecated Audiences API. Audiences are segments (one id space). The audience-scoped
 * contact paths act on membership: GET and PATCH find only members, DELETE removes the
 * membership (the contact itself stays, as re-creating it later gives back the same id).
 */
function findMember(context: RouteContext, request: RouteRequest) {
  const segment = findSegmentOr404(context, request.params.id ?? '');
  const contact = findContactOr404(context, request.params.contact ?? '');
  if (!context.store.isMember(contact, segment)) throw notFound(MESSAGES.contactNotFound);
  return contact;
}

function removeMembershipIfAny(context: RouteContext, segmentId: string, identifier: string) {
  const segment: SegmentRecord | undefined = context.store.segmentsById.get(
    segmentId.toLowerCase(),
  );
  const contact: ContactRecord | undefined = context.store.findContact(identifier);
  if (segment && contact) context.store.removeMembership(contact, segment);
}

const idKey = (request: RouteRequest) => request.params.id;
const contactKey = (request: RouteRequest) => request.params.contact;

export const audienceRoutes = [
  defineRoute(
    'POST',
    '/audiences',
    (request, context) => {
      const segment = context.store.createSegment(readSegmentName(request));
      return created({ object: 'audience', id: segment.id, name: segment.name });
    },
    (request) => peekStringField(request, 'name'),
  ),
  defineRoute('GET', '/audiences', (_request, context) => {
    const all = context.store.segments.page({ limit: undefined });
    return ok({ object: 'list', data: (all?.items ?? []).map(segmentListItem) });
  }),
  defineRoute(
    'GET',
    '/audiences/:id',
    (request, context) => {
      const segment = findSegmentOr404(context, request.params.id ?? '');
      return ok({ object: 'audience', ...segmentListItem(segment) });
    },
    idKey,
  ),
  defineRoute(
    'DELETE',
    '/audiences/:id',
    (request, context) => {
      const id = request.params.id ?? '';
      deleteSegmentIfAny(context, id);
      return ok({ object: 'audience', id, deleted: true });
    },
    idKey,
  ),
  defineRoute(
    'POST',
    '/audiences/:id/contacts',
    (request, context) => {
      const segment = findSegmentOr404(context, request.params.id ?? '');
      const body = parseContactCreate(readJsonObject(request));
      const segments = [segment, ...segmentsNamedBy(context, body)];
      checkTopics(context, body);
      const contact = upsertFromCreate(context, body, segments);
      return created({ object: 'contact', id: contact.id });
    },
    (request) => peekStringField(request, 'email')?.toLowerCase(),
  ),
  defineRoute(
    'GET',
    '/audiences/:id/contacts',
    (request, context) => listSegmentContacts(context, request.params.id ?? '', request.query),
    idKey,
  ),
  defineRoute(
    'GET',
    '/audiences/:id/contacts/:contact',
    (request, context) => ok(contactDetail(findMember(context, request), context.definitions)),
    contactKey,
  ),
  defineRoute(
    'PATCH',
    '/audiences/:id/contacts/:contact',
    (request, context) => {
      const contact = findMember(context, request);
      const body = parseWith(contactUpdateSchema.omit({ email: true }), readJsonObject(request));
      context.store.updateContact(contact, toContactFields(context, body));
      return ok({ object: 'contact', id: contact.id });
    },
    contactKey,
  ),
  defineRoute(
    'DELETE',
    '/audiences/:id/contacts/:contact',
    (request, context) => {
      const identifier = request.params.contact ?? '';
      removeMembershipIfAny(context, request.params.id ?? '', identifier);
      return ok({ object: 'contact', contact: identifier, deleted: true });
    },
    contactKey,
  ),
];
