import type { IncomingMessage, ServerResponse } from 'node:http';
import { z } from 'zod';
import { AdminError } from './admin-error.js';
import { bulkSeedContacts } from './admin-seed.js';
import { contactsView, membershipsView, requestsView, segmentsView } from './admin-views.js';
import type { EmulatorCore } from './core.js';
import { describeIssues, faultUpdateSchema } from './fault-config-schema.js';
import { BodyTooLargeError, readBody, sendJson } from './http.js';

/** The admin API lives under this prefix: no auth, no rate limit, no faults. */
export const ADMIN_PREFIX = '/_emulator';
const ADMIN_BODY_LIMIT = 512 * 1024 * 1024;

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

function parse<T>(schema: z.ZodType<T>, body: Buffer): T {
  let value: unknown;
  try {
    value = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    throw new AdminError(400, 'The body must be JSON.');
  }
  const result = schema.safeParse(value);
  if (!result.success) throw new AdminError(400, describeIssues(result.error));
  return result.data;
}

async function route(
  core: EmulatorCore,
  method: string,
  path: string,
  query: URLSearchParams,
  body: () => Promise<Buffer>,
) {
  const store = core.store;
  switch (`${method} ${path.slice(ADMIN_PREFIX.length)}`) {
    case 'GET /segments':
      return segmentsView(store);
    case 'POST /segments': {
      const { name } = parse(segmentSeedSchema, await body());
      return { id: store.createSegment(name).id };
    }
    case 'GET /contacts':
      return contactsView(store, query);
    case 'POST /contacts/bulk':
      return bulkSeedContacts(store, parse(z.unknown(), await body()));
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
    case 'GET /requests':
      return requestsView(core.log, query);
    case 'POST /reset':
      core.reset();
      return { reset: true };
    case 'GET /faults':
      return core.faults.describe();
    case 'PUT /faults': {
      const { seed, ...faults } = parse(faultUpdateSchema, await body());
      core.setFaults(faults, seed);
      return core.faults.describe();
    }
    case 'GET /config':
      return { rateLimit: core.rateLimiter.requestsPerSecond, ...core.settings };
    case 'PUT /config': {
      const { rateLimit, ...settings } = parse(configSchema, await body());
      if (rateLimit !== undefined) core.rateLimiter.setLimit(rateLimit);
      Object.assign(core.settings, settings);
      return { rateLimit: core.rateLimiter.requestsPerSecond, ...core.settings };
    }
    default:
      throw new AdminError(404, `No admin endpoint ${method} ${path}.`);
  }
}

/** Handles one request under {@link ADMIN_PREFIX}. */
export async function handleAdminRequest(
  core: EmulatorCore,
  incoming: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(incoming.url ?? '/', 'http://emulator.invalid');
  try {
    const result = await route(
      core,
      (incoming.method ?? 'GET').toUpperCase(),
      url.pathname,
      url.searchParams,
      () => readBody(incoming, ADMIN_BODY_LIMIT),
    );
    sendJson(response, 200, result);
  } catch (error) {
    if (error instanceof AdminError) sendJson(response, error.status, { error: error.message });
    else if (error instanceof BodyTooLargeError)
      sendJson(response, 413, { error: 'The body is too large.' }, { connection: 'close' });
    else {
      console.error(`Resend emulator: admin error on ${incoming.method} ${url.pathname}:`, error);
      sendJson(response, 500, { error: 'Unexpected error.' });
    }
  }
}
