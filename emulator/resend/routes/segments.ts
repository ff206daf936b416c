import { z } from 'zod';
import { invalidUuid } from '../errors.js';
import { isUuid } from '../store/uuid.js';
import { findSegmentOr404 } from './lookup.js';
import { listBody, pageOf, readPagination } from './pagination.js';
import { parseWith, peekStringField, readJsonObject, requireFields } from './request-body.js';
import { segmentContactItem, segmentListItem } from './serialize.js';
import { created, defineRoute, ok, type RouteContext, type RouteRequest } from './types.js';

const segmentBodySchema = z.object({ name: z.string().min(1) });

export function readSegmentName(request: RouteRequest): string {
  const body = readJsonObject(request);
  requireFields(body, ['name']);
  return parseWith(segmentBodySchema, body).name;
}

/** Members of a segment, newest contact first (`/segments/{id}/contacts`, `?segment_id=`). */
export function listSegmentContacts(
  context: RouteContext,
  segmentId: string,
  query: URLSearchParams,
) {
  const segment = findSegmentOr404(context, segmentId);
  const page = pageOf(segment.members, readPagination(query), (id) =>
    context.store.findContact(id),
  );
  return ok(listBody(page, segmentContactItem));
}

export function listSegments(context: RouteContext, query: URLSearchParams) {
  const page = pageOf(context.store.segments, readPagination(query), (id) =>
    context.store.segmentsById.get(id.toLowerCase()),
  );
  return listBody(page, segmentListItem);
}

/** Deleting is answered 200 `deleted: true` even for an unknown id, as the API does. */
export function deleteSegmentIfAny(context: RouteContext, id: string): void {
  if (!isUuid(id)) throw invalidUuid('id');
  const segment = context.store.segmentsById.get(id.toLowerCase());
  if (segment) context.store.deleteSegment(segment);
}

const segmentNameKey = (request: RouteRequest) => peekStringField(request, 'name');
const idKey = (request: RouteRequest) => request.params.id;

export const segmentRoutes = [
  defineRoute(
    'POST',
    '/segments',
    (request, context) => {
      const segment = context.store.createSegment(readSegmentName(request));
      return created({ object: 'segment', id: segment.id, name: segment.name });
    },
    segmentNameKey,
  ),
  defineRoute('GET', '/segments', (request, context) => ok(listSegments(context, request.query))),
  defineRoute(
    'GET',
    '/segments/:id',
    (request, context) => {
      const segment = findSegmentOr404(context, request.params.id ?? '');
      return ok({ object: 'segment', ...segmentListItem(segment) });
    },
    idKey,
  ),
  defineRoute(
    'PATCH',
    '/segments/:id',
    (request, context) => {
      const segment = findSegmentOr404(context, request.params.id ?? '');
      segment.name = readSegmentName(request);
      return ok({ object: 'segment', id: segment.id });
    },
    idKey,
  ),
  defineRoute(
    'DELETE',
    '/segments/:id',
    (request, context) => {
      const id = request.params.id ?? '';
      deleteSegmentIfAny(context, id);
      return ok({ object: 'segment', id, deleted: true });
    },
    idKey,
  ),
  defineRoute(
    'GET',
    '/segments/:id/contacts',
    (request, context) => listSegmentContacts(context, request.params.id ?? '', request.query),
    idKey,
  ),
];
