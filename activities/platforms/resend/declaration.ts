import { z } from 'zod';
import { httpUrl, intFromEnv, webhookSecret } from '../../../config/fields.js';
import type { PlatformDeclaration, StartedPlatformEmulator } from '../declaration.js';
import { resendContactDirectory } from './consent-directory.js';
import { resendLimit } from './limit.js';
import { resendMigrations } from './migrations.js';
import { factOfEvent, RESEND_CONSENT_EVENTS, verifyResendDelivery } from './webhook-events.js';

/** Resend's variables, validated with the rest of the configuration. */
const settings = {
  RESEND_API_KEY: z
    .string()
    .regex(/^re_\w+$/, 'must be a Resend API key (it starts with re_)')
    .optional(),
  RESEND_BASE_URL: httpUrl().default('https://api.resend.com'),
  // Never exceeded, whatever Resend's headers say; unset: learned from them.
  RESEND_RATE_LIMIT: intFromEnv(1, 10_000).optional(),
  // The signing secret of the endpoint Resend sends webhooks to; without it (and without a
  // registered one, db/webhook-registrations.ts), /webhooks/resend answers 503 and consent is learned by the
  // directory refresh only.
  RESEND_WEBHOOK_SECRET: webhookSecret('Resend').optional(),
  RESEND_BULK: z.enum(['auto', 'off'], { error: 'must be auto or off' }).default('auto'),
};

/** The key the local stack gives the service when it runs the emulator. */
export const DEV_RESEND_API_KEY = 're_dev_sandbox_key';

/** The emulator of `npm run dev`: contacts and segments in memory, signed webhooks. */
async function startEmulator(options: {
  port: number;
  rateLimit: number;
  webhookSecret?: string;
}): Promise<StartedPlatformEmulator> {
  const { startResendEmulator } = await import('../../../emulator/resend/index.js');
  const { newWebhookSecret } = await import('../../../emulator/resend/webhooks.js');
  const emulator = await startResendEmulator({ port: options.port, rateLimit: options.rateLimit });
  const secret = options.webhookSecret ?? newWebhookSecret();
  return {
    url: emulator.url,
    settings: {
      RESEND_API_KEY: DEV_RESEND_API_KEY,
      RESEND_BASE_URL: emulator.url,
      RESEND_WEBHOOK_SECRET: secret,
    },
    async sendWebhooksTo(url) {
      const answer = await fetch(`${emulator.url}/_emulator/webhooks`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url, secret }),
      });
      if (!answer.ok)
        throw new Error(`the emulator refused the webhook endpoint (${answer.status})`);
    },
    describe: () => ({
      summary:
        `emulator at ${emulator.url}, ${options.rateLimit} requests/s, key ${DEV_RESEND_API_KEY} ` +
        '(its contacts and segments live in memory until Ctrl-C)',
      webhooks:
        'the emulator sends contact.updated, contact.deleted and suppression.added to {route}, ' +
        'signed with a dev secret (RESEND_WEBHOOK_SECRET); its admin API lists them at ' +
        `${emulator.url}/_emulator/webhooks/deliveries`,
    }),
    close: () => emulator.close(),
  };
}

/**
 * Resend: contacts global per team and keyed by email, segments as lists (created through the
 * API, tags too), Contact Imports for bulk creation, a directory of the account's contacts kept
 * in Postgres, Svix-signed webhooks. The client (index.ts) is loaded by workers only.
 */
export const resendDeclaration = {
  name: 'resend' as const,
  title: 'Resend',
  settings,
  credential: 'RESEND_API_KEY',
  endpointSetting: 'RESEND_BASE_URL',
  limit: (values) => resendLimit(values.RESEND_RATE_LIMIT),
  capabilities: {
    createsLists: true,
    tagsAsLists: true,
    bulkCreation: true,
    propertyTypes: ['string', 'number'],
    propertyKey: {
      pattern: /^[A-Za-z0-9_]{1,50}$/,
      description: 'Resend property keys are 1 to 50 letters, digits or underscores',
    },
    listIsSubscription: false,
    listWord: 'segment',
  },
  webhook: {
    secretSetting: 'RESEND_WEBHOOK_SECRET',
    secretHint:
      'add the endpoint in Resend (Webhooks) and put its signing secret in RESEND_WEBHOOK_SECRET, or set PUBLIC_URL for the worker to register it',
    headers: { id: 'svix-id', timestamp: 'svix-timestamp', signature: 'svix-signature' },
    consentEvents: RESEND_CONSENT_EVENTS,
    verify: verifyResendDelivery,
    factsOf: factOfEvent,
    async register(values, request) {
      const { registerResendWebhook } = await import('./webhook-registration.js');
      return registerResendWebhook(values, request);
    },
  },
  migrations: resendMigrations,
  contactDirectory: resendContactDirectory,
  emulator: {
    port: { variable: 'RESEND_EMULATOR_PORT', default: 8787 },
    // Resend's current default limit.
    rateLimit: { variable: 'RESEND_EMULATOR_RATE_LIMIT', default: 10 },
    devCredential: DEV_RESEND_API_KEY,
    start: startEmulator,
  },
  client: async (values) => {
    const { resendPlatform } = await import('./index.js');
    return resendPlatform({
      apiKey: values.RESEND_API_KEY ?? '',
      baseUrl: values.RESEND_BASE_URL,
      rateLimit: values.RESEND_RATE_LIMIT,
      bulk: values.RESEND_BULK,
    });
  },
} satisfies PlatformDeclaration<typeof settings>;
