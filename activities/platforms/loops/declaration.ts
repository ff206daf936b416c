import { z } from 'zod';
import { httpUrl, intFromEnv, webhookSecret } from '../../../config/fields.js';
import type { PlatformDeclaration, StartedPlatformEmulator } from '../declaration.js';
import { loopsLimit } from './limit.js';
import { loopsMigrations } from './migrations.js';
import { factOfLoopsEvent, LOOPS_CONSENT_EVENTS, verifyLoopsDelivery } from './webhook-events.js';

/** Loops' variables, validated with the rest of the configuration. */
const settings = {
  LOOPS_API_KEY: z
    .string()
    .regex(/^\S+$/, 'must be a Loops API key (Settings → API in Loops), without spaces')
    .optional(),
  // The official SDK's apiRoot: Loops' own unless an emulator stands in.
  LOOPS_BASE_URL: httpUrl().default('https://app.loops.so/api/'),
  // Loops allows 10 requests per second per team; a team with a higher limit sets its own here.
  LOOPS_RATE_LIMIT: intFromEnv(1, 10_000).default(10),
  // The signing secret of the account's webhook endpoint (Settings → Webhooks in Loops); without
  // it, /webhooks/loops answers 503 and consent is learned from what the API answers.
  LOOPS_WEBHOOK_SECRET: webhookSecret('Loops').optional(),
};

/** The key the local stack gives the service when it runs the emulator (any key is accepted). */
export const DEV_LOOPS_API_KEY = 'loops_dev_sandbox_key';

/** The emulator of `npm run dev`: one demo mailing list, signed webhooks. */
async function startEmulator(options: {
  port: number;
  rateLimit: number;
  webhookSecret?: string;
}): Promise<StartedPlatformEmulator> {
  const { startLoopsEmulator } = await import('../../../emulator/loops/index.js');
  const { newWebhookSecret } = await import('../../../emulator/common/webhooks.js');
  const emulator = await startLoopsEmulator({ port: options.port, rateLimit: options.rateLimit });
  const secret = options.webhookSecret ?? newWebhookSecret();
  const [demoList] = emulator.mailingLists();
  return {
    url: emulator.url,
    settings: {
      LOOPS_API_KEY: DEV_LOOPS_API_KEY,
      LOOPS_BASE_URL: emulator.apiRoot,
      LOOPS_WEBHOOK_SECRET: secret,
    },
    async sendWebhooksTo(url) {
      const answer = await fetch(`${emulator.url}/_emulator/webhook`, {
        method: 'PUT',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ url, secret }),
      });
      if (!answer.ok)
        throw new Error(`the emulator refused the webhook endpoint (${answer.status})`);
    },
    describe: () => ({
      summary:
        `emulator at ${emulator.url} (SDK apiRoot ${emulator.apiRoot}), ${options.rateLimit} ` +
        'requests/s (its contacts live in memory until Ctrl-C)',
      webhooks:
        'the emulator sends contact.unsubscribed, contact.mailingList.unsubscribed, ' +
        'contact.deleted, email.hardBounced and email.spamReported to {route}, signed with a dev ' +
        'secret (LOOPS_WEBHOOK_SECRET)',
      ...(demoList ? { demoList: { id: demoList.id, name: demoList.name } } : {}),
    }),
    close: () => emulator.close(),
  };
}

/**
 * Loops: contacts global per team, keyed by email and by `userId`; a list is a mailing list,
 * which the API cannot create (`list_id` is required) and which is a subscription; no tag lists
 * and no bulk path; Standard Webhooks signatures. As Loops' OpenAPI (1.21.6) and documentation
 * say; what they leave open is listed in docs/emulator-loops.md.
 */
export const loopsDeclaration = {
  name: 'loops' as const,
  title: 'Loops',
  settings,
  credential: 'LOOPS_API_KEY',
  endpointSetting: 'LOOPS_BASE_URL',
  limit: (values) => loopsLimit(values.LOOPS_RATE_LIMIT),
  capabilities: {
    createsLists: false,
    tagsAsLists: false,
    bulkCreation: false,
    propertyTypes: ['string', 'number', 'boolean', 'date'],
    propertyKey: {
      // Loops' own keys are camelCase names; nothing documents more (a guess, as for the emulator).
      pattern: /^[A-Za-z][A-Za-z0-9]{0,49}$/,
      description: 'Loops property keys are a letter then letters or digits (camelCase), 1 to 50',
    },
    listIsSubscription: true,
    listWord: 'mailing list',
  },
  webhook: {
    secretSetting: 'LOOPS_WEBHOOK_SECRET',
    secretHint:
      'set the endpoint in Loops (Settings → Webhooks), put its signing secret in LOOPS_WEBHOOK_SECRET',
    headers: { id: 'webhook-id', timestamp: 'webhook-timestamp', signature: 'webhook-signature' },
    consentEvents: LOOPS_CONSENT_EVENTS,
    verify: verifyLoopsDelivery,
    factsOf: factOfLoopsEvent,
    // Loops has no API to register an endpoint: one per account, set in its dashboard.
  },
  migrations: loopsMigrations,
  emulator: {
    port: { variable: 'LOOPS_EMULATOR_PORT', default: 8788 },
    rateLimit: { variable: 'LOOPS_EMULATOR_RATE_LIMIT', default: 10 },
    devCredential: DEV_LOOPS_API_KEY,
    start: startEmulator,
  },
  client: async (values) => {
    const { loopsPlatform } = await import('./index.js');
    return loopsPlatform({
      apiKey: values.LOOPS_API_KEY ?? '',
      apiRoot: values.LOOPS_BASE_URL,
      rateLimit: values.LOOPS_RATE_LIMIT,
    });
  },
} satisfies PlatformDeclaration<typeof settings>;
