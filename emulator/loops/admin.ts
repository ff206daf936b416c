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
import { contactsView, listsView, statsView } from './admin-views.js';
import type { LoopsCore } from './core.js';
import { type PersonRef, personActions } from './person.js';
import { mailingListBody } from './serialize.js';
import { LOOPS_EVENTS } from './webhooks.js';

const configSchema = z.strictObject({
  rateLimit: z.number().int().min(1).optional(),
  requireDefinedProperties: z.boolean().optional(),
  suppressionRemovalQuota: z.number().int().min(0).optional(),
});
const listSchema = z.strictObject({
  name: z.string().min(1),
  description: z.string().nullable().default(null),
  isPublic: z.boolean().default(true),
});
const personSchema = z
  .strictObject({ email: z.string().min(1).optional(), userId: z.string().min(1).optional() })
  .refine((ref) => (ref.email === undefined) !== (ref.userId === undefined), {
    message: 'give one of email or userId',
  });
const leaveListSchema = z.strictObject({
  email: z.string().min(1).optional(),
  userId: z.string().min(1).optional(),
  listId: z.string().min(1),
});
export const webhookSchema = z.strictObject({
  url: webhookUrlSchema,
  secret: webhookSecretSchema.optional(),
  events: z.array(z.enum(LOOPS_EVENTS)).optional(),
});
const webhookSettingsSchema = z.strictObject({
  retryDelaysMs: z.array(z.number().int().min(0).max(86_400_000)).max(20).optional(),
  maxPerSecond: z.number().positive().optional(),
});

type Body = () => Promise<Buffer>;

function webhookView(core: LoopsCore) {
  return {
    endpoint: core.webhooks.endpoints[0] ?? null,
    retryDelaysMs: core.webhooks.retryDelaysMs,
    maxPerSecond: core.webhooks.maxPerSecond,
  };
}

/** Loops has one endpoint per account: setting one replaces any other. */
async function setWebhook(core: LoopsCore, body: Body) {
  const input = parseAdminBody(webhookSchema, await body());
  for (const endpoint of [...core.webhooks.endpoints]) core.webhooks.removeEndpoint(endpoint.id);
  return core.webhooks.addEndpoint(input);
}

async function webhookRoute(core: LoopsCore, operation: string, body: Body) {
  switch (operation) {
    case 'GET /webhook':
      return webhookView(core);
    case 'PUT /webhook':
      return setWebhook(core, body);
    case 'DELETE /webhook': {
      const removed = core.webhooks.endpoints.length;
      for (const endpoint of [...core.webhooks.endpoints])
        core.webhooks.removeEndpoint(endpoint.id);
      return { removed };
    }
    case 'PUT /webhook/settings': {
      const { retryDelaysMs, maxPerSecond } = parseAdminBody(webhookSettingsSchema, await body());
      if (retryDelaysMs) core.webhooks.retryDelaysMs = retryDelaysMs;
      if (maxPerSecond !== undefined) core.webhooks.maxPerSecond = maxPerSecond;
      return webhookView(core);
    }
    case 'GET /webhook/deliveries':
      return { deliveries: core.webhooks.deliveries };
    case 'POST /webhook/replay': {
      const { id } = parseAdminBody(z.strictObject({ id: z.string() }), await body());
      const delivery = core.webhooks.replay(id);
      if (!delivery) throw new AdminError(404, 'No delivery (to the endpoint) has this id.');
      return { id: delivery.id };
    }
    default:
      return undefined;
  }
}

async function personRoute(core: LoopsCore, operation: string, body: Body) {
  const ref = async (): Promise<PersonRef> => parseAdminBody(personSchema, await body());
  switch (operation) {
    case 'POST /contacts/unsubscribe-from-list': {
      const { listId, ...who } = parseAdminBody(leaveListSchema, await body());
      return personActions.leaveList(core, who, listId);
    }
    case 'POST /contacts/unsubscribe':
      return personActions.unsubscribe(core, await ref());
    case 'POST /contacts/delete':
      return personActions.delete(core, await ref());
    case 'POST /contacts/hard-bounce':
      return personActions.hardBounce(core, await ref());
    case 'POST /contacts/spam-report':
      return personActions.spamReport(core, await ref());
    default:
      return undefined;
  }
}

async function stateRoute(core: LoopsCore, operation: string, query: URLSearchParams, body: Body) {
  switch (operation) {
    case 'GET /lists':
      return listsView(core);
    case 'POST /lists': {
      const list = core.store.addList(parseAdminBody(listSchema, await body()));
      return mailingListBody(list);
    }
    case 'GET /contacts':
      return contactsView(core, query);
    case 'POST /contacts/bulk':
      return bulkSeedContacts(core, parseAdminBody(z.unknown(), await body()));
    case 'GET /stats':
      return statsView(core);
    case 'POST /reset':
      core.reset();
      return { reset: true };
    default:
      return undefined;
  }
}

/** Handles one request under {@link ADMIN_PREFIX}. */
export function handleLoopsAdminRequest(
  core: LoopsCore,
  incoming: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  return handleAdminRequest(
    'Loops emulator',
    (method, path, query, body) =>
      firstAdminAnswer(method, path, [
        (operation) => stateRoute(core, operation, query, body),
        (operation) => personRoute(core, operation, body),
        (operation) => webhookRoute(core, operation, body),
        (operation) => runtimeAdminRoute(core, core.settings, configSchema, operation, query, body),
      ]),
    incoming,
    response,
  );
}
