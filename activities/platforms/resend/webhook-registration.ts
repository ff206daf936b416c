import { Resend } from 'resend';
import type { RegisteredWebhook } from '../declaration.js';
import type { RequestGate } from '../request-gate.js';
import { RESEND_CONSENT_EVENTS } from './webhook-events.js';

/**
 * Registers `url` with Resend's webhooks API for the consent events, once per account: an
 * endpoint already there with this url is reused (its secret read back when the service does not
 * know it), else one is created, and the endpoint registered before under another url is
 * deleted, so Resend never signs the same events for two of this service's addresses.
 */

interface ResendWebhookSettings {
  RESEND_API_KEY?: unknown;
  RESEND_BASE_URL?: unknown;
}

/** Unwraps an SDK answer; the error names Resend's status and message, never the key. */
function dataOf<T>(what: string, answer: { data: T | null; error: unknown }): T {
  if (answer.data !== null && !answer.error) return answer.data;
  const error = answer.error as { statusCode?: number | null; message?: string } | null;
  throw new Error(
    `Resend refused to ${what} (${error?.statusCode ?? 'no status'}: ${error?.message ?? 'no message'})`,
  );
}

/** Every endpoint of the account, page by page (Resend answers a page at a time). */
async function listWebhooks(sdk: Resend, gate: RequestGate) {
  const endpoints: { id: string; endpoint: string }[] = [];
  for (;;) {
    const after = endpoints.at(-1)?.id;
    const page = dataOf(
      'list webhooks',
      await gate.run(() => sdk.webhooks.list({ limit: 100, ...(after ? { after } : {}) })),
    );
    endpoints.push(...page.data);
    if (!page.has_more || page.data.length === 0) return endpoints;
  }
}

export async function registerResendWebhook(
  settings: ResendWebhookSettings,
  request: { url: string; previous?: RegisteredWebhook; gate: RequestGate },
): Promise<RegisteredWebhook> {
  const sdk = new Resend(String(settings.RESEND_API_KEY ?? ''), {
    baseUrl: String(settings.RESEND_BASE_URL ?? 'https://api.resend.com'),
  });
  const { url, previous, gate } = request;
  const existing = await listWebhooks(sdk, gate);
  const same = existing.find((endpoint) => endpoint.endpoint === url);
  if (same && previous?.endpointId === same.id) return previous;
  let registered: RegisteredWebhook;
  if (same) {
    const found = dataOf('read the webhook', await gate.run(() => sdk.webhooks.get(same.id)));
    registered = {
      endpointId: same.id,
      url,
      events: found.events ?? [],
      secret: found.signing_secret,
    };
  } else {
    const created = dataOf(
      'create the webhook',
      await gate.run(() =>
        sdk.webhooks.create({ endpoint: url, events: [...RESEND_CONSENT_EVENTS] }),
      ),
    );
    registered = {
      endpointId: created.id,
      url,
      events: [...RESEND_CONSENT_EVENTS],
      secret: created.signing_secret,
    };
  }
  const replaced = previous && existing.find((endpoint) => endpoint.id === previous.endpointId);
  if (replaced && replaced.id !== registered.endpointId) {
    dataOf('remove the old webhook', await gate.run(() => sdk.webhooks.remove(replaced.id)));
  }
  return registered;
}
