import { z } from 'zod';
import { formatPostgresTimestamp } from '../clock.js';
import { invalidUuid, MESSAGES, notFound, validationError } from '../errors.js';
import { isUuid } from '../store/uuid.js';
import { listBody, pageOf, readPagination } from './pagination.js';
import { parseWith, peekStringField, readJsonObject, requireFields } from './request-body.js';
import { created, defineRoute, ok, type RouteContext, type RouteRequest } from './types.js';

/** Just enough of topics and contact properties for contact writes to refer to them. */
const propertySchema = z.object({
  key: z
    .string()
    .regex(/^[A-Za-z0-9_]{1,50}$/, 'The `key` must be 1–50 letters, digits or underscores.'),
  type: z.enum(['string', 'number']),
  fallback_value: z.union([z.string(), z.number()]).nullable().optional(),
});

const topicSchema = z.object({
  name: z.string().min(1).max(50),
  default_subscription: z.enum(['opt_in', 'opt_out']),
  description: z.string().max(200).optional(),
  visibility: z.enum(['public', 'private']).optional(),
});

function findProperty(context: RouteContext, id: string) {
  if (!isUuid(id)) throw invalidUuid('id');
  const property = context.definitions.propertiesById.get(id.toLowerCase());
  if (!property) throw notFound(MESSAGES.contactPropertyNotFound);
  return property;
}

function findTopic(context: RouteContext, id: string) {
  if (!isUuid(id)) throw invalidUuid('id');
  const topic = context.definitions.topicsById.get(id.toLowerCase());
  if (!topic) throw notFound(MESSAGES.topicNotFound);
  return topic;
}

/** Unset optional fields are left out, as the spec types them as non-null. */
function propertyBody(property: ReturnType<typeof findProperty>) {
  return {
    id: property.id,
    key: property.key,
    type: property.type,
    ...(property.fallbackValue === null ? {} : { fallback_value: property.fallbackValue }),
    created_at: formatPostgresTimestamp(property.createdAt),
  };
}

function topicBody(topic: ReturnType<typeof findTopic>) {
  return {
    id: topic.id,
    name: topic.name,
    ...(topic.description === null ? {} : { description: topic.description }),
    default_subscription: topic.defaultSubscription,
    visibility: topic.visibility,
    created_at: formatPostgresTimestamp(topic.createdAt),
  };
}

const idKey = (request: RouteRequest) => request.params.id;

export const definitionRoutes = [
  defineRoute(
    'POST',
    '/contact-properties',
    (request, context) => {
      const raw = readJsonObject(request);
      requireFields(raw, ['key', 'type']);
      const body = parseWith(propertySchema, raw);
      if (context.definitions.propertiesByKey.has(body.key)) {
        throw validationError(`A contact property with the key \`${body.key}\` already exists.`);
      }
      const fallback = body.fallback_value ?? null;
      if (fallback !== null && typeof fallback !== body.type) {
        throw validationError(`The \`fallback_value\` must be a ${body.type}.`);
      }
      const property = context.definitions.createProperty(body.key, body.type, fallback);
      return created({ object: 'contact_property', id: property.id });
    },
    (request) => peekStringField(request, 'key'),
  ),
  defineRoute('GET', '/contact-properties', (request, context) => {
    const page = pageOf(context.definitions.properties, readPagination(request.query, 20), (id) =>
      context.definitions.propertiesById.get(id.toLowerCase()),
    );
    return ok(listBody(page, propertyBody));
  }),
  defineRoute(
    'GET',
    '/contact-properties/:id',
    (request, context) =>
      ok({
        object: 'contact_property',
        ...propertyBody(findProperty(context, request.params.id ?? '')),
      }),
    idKey,
  ),
  defineRoute(
    'DELETE',
    '/contact-properties/:id',
    (request, context) => {
      const property = findProperty(context, request.params.id ?? '');
      context.definitions.deleteProperty(property);
      return ok({ object: 'contact_property', deleted: true, id: property.id });
    },
    idKey,
  ),
  defineRoute(
    'POST',
    '/topics',
    (request, context) => {
      const raw = readJsonObject(request);
      requireFields(raw, ['name', 'default_subscription']);
      const body = parseWith(topicSchema, raw);
      const topic = context.definitions.createTopic({
        name: body.name,
        defaultSubscription: body.default_subscription,
        description: body.description ?? null,
        visibility: body.visibility ?? 'private',
      });
      return created({ object: 'topic', id: topic.id });
    },
    (request) => peekStringField(request, 'name'),
  ),
  defineRoute('GET', '/topics', (request, context) => {
    const page = pageOf(context.definitions.topics, readPagination(request.query, 20), (id) =>
      context.definitions.topicsById.get(id.toLowerCase()),
    );
    return ok(listBody(page, topicBody));
  }),
  defineRoute(
    'GET',
    '/topics/:id',
    (request, context) =>
      ok({ object: 'topic', ...topicBody(findTopic(context, request.params.id ?? '')) }),
    idKey,
  ),
  defineRoute(
    'DELETE',
    '/topics/:id',
    (request, context) => {
      const topic = findTopic(context, request.params.id ?? '');
      context.definitions.deleteTopic(topic);
      return ok({ object: 'topic', id: topic.id, deleted: true });
    },
    idKey,
  ),
];
