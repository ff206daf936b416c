import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import {
  ADMIN_PREFIX,
  firstAdminAnswer,
  handleAdminRequest,
  parseAdminBody,
  runtimeAdminRoute,
} from '../common/admin.js';
import { AdminError } from '../common/admin-error.js';
import { webhookSecretSchema, webhookUrlSchema } from '../common/webhook-input.js';
import { bulkSeedContacts } from './admin-seed.js';
import { contactsView, membershipsView, segmentsView } from './admin-views.js';
import type { EmulatorCore } from './core.js';
import { suppress } from './routes/suppressions.js';
import { contactEventData } from './webhooks.js';

const configSchema = z.strictObject({
  rateLimit: z.number().int().min(1).optional(),
  resetOmittedFieldsOnDuplicateCreate: z.boolean().optional(),
  requireDefinedProperties: z.boolean().optional(),
  importQueuedMs: z.number().int().min(0).optional(),
  importRefusal: z.union([z.literal(403), z.literal(404), z.null()]).optional(),
  importFailEmails: z.array(z.string().transform((email) => email.toLowerCase())).optional(),
  importSkipEmails: z.array(z.string().transform((email) => email.toLowerCase())).optional(),
});
const segmentSeedSchema = z.strictObject({ name: z.string().min(1) });
const webhookEventSchema = z.enum([
  'contact.created',
  'contact.updated',
  'contact.deleted',
  'suppression.added',
  'suppression.removed',
]);
const webhookEndpointSchema = z.strictObject({
  url: webhookUrlSchema,
  secret: webhookSecretSchema.optional(),
  events: z.array(webhookEventSchema).optional(),
});
const webhookSettingsSchema = z.strictObject({
  retryDelaysMs: z.array(z.number().int().min(0).max(86_400_000)).max(20),
});
const contactActionSchema = z.strictObject({ email: z.string().min(1) });
const suppressionSeedSchema = z.strictObject({
  email: z.email(),
  origin: z.enum(['bounce', 'complaint', 'manual']).default('bounce'),
});

/** What a person does to their own contact, outside the API: each emits its webhook event. */
function contactAction(
  core: EmulatorCore,
  action: 'unsubscribe' | 'resubscribe' | 'delete',
  email: string,
) {
  const store = core.store;
  const contact = store.contactsByEmail.get(email.toLowerCase());
  if (!contact) throw new AdminError(404, 'No contact has this email.');
  if (action === 'delete') {
    const data = contactEventData(store, contact);
    store.deleteContact(contact);
    core.webhooks.emit('contact.deleted', () => data);
    return { id: contact.id, deleted: true };
  }
  store.updateContact(contact, { unsubscribed: action === 'unsubscribe' });
  core.webhooks.emit('contact.updated', () => contactEventData(store, contact));
  return { id: contact.id, unsubscribed: contact.unsubscribed };
}

type Body = () => Promise<Buffer>;

async function stateRoute(
  core: EmulatorCore,
  operation: string,
  query: URLSearchParams,
  body: Body,
) {
  const store = core.store;
  switch (operation) {
    case 'GET /segments':
      return segmentsView(store);
    case 'POST /segments': {
      const { name } = parseAdminBody(segmentSeedSchema, await body());
      return { id: store.createSegment(name).id };
    }
    case 'GET /contacts':
      return contactsView(store, query);
    case 'POST /contacts/bulk':
      return bulkSeedContacts(store, parseAdminBody(z.unknown(), await body()));
    case 'GET /memberships':
      return membershipsView(store, query);
    case 'GET /stats':
      return {
        contacts: store.contacts.size,
        segments: store.segments.size,
        memberships: store.membershipCount,
        requests: core.log.total,
        rateLimit: core.rateLimiter.requestsPerSecond,
      };
    case 'POST /reset':
      core.reset();
      return { reset: true };
    default:
      return undefined;
  }
}

async function webhookRoute(core: EmulatorCore, operation: string, body: Body) {
  switch (operation) {
    case 'GET /webhooks':
      return { endpoints: core.webhooks.endpoints, retryDelaysMs: core.webhooks.retryDelaysMs };
    case 'POST /webhooks':
      return core.webhooks.addEndpoint(parseAdminBody(webhookEndpointSchema, await body()));
    case 'DELETE /webhooks': {
      const removed = core.webhooks.endpoints.length;
      for (const endpoint of [...core.webhooks.endpoints])
        core.webhooks.removeEndpoint(endpoint.id);
      return { removed };
    }
    case 'PUT /webhooks/settings': {
      const { retryDelaysMs } = parseAdminBody(webhookSettingsSchema, await body());
      core.webhooks.retryDelaysMs = retryDelaysMs;
      return { retryDelaysMs };
    }
    case 'GET /webhooks/deliveries':
      return { deliveries: core.webhooks.deliveries };
    case 'POST /webhooks/replay': {
      const { id } = parseAdminBody(z.strictObject({ id: z.string() }), await body());
      const delivery = core.webhooks.replay(id);
      if (!delivery)
        throw new AdminError(404, 'No delivery (to a configured endpoint) has this id.');
      return { id: delivery.id };
    }
    default:
      return undefined;
  }
}

/** What people do (contact actions) and the suppression list they end up on. */
async function personRoute(core: EmulatorCore, operation: string, body: Body) {
  const email = async () => parseAdminBody(contactActionSchema, await body()).email;
  switch (operation) {
    case 'POST /contacts/unsubscribe':
      return contactAction(core, 'unsubscribe', await email());
    case 'POST /contacts/resubscribe':
      return contactAction(core, 'resubscribe', await email());
    case 'POST /contacts/delete':
      return contactAction(core, 'delete', await email());
    case 'POST /suppressions': {
      const { email, origin } = parseAdminBody(suppressionSeedSchema, await body());
      const suppression = suppress(
        core.context,
        email,
        origin,
        origin === 'manual' ? null : randomUUID(),
      );
      return { id: suppression.id };
    }
    case 'GET /suppressions':
      return {
        suppressions: (core.suppressions.list.page({ limit: undefined })?.items ?? []).map(
          (entry) => ({
            id: entry.id,
            email: entry.email,
            origin: entry.origin,
          }),
        ),
      };
    default:
      return undefined;
  }
}

/** Handles one request under {@link ADMIN_PREFIX}. */
export function handleResendAdminRequest(
  core: EmulatorCore,
  incoming: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  return handleAdminRequest(
    'Resend emulator',
    (method, path, query, body) =>
      firstAdminAnswer(method, path, [
        (operation) => stateRoute(core, operation, query, body),
        (operation) => webhookRoute(core, operation, body),
        (operation) => personRoute(core, operation, body),
        (operation) => runtimeAdminRoute(core, core.settings, configSchema, operation, query, body),
      ]),
    incoming,
    response,
  );
}
