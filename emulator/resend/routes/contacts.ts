import { validationError } from '../errors.js';
import { contactEventData } from '../webhooks.js';
import {
  checkTopics,
  contactUpdateSchema,
  parseContactCreate,
  segmentsNamedBy,
  toContactFields,
  upsertFromCreate,
} from './contact-writes.js';
import { findContactOr404 } from './lookup.js';
import { listBody, pageOf, readPagination } from './pagination.js';
import { parseWith, peekStringField, readJsonObject } from './request-body.js';
import { listSegmentContacts } from './segments.js';
import { contactDetail, contactListItem } from './serialize.js';
import { created, defineRoute, ok, type RouteRequest } from './types.js';

const emailKey = (request: RouteRequest) => peekStringField(request, 'email')?.toLowerCase();
const identifierKey = (request: RouteRequest) => request.params.contact;

export const contactRoutes = [
  defineRoute(
    'POST',
    '/contacts',
    (request, context) => {
      const body = parseContactCreate(readJsonObject(request));
      const segments = segmentsNamedBy(context, body);
      checkTopics(context, body);
      const contact = upsertFromCreate(context, body, segments);
      return created({ object: 'contact', id: contact.id });
    },
    emailKey,
  ),
  defineRoute('GET', '/contacts', (request, context) => {
    const segmentId = request.query.get('segment_id');
    if (segmentId !== null) return listSegmentContacts(context, segmentId, request.query);
    const page = pageOf(context.store.contacts, readPagination(request.query), (id) =>
      context.store.findContact(id),
    );
    return ok(listBody(page, contactListItem));
  }),
  defineRoute(
    'GET',
    '/contacts/:contact',
    (request, context) => {
      const contact = findContactOr404(context, request.params.contact ?? '');
      return ok(contactDetail(contact, context.definitions));
    },
    identifierKey,
  ),
  defineRoute(
    'PATCH',
    '/contacts/:contact',
    (request, context) => {
      const contact = findContactOr404(context, request.params.contact ?? '');
      const body = parseWith(contactUpdateSchema, readJsonObject(request));
      if (body.email !== undefined && body.email.toLowerCase() !== contact.emailKey) {
        throw validationError('The `email` of a contact cannot be changed.');
      }
      context.store.updateContact(contact, toContactFields(context, body));
      context.webhooks.emit('contact.updated', () => contactEventData(context.store, contact));
      return ok({ object: 'contact', id: contact.id });
    },
    identifierKey,
  ),
  defineRoute(
    'DELETE',
    '/contacts/:contact',
    (request, context) => {
      const contact = findContactOr404(context, request.params.contact ?? '');
      const data = contactEventData(context.store, contact);
      context.store.deleteContact(contact);
      context.webhooks.emit('contact.deleted', () => data);
      return ok({ object: 'contact', contact: contact.id, deleted: true });
    },
    identifierKey,
  ),
];
