import { ok, type RouteRequest } from '../../common/routing.js';
import { badRequest, LoopsError, MESSAGES } from '../errors.js';
import { contactBody } from '../serialize.js';
import type { LoopsContact } from '../store/records.js';
import {
  notFound,
  readContactChanges,
  readJsonObject,
  readOneIdentifier,
} from './contact-fields.js';
import type { LoopsContext } from './context.js';
import { defineRoute } from './context.js';

/** The email or userId a request is about, for the request log; never throws. */
export function identifierKey(request: RouteRequest): string | undefined {
  const fromQuery = request.query.get('email') ?? request.query.get('userId');
  if (fromQuery !== null) return fromQuery.toLowerCase();
  try {
    const body = JSON.parse(request.rawBody.toString('utf8')) as Record<string, unknown>;
    const value = body.email ?? body.userId;
    return typeof value === 'string' ? value.toLowerCase() : undefined;
  } catch {
    return undefined;
  }
}

function rules(context: LoopsContext) {
  return {
    store: context.store,
    requireDefinedProperties: context.settings.requireDefinedProperties,
  };
}

/** `POST /v1/contacts/create`: 409 when the email or the userId is taken. */
function createContact(request: RouteRequest, context: LoopsContext) {
  const body = readJsonObject(request);
  if (body.email === undefined || body.email === null) throw badRequest(MESSAGES.emailRequired);
  const changes = readContactChanges(rules(context), body);
  const { store } = context;
  const email = changes.email ?? '';
  if (store.find({ email }) || (changes.userId && store.find({ userId: changes.userId }))) {
    throw new LoopsError(409, MESSAGES.contactExists);
  }
  const contact = store.create({ ...changes, email });
  context.webhooks.reportWrite(store, contact, emptyEvents(contact), true);
  return ok({ success: true, id: contact.id });
}

function emptyEvents(contact: LoopsContact) {
  return { unsubscribed: false, listsJoined: [...(contact.lists ?? [])], listsLeft: [] };
}

/**
 * `PUT /v1/contacts/update`: found by email or userId (either, when both are sent, the other
 * then updated), or created from both; `subscribed: true` subscribes the contact again.
 */
function updateContact(request: RouteRequest, context: LoopsContext) {
  const body = readJsonObject(request);
  const changes = readContactChanges(rules(context), body);
  if (changes.email === undefined && changes.userId === undefined) {
    throw badRequest(MESSAGES.identifierRequired);
  }
  const { store } = context;
  const byEmail = changes.email === undefined ? undefined : store.find({ email: changes.email });
  const byUserId =
    changes.userId === undefined ? undefined : store.find({ userId: changes.userId });
  if (byEmail && byUserId && byEmail !== byUserId) throw badRequest(MESSAGES.identifiersDisagree);
  const found = byUserId ?? byEmail;
  if (!found) {
    if (changes.email === undefined) throw badRequest(MESSAGES.emailRequiredToCreate);
    const contact = store.create({ ...changes, email: changes.email });
    context.webhooks.reportWrite(store, contact, emptyEvents(contact), true);
    return ok({ success: true, id: contact.id });
  }
  // Found by email, the email is the key, kept as first written; found by userId, it is updated.
  const { email: _key, ...rest } = changes;
  const events = store.apply(found, byUserId ? changes : rest);
  context.webhooks.reportWrite(store, found, events, false);
  return ok({ success: true, id: found.id });
}

function findContact(request: RouteRequest, context: LoopsContext) {
  const identifier = readOneIdentifier({
    email: request.query.get('email') ?? undefined,
    userId: request.query.get('userId') ?? undefined,
  });
  const contact = context.store.find(identifier);
  return ok(contact ? [contactBody(contact)] : []);
}

/** `POST /v1/contacts/delete`: sends `contact.unsubscribed` and `contact.deleted`, as Loops does. */
function deleteContact(request: RouteRequest, context: LoopsContext) {
  const body = readJsonObject(request);
  const contact = context.store.find(readOneIdentifier({ email: body.email, userId: body.userId }));
  if (!contact) throw notFound();
  deleteWithEvents(context, contact);
  return ok({ success: true, message: MESSAGES.contactDeleted });
}

export function deleteWithEvents(
  context: Pick<LoopsContext, 'store' | 'webhooks'>,
  contact: LoopsContact,
): void {
  context.webhooks.emit('contact.unsubscribed', contact);
  context.webhooks.emit('contact.deleted', contact);
  context.store.delete(contact);
}

export const contactRoutes = [
  defineRoute('POST', '/v1/contacts/create', createContact, identifierKey),
  defineRoute('PUT', '/v1/contacts/update', updateContact, identifierKey),
  defineRoute('GET', '/v1/contacts/find', findContact, identifierKey),
  defineRoute('POST', '/v1/contacts/delete', deleteContact, identifierKey),
];
