import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer } from '../../api/server.js';
import { spawnWorkerProcess, type WorkerProcess } from '../../dev/worker-process.js';
import { newWebhookSecret } from '../../emulator/resend/webhooks.js';
import { type AppStack, startAppStack } from '../support/app-stack.js';
import { TEST_SECRET, waitFor } from '../support/stack.js';

const WEBHOOK_SECRET = newWebhookSecret();
let stack: AppStack;
let worker: WorkerProcess;
const apiLines: string[] = [];
let apiUrl: string;
let closeApi: () => Promise<void>;

beforeAll(async () => {
  stack = await startAppStack({ users: 300, emulator: { rateLimit: 300 }, inProcessWorker: false });
  worker = spawnWorkerProcess({ ...stack.workerConfig, LOG_LEVEL: 'debug' });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      apiLines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const api = await startApiServer({
    config: { ...stack.apiConfig, RESEND_WEBHOOK_SECRET: WEBHOOK_SECRET },
    sql: stack.db.sql,
    temporal: stack.client,
    logger: pino({ level: 'trace' }, sink),
  });
  apiUrl = api.url;
  closeApi = api.close;
});

afterAll(async () => {
  await closeApi?.();
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await stack?.stop();
});

describe('logs', () => {
  it('are JSON with a request id, and never carry a user email or name', async () => {
    stack.emulator.setFaults({ serverErrorRate: 0.05 }, 3);
    const headers = { authorization: `Bearer ${TEST_SECRET}`, 'content-type': 'application/json' };
    const preview = await fetch(
      `${apiUrl}/api/marketing/sync-users?filterActive=true&activeDays=30`,
      {
        headers: { ...headers, 'x-request-id': 'preview-request-1' },
      },
    );
    expect(preview.headers.get('x-request-id')).toBe('preview-request-1');
    const sync = await fetch(`${apiUrl}/api/marketing/sync-users`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ audienceName: 'Logged' }),
    });
    expect(sync.status).toBe(200);
    await fetch(`${apiUrl}/api/marketing/sync-users`, {
      headers: { authorization: 'Bearer wrong' },
    });
    // An erasure logs ids and counts only too.
    const erasure = await fetch(`${apiUrl}/api/marketing/erasures`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ user_ids: ['1', '2', '3', '4', '5'] }),
    });
    expect(erasure.status).toBe(202);
    const { erasureId } = (await erasure.json()) as { erasureId: string };
    await waitFor(
      async () => {
        const status = await fetch(`${apiUrl}/api/marketing/erasures/${erasureId}`, { headers });
        return ((await status.json()) as { status: string }).status === 'completed';
      },
      { timeoutMs: 120_000, what: 'the erasure to complete' },
    );
    await waitFor(() => worker.output().includes('"msg"'), { what: 'worker log lines' });

    // Consent from Resend: a signed webhook, a forged one, and a sync that skips the user.
    const admin = (route: string, body: unknown) =>
      fetch(`${stack.emulator.url}/_emulator${route}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    await admin('/webhooks', { url: `${apiUrl}/webhooks/resend`, secret: WEBHOOK_SECRET });
    const [unsubscriber] = await stack.db.sql<{ email: string }[]>`
      select lower(email) as email from audience_sync.run_emails e
      join users u on u.id::text = e.user_id order by e.user_id limit 1`;
    expect((await admin('/contacts/unsubscribe', { email: unsubscriber?.email })).status).toBe(200);
    await waitFor(
      async () => {
        const answer = await fetch(`${stack.emulator.url}/_emulator/webhooks/deliveries`);
        const { deliveries } = (await answer.json()) as { deliveries: { statuses: number[] }[] };
        return deliveries.some((delivery) => delivery.statuses.includes(200));
      },
      { what: 'the webhook delivered' },
    );
    const forged = await fetch(`${apiUrl}/webhooks/resend`, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        'svix-id': 'msg_forged',
        'svix-timestamp': String(Math.floor(Date.now() / 1000)),
        'svix-signature': 'v1,Zm9yZ2Vk',
      },
      body: JSON.stringify({ type: 'contact.updated', data: { email: unsubscriber?.email } }),
    });
    expect(forged.status).toBe(401);
    const skipping = await fetch(`${apiUrl}/api/marketing/sync-users`, {
      method: 'POST',
      headers: { ...headers, prefer: 'respond-async' },
      body: JSON.stringify({ audienceName: 'Logged after an unsubscribe' }),
    });
    expect(skipping.status).toBe(202);
    const { runId } = (await skipping.json()) as { runId: string };
    await waitFor(
      async () => {
        const [run] = await stack.db.sql`
          select status from audience_sync.runs where run_id = ${runId}`;
        return run?.status === 'completed';
      },
      { timeoutMs: 120_000, what: 'the run after the unsubscribe' },
    );
    const [skip] = await stack.db.sql`
      select count(*)::int as count from audience_sync.run_users
      where run_id = ${runId} and reason = 'unsubscribed_in_platform'`;
    expect(skip?.count).toBe(1);

    const parsed = apiLines.map(
      (line) => JSON.parse(line) as { req?: { id?: string }; msg?: string },
    );
    const completed = parsed.filter((line) => line.msg === 'request completed');
    expect(completed.length).toBeGreaterThanOrEqual(3);
    expect(completed.every((line) => typeof line.req?.id === 'string')).toBe(true);
    expect(completed.map((line) => line.req?.id)).toContain('preview-request-1');

    const workerLines = worker
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    expect(workerLines.length).toBeGreaterThan(0);
    const everything = [...apiLines, ...workerLines].join('\n');
    expect(everything).not.toContain(TEST_SECRET);
    const users = await stack.db.sql<{ email: string; first_name: string; last_name: string }[]>`
      select email, first_name, last_name from users`;
    const leaked = users.filter(
      (user) =>
        everything.toLowerCase().includes(user.email.toLowerCase()) ||
        everything.includes(`"${user.first_name}"`) ||
        everything.includes(`"${user.last_name}"`),
    );
    expect(leaked).toEqual([]);
  });
});
