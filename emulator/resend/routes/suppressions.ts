import { z } from 'zod';
import { formatPostgresTimestamp } from '../clock.js';
import { notFound, validationError } from '../errors.js';
import type { SuppressionRecord } from '../store/suppression-store.js';
import { suppressionEventData } from '../webhooks.js';
import { listBody, pageOf, readPagination } from './pagination.js';
import { parseWith, peekStringField, readJsonObject, requireFields } from './request-body.js';
import { created, defineRoute, ok, type RouteContext, type RouteRequest } from './types.js';

/** The account-level suppression list (`/suppressions`), as Resend's API reference shapes it. */

const SUPPRESSION_NOT_FOUND = 'Suppression not found';
const emails = z.array(z.email()).min(1).max(100);
const batchRemoveSchema = z.union([
  z.strictObject({ emails }),
  z.strictObject({ ids: z.array(z.string()).min(1).max(100) }),
]);

function suppressionBody(suppression: SuppressionRecord) {
  return {
    id: suppression.id,
    email: suppression.email,
    origin: suppression.origin,
    source_id: suppression.sourceId,
    created_at: formatPostgresTimestamp(suppression.createdAt),
  };
}

/** Adds the address (manually); a new entry emits `suppression.added`. */
export function suppress(
  context: RouteContext,
  email: string,
  origin: SuppressionRecord['origin'] = 'manual',
  sourceId: string | null = null,
): SuppressionRecord {
  const { suppression, added } = context.suppressions.add(email, origin, sourceId);
  if (added) context.webhooks.emit('suppression.added', () => suppressionEventData(suppression));
  return suppression;
}

function unsuppress(context: RouteContext, suppression: SuppressionRecord): void {
  context.suppressions.remove(suppression);
  context.webhooks.emit('suppression.removed', () => suppressionEventData(suppression));
}

function findOr404(context: RouteContext, idOrEmail: string): SuppressionRecord {
  const suppression = context.suppressions.find(idOrEmail);
  if (!suppression) throw notFound(SUPPRESSION_NOT_FOUND);
  return suppression;
}

const identifierKey = (request: RouteRequest) => request.params.suppression;

export const suppressionRoutes = [
  defineRoute('POST', '/suppressions/batch/add', (request, context) => {
    const body = readJsonObject(request);
    requireFields(body, ['emails']);
    const { emails: list } = parseWith(z.object({ emails }), body);
    const data = list.map((email) => ({ object: 'suppression', id: suppress(context, email).id }));
    return created({ data });
  }),
  defineRoute('POST', '/suppressions/batch/remove', (request, context) => {
    const body = parseWith(batchRemoveSchema, readJsonObject(request));
    const identifiers = 'emails' in body ? body.emails : body.ids;
    const data = identifiers.map((identifier) => {
      const suppression = context.suppressions.find(identifier);
      if (suppression) unsuppress(context, suppression);
      return { object: 'suppression', id: suppression?.id ?? identifier, deleted: !!suppression };
    });
    return ok({ data });
  }),
  defineRoute(
    'POST',
    '/suppressions',
    (request, context) => {
      const body = readJsonObject(request);
      requireFields(body, ['email']);
      const { email } = parseWith(z.object({ email: z.email() }), body);
      return created({ object: 'suppression', id: suppress(context, email).id });
    },
    (request) => peekStringField(request, 'email')?.toLowerCase(),
  ),
  defineRoute('GET', '/suppressions', (request, context) => {
    const origin = request.query.get('origin');
    if (origin !== null && !['bounce', 'complaint', 'manual'].includes(origin)) {
      throw validationError('The `origin` must be one of bounce, complaint or manual.');
    }
    const pagination = readPagination(request.query, 20);
    if (origin === null) {
      const page = pageOf(context.suppressions.list, pagination, (id) =>
        context.suppressions.find(id),
      );
      return ok(listBody(page, suppressionBody));
    }
    // Filtered lists are small in practice: scan newest first, then page over the matches.
    const all = context.suppressions.list.page({ limit: undefined })?.items ?? [];
    const matching = all.filter((entry) => entry.origin === origin);
    const cursorId = pagination.after ?? pagination.before;
    let start = 0;
    if (cursorId !== undefined) {
      const index = matching.findIndex((entry) => entry.id === cursorId);
      if (index < 0) throw validationError('The cursor does not match any item in this list.');
      start =
        pagination.after !== undefined ? index + 1 : Math.max(0, index - (pagination.limit ?? 20));
    }
    const end =
      pagination.before !== undefined && cursorId !== undefined
        ? matching.findIndex((entry) => entry.id === cursorId)
        : start + (pagination.limit ?? 20);
    const items = matching.slice(start, end);
    return ok({
      object: 'list',
      has_more: pagination.before !== undefined ? start > 0 : end < matching.length,
      data: items.map(suppressionBody),
    });
  }),
  defineRoute(
    'GET',
    '/suppressions/:suppression',
    (request, context) =>
      ok({
        object: 'suppression',
        ...suppressionBody(findOr404(context, request.params.suppression ?? '')),
      }),
    identifierKey,
  ),
  defineRoute(
    'DELETE',
    '/suppressions/:suppression',
    (request, context) => {
      const suppression = findOr404(context, request.params.suppression ?? '');
      unsuppress(context, suppression);
      return ok({ object: 'suppression', id: suppression.id, deleted: true });
    },
    identifierKey,
  ),
];
