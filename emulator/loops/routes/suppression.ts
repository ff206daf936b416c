import { ok, type RouteRequest } from '../../common/routing.js';
import { badRequest, MESSAGES } from '../errors.js';
import { notFound, readOneIdentifier } from './contact-fields.js';
import { identifierKey } from './contacts.js';
import type { LoopsContext } from './context.js';
import { defineRoute } from './context.js';

function findQueried(request: RouteRequest, context: LoopsContext) {
  const contact = context.store.find(
    readOneIdentifier({
      email: request.query.get('email') ?? undefined,
      userId: request.query.get('userId') ?? undefined,
    }),
  );
  if (!contact) throw notFound();
  return contact;
}

function removalQuota(context: LoopsContext) {
  const limit = context.settings.suppressionRemovalQuota;
  return { limit, remaining: Math.max(0, limit - context.store.suppressionRemovals) };
}

export const suppressionRoutes = [
  defineRoute(
    'GET',
    '/v1/contacts/suppression',
    (request, context) => {
      const contact = findQueried(request, context);
      return ok({
        contact: { id: contact.id, email: contact.email, userId: contact.userId },
        isSuppressed: contact.suppressed,
        removalQuota: removalQuota(context),
      });
    },
    identifierKey,
  ),
  defineRoute(
    'DELETE',
    '/v1/contacts/suppression',
    (request, context) => {
      const contact = findQueried(request, context);
      if (!contact.suppressed) throw badRequest(MESSAGES.notSuppressed);
      if (removalQuota(context).remaining === 0) throw badRequest(MESSAGES.quotaExceeded);
      context.store.setSuppressed(contact, false);
      context.store.suppressionRemovals += 1;
      return ok({
        success: true,
        message: MESSAGES.suppressionRemoved,
        removalQuota: removalQuota(context),
      });
    },
    identifierKey,
  ),
];
