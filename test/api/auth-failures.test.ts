import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedApi, startApiServer } from '../../api/server.js';
import { createLogger } from '../../telemetry/logger.js';
import { type AppStack, startAppStack } from '../support/app-stack.js';
import { TEST_SECRET, testApiConfig } from '../support/stack.js';

/**
 * SPEC: failed Bearer checks are limited per client address (20 a minute by default, then 429
 * with Retry-After); a correct secret is never slowed by someone else's failures. Each test
 * calls from its own loopback address (all of 127.0.0.0/8 is this machine), so each starts with
 * a clean count.
 */

let stack: AppStack;

beforeAll(async () => {
  stack = await startAppStack({ users: 5 });
});

afterAll(async () => {
  await stack?.stop();
});

interface Answer {
  status: number;
  retryAfter: string | undefined;
  wwwAuthenticate: string | undefined;
  // biome-ignore lint/suspicious/noExplicitAny: answers are asserted field by field
  body: any;
}

const RIGHT = `Bearer ${TEST_SECRET}`;
const WRONG = `Bearer ${TEST_SECRET.slice(0, -1)}x`;

/** GET /api/marketing/sync-users from a given source address, with an Authorization header. */
function preview(
  api: StartedApi,
  from: string,
  authorization: string | undefined,
  headers: Record<string, string> = {},
): Promise<Answer> {
  const url = new URL('/api/marketing/sync-users', api.url);
  return new Promise((resolve, reject) => {
    const call = request(
      url,
      {
        localAddress: from,
        headers: { ...(authorization === undefined ? {} : { authorization }), ...headers },
      },
      (response) => {
        let text = '';
        response.setEncoding('utf8');
        response.on('data', (chunk: string) => {
          text += chunk;
        });
        response.on('end', () =>
          resolve({
            status: response.statusCode ?? 0,
            retryAfter: response.headers['retry-after'],
            wwwAuthenticate: response.headers['www-authenticate'],
            body: JSON.parse(text),
          }),
        );
        response.on('error', reject);
      },
    );
    call.on('error', reject);
    call.end();
  });
}

/** `count` wrong secrets from one address, one after the other; their statuses. */
async function failures(api: StartedApi, from: string, count: number): Promise<number[]> {
  const statuses: number[] = [];
  for (let i = 0; i < count; i += 1) statuses.push((await preview(api, from, WRONG)).status);
  return statuses;
}

const expectLimited = (answer: Answer) => {
  expect(answer.status).toBe(429);
  expect(answer.retryAfter).toMatch(/^\d+$/);
  const seconds = Number(answer.retryAfter);
  expect(seconds).toBeGreaterThanOrEqual(1);
  expect(seconds).toBeLessThanOrEqual(60);
  expect(answer.body).toEqual({
    success: false,
    error: {
      code: 'too_many_auth_failures',
      message: `Too many failed authentications from this address; try again in ${seconds} s`,
    },
  });
};

describe('failed Bearer checks, limited per client address', () => {
  it('answers 401 to 20 wrong secrets from one address, then 429 with Retry-After', async () => {
    expect(await failures(stack.api, '127.0.0.2', 20)).toEqual(Array(20).fill(401));
    expectLimited(await preview(stack.api, '127.0.0.2', WRONG));
    // No header and another scheme are failures too, and refused the same way.
    expectLimited(await preview(stack.api, '127.0.0.2', undefined));
    expectLimited(await preview(stack.api, '127.0.0.2', `Basic ${TEST_SECRET}`));
  });

  it('lets the right secret through from an address over its limit, every time', async () => {
    await failures(stack.api, '127.0.0.3', 21);
    for (let i = 0; i < 3; i += 1) {
      const answer = await preview(stack.api, '127.0.0.3', RIGHT);
      expect(answer.status).toBe(200);
      expect(answer.retryAfter).toBeUndefined();
      expect(answer.body).toMatchObject({ success: true, count: expect.any(Number) });
    }
    // The successes took nothing off the count.
    expectLimited(await preview(stack.api, '127.0.0.3', WRONG));
  });

  it('does not limit another address', async () => {
    await failures(stack.api, '127.0.0.4', 21);
    expectLimited(await preview(stack.api, '127.0.0.4', WRONG));
    const other = await preview(stack.api, '127.0.0.5', WRONG);
    expect(other.status).toBe(401);
    expect(other.wwwAuthenticate).toBe('Bearer realm="audience-sync"');
    expect(other.body).toEqual({
      success: false,
      error: { code: 'unauthorized', message: 'Send the marketing API secret as a Bearer token' },
    });
    expect((await preview(stack.api, '127.0.0.5', RIGHT)).status).toBe(200);
  });

  it('counts only failures: successes in between neither use nor give back the allowance', async () => {
    expect(await failures(stack.api, '127.0.0.6', 10)).toEqual(Array(10).fill(401));
    for (let i = 0; i < 15; i += 1) {
      expect((await preview(stack.api, '127.0.0.6', RIGHT)).status).toBe(200);
    }
    expect(await failures(stack.api, '127.0.0.6', 10)).toEqual(Array(10).fill(401));
    expectLimited(await preview(stack.api, '127.0.0.6', WRONG));
  });
});

describe('the client address behind a proxy', () => {
  let proxied: StartedApi;

  beforeAll(async () => {
    proxied = await startApiServer({
      config: testApiConfig({
        DATABASE_URL: stack.db.url,
        TEMPORAL_TASK_QUEUE: stack.workerConfig.TEMPORAL_TASK_QUEUE,
        AUTH_FAILURES_PER_MINUTE: '3',
        TRUST_PROXY: 'loopback',
      }),
      sql: stack.db.sql,
      temporal: stack.client,
      logger: createLogger('silent'),
    });
  });

  afterAll(async () => {
    await proxied?.close();
  });

  it('with TRUST_PROXY, counts per X-Forwarded-For address from a trusted proxy', async () => {
    const from = (client: string) => ({ 'x-forwarded-for': client });
    for (let i = 0; i < 3; i += 1) {
      expect((await preview(proxied, '127.0.0.7', WRONG, from('192.0.2.10'))).status).toBe(401);
    }
    expectLimited(await preview(proxied, '127.0.0.7', WRONG, from('192.0.2.10')));
    // The same proxy, another client: its own count.
    expect((await preview(proxied, '127.0.0.7', WRONG, from('192.0.2.11'))).status).toBe(401);
    expect((await preview(proxied, '127.0.0.7', RIGHT, from('192.0.2.10'))).status).toBe(200);
  });

  it('without TRUST_PROXY, ignores X-Forwarded-For: a client cannot pick its address', async () => {
    for (let i = 0; i < 20; i += 1) {
      const spoofed = { 'x-forwarded-for': `198.51.100.${i}` };
      expect((await preview(stack.api, '127.0.0.8', WRONG, spoofed)).status).toBe(401);
    }
    expectLimited(
      await preview(stack.api, '127.0.0.8', WRONG, { 'x-forwarded-for': '198.51.100.99' }),
    );
  });
});
