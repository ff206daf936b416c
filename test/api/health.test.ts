import { createServer } from 'node:net';
import { Resend } from 'resend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlatformModule } from '../../activities/platforms/platform.js';
import { resendAccountId, resendPlatform } from '../../activities/platforms/resend/index.js';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { newWebhookSecret } from '../../emulator/resend/webhooks.js';
import { createLogger } from '../../telemetry/logger.js';
import { type PlatformChecks, startPlatformChecks } from '../../worker/platform-checks.js';
import { configuredPlatforms } from '../../worker/worker.js';
import { type AppStack, startAppStack } from '../support/app-stack.js';
import { TEST_RESEND_KEY, waitFor } from '../support/stack.js';

/**
 * GET /api/marketing/health on the real stack: Postgres and Temporal as they answer, and each
 * platform as a worker's access check found it (reachable, key accepted), with the rate limit its
 * gate learned and the webhook endpoint's last delivery and failures.
 */

const WEBHOOK_SECRET = newWebhookSecret();
let stack: AppStack;
const checks: PlatformChecks[] = [];
const emulators: StartedResendEmulator[] = [];

beforeAll(async () => {
  stack = await startAppStack({
    inProcessWorker: false,
    emulator: { rateLimit: 50, webhookRetryDelaysMs: [60_000] },
    api: { RESEND_WEBHOOK_SECRET: WEBHOOK_SECRET },
  });
});

afterAll(async () => {
  for (const running of checks) await running.stop();
  for (const emulator of emulators) await emulator.close();
  await stack?.stop();
});

// biome-ignore lint/suspicious/noExplicitAny: the answer is asserted field by field
const health = async (): Promise<any> => {
  const answer = await stack.call('GET', '/api/marketing/health');
  expect(answer.status).toBe(200);
  return answer.body;
};
const resendHealth = async () => (await health()).platforms[0];

/** The checks a worker with these platforms runs. */
async function runChecks(platforms?: PlatformModule[]): Promise<void> {
  platforms ??= await configuredPlatforms(stack.workerConfig);
  checks.push(
    startPlatformChecks({
      sql: stack.db.sql,
      platforms,
      logger: createLogger('silent'),
      intervalMs: 60_000,
    }),
  );
}

/** A port where nothing listens. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return typeof address === 'object' && address ? address.port : 0;
}

describe('GET /api/marketing/health', () => {
  it('says the database and Temporal answer, and that no worker has checked Resend yet', async () => {
    const body = await health();
    expect(body).toEqual({
      success: true,
      checkedAt: expect.any(String),
      database: { status: 'ok', message: 'The database answers' },
      temporal: { status: 'ok', message: 'Temporal answers' },
      platforms: [
        {
          platform: 'resend',
          configured: false,
          account: null,
          status: 'not_checked',
          reachable: null,
          keyAccepted: null,
          checkedAt: null,
          message: expect.stringContaining('No worker has checked Resend yet'),
          rateLimit: { learned: null, learnedAt: null, heldUntil: null },
          webhooks: {
            configured: true,
            lastDeliveryAt: null,
            failingSince: null,
            lastFailure: null,
          },
        },
      ],
    });
  });

  it("shows a worker's check: Resend reachable, the key accepted, the rate limit its gate learned", async () => {
    await runChecks();
    const resend = await waitFor(async () => {
      const platform = await resendHealth();
      return platform.status === 'ok' && platform.rateLimit.learned !== null && platform;
    });
    expect(resend).toMatchObject({
      platform: 'resend',
      configured: true,
      account: resendAccountId(TEST_RESEND_KEY),
      reachable: true,
      keyAccepted: true,
      message: 'Resend answers and accepts the API key',
      // The emulator announces its limit as Resend does, in x-ratelimit-limit.
      rateLimit: { learned: 50, heldUntil: null },
    });
    expect(Date.parse(resend.checkedAt)).toBeGreaterThan(Date.now() - 60_000);
    expect(Date.parse(resend.rateLimit.learnedAt)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('shows a key Resend refuses, and a Resend that cannot be reached', async () => {
    const strict = await startResendEmulator({ apiKeys: ['re_the_only_key'] });
    emulators.push(strict);
    await runChecks([resendPlatform({ apiKey: 're_refused_key', baseUrl: strict.url })]);
    const refused = await waitFor(async () => {
      const platform = await resendHealth();
      return platform.account === resendAccountId('re_refused_key') && platform;
    });
    expect(refused).toMatchObject({
      configured: true,
      status: 'key_refused',
      reachable: true,
      keyAccepted: false,
      message: expect.stringMatching(
        /^Resend refuses the API key: Resend refused the API key \(400 validation_error\)/,
      ),
    });

    const port = await closedPort();
    await runChecks([
      resendPlatform({
        apiKey: 're_unreachable_key',
        baseUrl: `http://127.0.0.1:${port}`,
        transientRetries: 0,
      }),
    ]);
    const unreachable = await waitFor(async () => {
      const platform = await resendHealth();
      return platform.account === resendAccountId('re_unreachable_key') && platform;
    });
    expect(unreachable).toMatchObject({
      status: 'unreachable',
      reachable: false,
      keyAccepted: null,
      message: expect.stringMatching(/^Resend cannot be reached: /),
    });
  });

  it("records the webhook endpoint's deliveries: the last accepted, and those refused since", async () => {
    const webhookUrl = `${stack.api.url}/webhooks/resend`;
    const admin = (method: string, path: string, body?: unknown) =>
      fetch(`${stack.emulator.url}/_emulator${path}`, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
    const resend = new Resend(TEST_RESEND_KEY, { baseUrl: stack.emulator.url });

    await admin('POST', '/webhooks', { url: webhookUrl, secret: WEBHOOK_SECRET });
    expect((await resend.contacts.create({ email: 'first@example.com' })).error).toBeNull();
    const delivered = await waitFor(async () => {
      const platform = await resendHealth();
      return platform.webhooks.lastDeliveryAt !== null && platform.webhooks;
    });
    expect(delivered).toEqual({
      configured: true,
      lastDeliveryAt: expect.any(String),
      failingSince: null,
      lastFailure: null,
    });

    // The endpoint's secret in Resend no longer matches the API's: deliveries are refused.
    await admin('DELETE', '/webhooks');
    await admin('POST', '/webhooks', { url: webhookUrl, secret: newWebhookSecret() });
    expect((await resend.contacts.create({ email: 'second@example.com' })).error).toBeNull();
    const failing = await waitFor(async () => {
      const platform = await resendHealth();
      return platform.webhooks.failingSince !== null && platform.webhooks;
    });
    expect(failing).toEqual({
      configured: true,
      lastDeliveryAt: delivered.lastDeliveryAt,
      failingSince: expect.any(String),
      lastFailure: { at: expect.any(String), status: 401 },
    });

    // Fixed: the next delivery is accepted and the endpoint is no longer failing.
    await admin('DELETE', '/webhooks');
    await admin('POST', '/webhooks', { url: webhookUrl, secret: WEBHOOK_SECRET });
    expect((await resend.contacts.create({ email: 'third@example.com' })).error).toBeNull();
    const healed = await waitFor(async () => {
      const platform = await resendHealth();
      return platform.webhooks.failingSince === null && platform.webhooks;
    });
    expect(Date.parse(healed.lastDeliveryAt)).toBeGreaterThan(Date.parse(delivered.lastDeliveryAt));
    expect(healed.lastFailure).toEqual(failing.lastFailure);
  });

  it('shows no key, secret or email', async () => {
    const text = JSON.stringify(await health());
    for (const secret of [TEST_RESEND_KEY, 're_refused_key', WEBHOOK_SECRET, '@example.com']) {
      expect(text).not.toContain(secret);
    }
  });
});
