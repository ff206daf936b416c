import { z } from 'zod';
import { webhookUrlSchema } from '../../common/webhook-input.js';
import { formatPostgresTimestamp } from '../clock.js';
import { invalidUuid, notFound } from '../errors.js';
import { isUuid } from '../store/uuid.js';
import type { WebhookEndpoint, WebhookEventType } from '../webhooks.js';
import { parseWith, readJsonObject, requireFields } from './request-body.js';
import { created, defineRoute, ok, type RouteContext, type RouteRequest } from './types.js';

/**
 * Resend's webhooks API (`/webhooks`): endpoints created here receive the emulator's signed
 * events with the signing secret the create answered, like those the admin API adds. Guesses
 * (docs/emulator.md): event names are not checked against Resend's list, the list answers every
 * endpoint newest first in one page, and endpoints are always `enabled`.
 */

const WEBHOOK_NOT_FOUND = 'Webhook not found';
const createSchema = z.object({
  endpoint: webhookUrlSchema,
  events: z.array(z.string().min(1)).min(1),
});

/** When each endpoint was created; the dispatcher's endpoints do not carry it. */
const createdAt = new WeakMap<WebhookEndpoint, string>();

function webhookItem(endpoint: WebhookEndpoint) {
  return {
    id: endpoint.id,
    endpoint: endpoint.url,
    events: endpoint.events,
    status: 'enabled',
    created_at: createdAt.get(endpoint) ?? null,
  };
}

function findWebhookOr404(context: RouteContext, id: string): WebhookEndpoint {
  if (!isUuid(id)) throw invalidUuid('webhook_id');
  const endpoint = context.webhooks.endpoints.find((each) => each.id === id.toLowerCase());
  if (!endpoint) throw notFound(WEBHOOK_NOT_FOUND);
  return endpoint;
}

function createWebhook(request: RouteRequest, context: RouteContext) {
  const body = readJsonObject(request);
  requireFields(body, ['endpoint', 'events']);
  const { endpoint: url, events } = parseWith(createSchema, body);
  const endpoint = context.webhooks.addEndpoint({ url, events: events as WebhookEventType[] });
  createdAt.set(endpoint, formatPostgresTimestamp(Date.now() * 1000));
  return created({ object: 'webhook', id: endpoint.id, signing_secret: endpoint.secret });
}

const idKey = (request: RouteRequest) => request.params.id;

export const webhookRoutes = [
  defineRoute('POST', '/webhooks', createWebhook),
  defineRoute('GET', '/webhooks', (_request, context) =>
    ok({
      object: 'list',
      has_more: false,
      data: [...context.webhooks.endpoints].reverse().map(webhookItem),
    }),
  ),
  defineRoute(
    'GET',
    '/webhooks/:id',
    (request, context) => {
      const endpoint = findWebhookOr404(context, request.params.id ?? '');
      return ok({ object: 'webhook', ...webhookItem(endpoint), signing_secret: endpoint.secret });
    },
    idKey,
  ),
  defineRoute(
    'DELETE',
    '/webhooks/:id',
    (request, context) => {
      const endpoint = findWebhookOr404(context, request.params.id ?? '');
      context.webhooks.removeEndpoint(endpoint.id);
      return ok({ object: 'webhook', id: endpoint.id, deleted: true });
    },
    idKey,
  ),
];
