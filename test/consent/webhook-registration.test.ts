import { pino } from 'pino';
import { Resend } from 'resend';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { loadConfiguredPlatforms } from '../../activities/platforms/registry.js';
import { resendAccountId } from '../../activities/platforms/resend/index.js';
import { RESEND_CONSENT_EVENTS } from '../../activities/platforms/resend/webhook-events.js';
import { createUsersTable } from '../../db/demo-users.js';
import { startResendEmulator } from '../../emulator/resend/index.js';
import { registerWebhookEndpoints } from '../../worker/webhook-registration.js';
import { type AppStack, requestLog, startAppStack } from '../support/app-stack.js';
import { startHoldingProxy } from '../support/holding-proxy.js';
import { dataOf } from '../support/sdk-answers.js';
import { TEST_RESEND_KEY, uniqueName, waitFor } from '../support/stack.js';
import { outcomesOf, testUsers } from '../support/test-users.js';
import { killableWorkers } from '../support/worker-processes.js';

/**
 * With PUBLIC_URL set and no RESEND_WEBHOOK_SECRET, the worker registers the API's webhook route
 * with Resend's webhooks API at start, keeps the signing secret in Postgres, and the API verifies
 * Resend's deliveries with it; a restart registers nothing new, a new PUBLIC_URL replaces the
 * endpoint.
 */

let stack: AppStack;
const workers = killableWorkers();
const users = testUsers(() => stack.db.sql);

beforeAll(async () => {
  // The worker runs as its own process (worker/main.ts), as deployed; no webhook secret anywhere.
  stack = await startAppStack({ inProcessWorker: false });
  await createUsersTable(stack.db.sql);
});

afterAll(async () => {
  await workers.stopAll();
  await stack?.stop();
});

const sdk = () => new Resend(TEST_RESEND_KEY, { baseUrl: stack.emulator.url });

async function endpoints() {
  const listed = dataOf(await sdk().webhooks.list());
  return listed.data.map(({ endpoint, events, id }) => ({ id, endpoint, events }));
}

const registrations = () =>
  stack.db.sql<{ account: string; endpoint_id: string; url: string; events: string[] }[]>`
    select account, endpoint_id, url, events from audience_sync.webhook_registrations
    where platform = 'resend'`;

/** Starts the worker process with PUBLIC_URL and waits until its registration has run. */
async function startWorker(publicUrl: string, outcome: 'registered' | 'kept') {
  const worker = workers.start({ ...stack.workerConfig, PUBLIC_URL: publicUrl, LOG_LEVEL: 'info' });
  await waitFor(() => worker.output().includes(`"outcome":"${outcome}"`), {
    timeoutMs: 90_000,
    what: `the worker's webhook registration (${outcome})`,
  });
  return worker;
}

async function stop(worker: ReturnType<typeof workers.start>) {
  worker.child.kill('SIGTERM');
  await worker.exited;
}

it('registers the endpoint once, verifies deliveries with its secret, and replaces it when the url changes', async () => {
  const url = `${stack.api.url}/webhooks/resend`;
  const first = await startWorker(stack.api.url, 'registered');
  const [registered] = await endpoints();
  expect(await endpoints()).toEqual([
    { id: registered?.id, endpoint: url, events: [...RESEND_CONSENT_EVENTS] },
  ]);
  expect(await registrations()).toEqual([
    {
      account: resendAccountId(TEST_RESEND_KEY),
      endpoint_id: registered?.id,
      url,
      events: [...RESEND_CONSENT_EVENTS],
    },
  ]);
  // The health route counts a registered secret as webhooks set up.
  const health = await stack.call('GET', '/api/marketing/health');
  expect(
    health.body.platforms.map(
      (platform: { platform: string; webhooks: { configured: boolean } }) => [
        platform.platform,
        platform.webhooks.configured,
      ],
    ),
  ).toEqual([['resend', true]]);
  // The secret never reaches the worker's logs.
  const [{ secret } = { secret: '' }] = await stack.db.sql<{ secret: string }[]>`
    select secret from audience_sync.webhook_registrations`;
  expect(secret).toMatch(/^whsec_/);
  expect(first.output()).not.toContain(secret);

  // A contact unsubscribed in Resend reaches the API, signed with the registered secret.
  const [ann, bob] = await users.addMany('registered', 2);
  if (!ann || !bob) throw new Error('no users');
  const sync = await stack.call('POST', '/api/marketing/sync', {
    platform: 'resend',
    list_name: uniqueName('Registered'),
  });
  expect(sync.status).toBe(200);
  expect(await outcomesOf(stack.db.sql, sync.body.runId, [ann, bob])).toEqual({
    [ann.id]: 'added',
    [bob.id]: 'added',
  });
  const unsubscribe = await fetch(`${stack.emulator.url}/_emulator/contacts/unsubscribe`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ email: ann.email }),
  });
  expect(unsubscribe.status).toBe(200);
  const optOuts = await waitFor(
    async () => {
      const page = await stack.call('GET', '/api/marketing/opt-outs?after=0&limit=100');
      const named = page.body.data.filter(
        (entry: { userId: string }) => entry.userId === ann.id || entry.userId === bob.id,
      );
      return named.length > 0 ? named : undefined;
    },
    { what: 'the unsubscribe in the opt-outs feed' },
  );
  expect(
    optOuts.map(({ userId, origin }: { userId: string; origin: string }) => ({ userId, origin })),
  ).toEqual([{ userId: ann.id, origin: 'unsubscribed' }]);

  // A restart with the same PUBLIC_URL registers nothing new.
  await stop(first);
  const restarted = await startWorker(stack.api.url, 'kept');
  expect(await endpoints()).toEqual([
    { id: registered?.id, endpoint: url, events: [...RESEND_CONSENT_EVENTS] },
  ]);
  expect((await registrations()).map((row) => row.endpoint_id)).toEqual([registered?.id]);

  // A new PUBLIC_URL replaces the endpoint: the old one is deleted in Resend.
  await stop(restarted);
  const movedUrl = `${stack.api.url}/moved`;
  await startWorker(movedUrl, 'registered');
  const moved = await endpoints();
  expect(moved).toEqual([
    {
      id: moved[0]?.id,
      endpoint: `${movedUrl}/webhooks/resend`,
      events: [...RESEND_CONSENT_EVENTS],
    },
  ]);
  expect(moved[0]?.id).not.toBe(registered?.id);
  expect(await registrations()).toEqual([
    {
      account: resendAccountId(TEST_RESEND_KEY),
      endpoint_id: moved[0]?.id,
      url: `${movedUrl}/webhooks/resend`,
      events: [...RESEND_CONSENT_EVENTS],
    },
  ]);
}, 240_000);

it('a refused registration is logged without the key and stops nothing; a configured secret registers nothing', async () => {
  // This emulator knows another key only: Resend refuses ours.
  const refusing = await startResendEmulator({ rateLimit: 100, apiKeys: ['re_another_key'] });
  const lines: string[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(line) });
  try {
    const config = {
      ...stack.workerConfig,
      RESEND_BASE_URL: refusing.url,
      PUBLIC_URL: 'https://sync.example.com',
    };
    await stack.db.sql`delete from audience_sync.webhook_registrations`;
    const { modules } = await loadConfiguredPlatforms(config);
    await registerWebhookEndpoints({ sql: stack.db.sql, config, platforms: modules, logger });
    expect(lines.map((line) => JSON.parse(line))).toEqual([
      expect.objectContaining({
        level: 40,
        platform: 'resend',
        reason: 'Resend refused to list webhooks (400: API key is invalid)',
        msg: 'webhook endpoint not registered; consent is learned by the directory refresh only',
      }),
    ]);
    expect(lines.join('')).not.toContain(TEST_RESEND_KEY);
    expect(await registrations()).toEqual([]);

    // With RESEND_WEBHOOK_SECRET configured, nothing is asked of Resend.
    lines.length = 0;
    const before = (await requestLog(refusing)).length;
    await registerWebhookEndpoints({
      sql: stack.db.sql,
      config: { ...config, RESEND_WEBHOOK_SECRET: 'whsec_c2VjcmV0LXNlY3JldC1zZWNyZXQ=' },
      platforms: modules,
      logger,
    });
    expect(lines).toEqual([]);
    expect((await requestLog(refusing)).length).toBe(before);
    expect(await registrations()).toEqual([]);
  } finally {
    await refusing.close();
  }
});

it("registers through the account's request gate, with no transaction open while Resend answers", async () => {
  // An account of its own, so the gate's grants counted below are this registration's.
  const key = `re_gated_${Date.now()}`;
  const emulator = await startResendEmulator({ rateLimit: 100, apiKeys: [key] });
  const proxy = await startHoldingProxy();
  proxy.target = emulator.url;
  try {
    const config = {
      ...stack.workerConfig,
      RESEND_API_KEY: key,
      RESEND_BASE_URL: proxy.url,
      PUBLIC_URL: 'https://gated.example.com',
    };
    const { modules } = await loadConfiguredPlatforms(config);
    const create = proxy.hold(
      (request) => request.method === 'POST' && request.path.startsWith('/webhooks'),
    );
    const registering = registerWebhookEndpoints({
      sql: stack.db.sql,
      config,
      platforms: modules,
      logger: pino({ level: 'silent' }),
    });
    await create.arrived;
    // While Resend has the create, no session sits in a transaction over the registration.
    expect(
      await stack.db.sql`
        select pid from pg_stat_activity
        where state like 'idle in transaction%' and query like '%webhook_registrations%'`,
    ).toEqual([]);
    create.release();
    await registering;

    expect(proxy.seen.map((request) => `${request.method} ${request.path}`)).toEqual([
      'GET /webhooks?limit=100',
      'POST /webhooks',
    ]);
    const account = resendAccountId(key);
    const [gate] = await stack.db.sql<{ grants: number }[]>`
      select cardinality(recent) as grants from audience_sync.rate_limits where key = ${account}`;
    expect(gate?.grants).toBe(2);
    expect((await registrations()).filter((row) => row.account === account)).toEqual([
      {
        account,
        endpoint_id: expect.any(String),
        url: 'https://gated.example.com/webhooks/resend',
        events: [...RESEND_CONSENT_EVENTS],
      },
    ]);
  } finally {
    await proxy.close();
    await emulator.close();
  }
});

it('two workers starting together register one endpoint', async () => {
  const key = `re_together_${Date.now()}`;
  const emulator = await startResendEmulator({ rateLimit: 100, apiKeys: [key] });
  try {
    const config = {
      ...stack.workerConfig,
      RESEND_API_KEY: key,
      RESEND_BASE_URL: emulator.url,
      PUBLIC_URL: 'https://together.example.com',
    };
    const { modules } = await loadConfiguredPlatforms(config);
    const register = () =>
      registerWebhookEndpoints({
        sql: stack.db.sql,
        config,
        platforms: modules,
        logger: pino({ level: 'silent' }),
      });
    await Promise.all([register(), register()]);

    const listed = dataOf(
      await new Resend(key, { baseUrl: emulator.url }).webhooks.list(),
    ).data.map(({ endpoint }) => endpoint);
    expect(listed).toEqual(['https://together.example.com/webhooks/resend']);
    const account = resendAccountId(key);
    expect((await registrations()).filter((row) => row.account === account)).toEqual([
      {
        account,
        endpoint_id: expect.any(String),
        url: 'https://together.example.com/webhooks/resend',
        events: [...RESEND_CONSENT_EVENTS],
      },
    ]);
  } finally {
    await emulator.close();
  }
});
