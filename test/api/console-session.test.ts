import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedApi, startApiServer } from '../../api/server.js';
import type { ApiConfig } from '../../config/env.js';
import { createLogger } from '../../telemetry/logger.js';
import { type AppStack, startAppStack } from '../support/app-stack.js';
import { TEST_SECRET, testApiConfig } from '../support/stack.js';

/**
 * The console's sign-in on the real API: the secret is exchanged once for an HttpOnly,
 * SameSite=Strict cookie; the cookie replaces the Bearer header on /api/marketing, its writes
 * carry the CSRF token, and it stops working on sign-out, after 12 hours and when the secret
 * changes. Extra API servers on the same database play the other configurations.
 */

let stack: AppStack;
const extraServers: StartedApi[] = [];

beforeAll(async () => {
  stack = await startAppStack({ inProcessWorker: false });
});

afterAll(async () => {
  for (const server of extraServers) await server.close();
  await stack?.stop();
});

/** Another API process on the same database and Temporal, configured otherwise. */
async function otherServer(
  overrides: Partial<Record<keyof ApiConfig, string>>,
  now?: () => Date,
): Promise<string> {
  const server = await startApiServer({
    config: testApiConfig({
      DATABASE_URL: stack.db.url,
      TEMPORAL_TASK_QUEUE: stack.apiConfig.TEMPORAL_TASK_QUEUE,
      ...overrides,
    }),
    sql: stack.db.sql,
    temporal: stack.client,
    logger: createLogger('silent'),
    ...(now ? { now } : {}),
  });
  extraServers.push(server);
  return server.url;
}

interface SignedIn {
  cookie: string;
  setCookie: string;
  csrfToken: string;
  expiresAt: string;
}

async function signIn(
  apiUrl: string,
  secret = TEST_SECRET,
  headers: Record<string, string> = {},
): Promise<SignedIn> {
  const response = await fetch(`${apiUrl}/console/session`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: JSON.stringify({ secret }),
  });
  expect(response.status).toBe(200);
  const setCookie = response.headers.get('set-cookie') ?? '';
  const body = (await response.json()) as { csrfToken: string; expiresAt: string };
  return {
    cookie: setCookie.split(';')[0] ?? '',
    setCookie,
    csrfToken: body.csrfToken,
    expiresAt: body.expiresAt,
  };
}

/** The error of an answer in SPEC's error body. */
const errorOf = async (response: Response) =>
  ((await response.json()) as { error: { code: string; details?: unknown[] } }).error;

const request = (
  apiUrl: string,
  method: string,
  path: string,
  headers: Record<string, string>,
  body?: unknown,
) =>
  fetch(`${apiUrl}${path}`, {
    method,
    headers: { ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });

describe('POST /console/session', () => {
  it('exchanges the secret for an HttpOnly, SameSite=Strict cookie of 12 hours and a CSRF token', async () => {
    const before = Date.now();
    const session = await signIn(stack.api.url);
    const flags = session.setCookie.split(';').map((part) => part.trim());
    expect(flags[0]).toMatch(/^audience_sync_session=v1\.\d+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
    expect(flags).toEqual(
      expect.arrayContaining([
        'Path=/',
        'HttpOnly',
        'SameSite=Strict',
        expect.stringMatching(/^Max-Age=\d+$/),
      ]),
    );
    expect(flags).not.toContain('Secure');
    const maxAge = Number(flags.find((flag) => flag.startsWith('Max-Age='))?.slice(8));
    expect(maxAge).toBeGreaterThan(12 * 3600 - 60);
    expect(maxAge).toBeLessThanOrEqual(12 * 3600);
    expect(Date.parse(session.expiresAt) - before).toBeGreaterThan(12 * 3600_000 - 60_000);
    expect(session.csrfToken).toMatch(/^[A-Za-z0-9_-]{43}$/);
    // The secret is in no part of the answer.
    expect(session.setCookie).not.toContain(TEST_SECRET);
  });

  it('refuses a body without the secret, or not JSON', async () => {
    const empty = await request(stack.api.url, 'POST', '/console/session', {}, {});
    expect(empty.status).toBe(400);
    expect((await errorOf(empty)).details).toEqual([
      { field: 'secret', message: expect.any(String) },
    ]);
    const form = await fetch(`${stack.api.url}/console/session`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: `secret=${TEST_SECRET}`,
    });
    expect(form.status).toBe(415);
  });

  it('counts a wrong secret with the failed Bearer checks, and never refuses the right one', async () => {
    const apiUrl = await otherServer({ AUTH_FAILURES_PER_MINUTE: '3' });
    for (let i = 0; i < 2; i += 1) {
      const wrong = await request(apiUrl, 'POST', '/console/session', {}, { secret: 'nope' });
      expect(wrong.status).toBe(401);
      expect((await errorOf(wrong)).code).toBe('invalid_secret');
      expect(wrong.headers.get('set-cookie')).toBeNull();
    }
    const wrongBearer = await request(apiUrl, 'GET', '/api/marketing/runs', {
      authorization: 'Bearer nope',
    });
    expect(wrongBearer.status).toBe(401);
    // Two sign-ins and one Bearer check: the address has used its three.
    const limited = await request(apiUrl, 'POST', '/console/session', {}, { secret: 'nope' });
    expect(limited.status).toBe(429);
    expect((await errorOf(limited)).code).toBe('too_many_auth_failures');
    expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
    const bearerLimited = await request(apiUrl, 'GET', '/api/marketing/runs', {
      authorization: 'Bearer nope',
    });
    expect(bearerLimited.status).toBe(429);
    const session = await signIn(apiUrl);
    const runs = await request(apiUrl, 'GET', '/api/marketing/runs', { cookie: session.cookie });
    expect(runs.status).toBe(200);
  });

  it('sets Secure when a trusted proxy says the request came over HTTPS, and only then', async () => {
    const behindProxy = await otherServer({ TRUST_PROXY: 'loopback' });
    const viaHttps = await signIn(behindProxy, TEST_SECRET, { 'x-forwarded-proto': 'https' });
    expect(viaHttps.setCookie.split(';').map((part) => part.trim())).toContain('Secure');
    const viaHttp = await signIn(behindProxy, TEST_SECRET, { 'x-forwarded-proto': 'http' });
    expect(viaHttp.setCookie).not.toMatch(/;\s*Secure/);
    // Without TRUST_PROXY the header is anyone's word: not believed.
    const direct = await signIn(stack.api.url, TEST_SECRET, { 'x-forwarded-proto': 'https' });
    expect(direct.setCookie).not.toMatch(/;\s*Secure/);
  });
});

describe('the session on /api/marketing', () => {
  it('replaces the Bearer header on reads; writes need the CSRF token', async () => {
    const session = await signIn(stack.api.url);
    const read = await request(stack.api.url, 'GET', '/api/marketing/runs', {
      cookie: session.cookie,
    });
    expect(read.status).toBe(200);
    expect(((await read.json()) as { success: boolean }).success).toBe(true);

    const path = '/api/marketing/sync-users/sync-users-2030-01-01T00-00-00Z-00000000/pause';
    const withoutToken = await request(stack.api.url, 'POST', path, { cookie: session.cookie });
    expect(withoutToken.status).toBe(403);
    expect((await errorOf(withoutToken)).code).toBe('csrf_token_invalid');
    const wrongToken = await request(stack.api.url, 'POST', path, {
      cookie: session.cookie,
      // The token with its last character changed (to another one, whatever it was).
      'x-csrf-token': `${session.csrfToken.slice(0, -1)}${session.csrfToken.endsWith('A') ? 'B' : 'A'}`,
    });
    expect(wrongToken.status).toBe(403);
    const withToken = await request(stack.api.url, 'POST', path, {
      cookie: session.cookie,
      'x-csrf-token': session.csrfToken,
    });
    // Past authentication: the route's own answer.
    expect(withToken.status).toBe(404);
    expect((await errorOf(withToken)).code).toBe('run_not_found');
  });

  it('leaves the Bearer API as it was: the header decides, whatever cookie comes with it', async () => {
    const session = await signIn(stack.api.url);
    const wrongBearer = await request(stack.api.url, 'GET', '/api/marketing/runs', {
      cookie: session.cookie,
      authorization: 'Bearer wrong',
    });
    expect(wrongBearer.status).toBe(401);
    expect((await errorOf(wrongBearer)).code).toBe('unauthorized');
    // The Bearer secret needs no CSRF token.
    const write = await request(
      stack.api.url,
      'POST',
      '/api/marketing/sync-users/sync-users-2030-01-01T00-00-00Z-00000000/pause',
      { authorization: `Bearer ${TEST_SECRET}` },
    );
    expect(write.status).toBe(404);
  });

  it('stops working when the secret changes, without counting as a failed authentication', async () => {
    const session = await signIn(stack.api.url);
    const rotated = await otherServer({
      MARKETING_API_SECRET: 'a-new-secret-that-is-also-at-least-32-characters',
      AUTH_FAILURES_PER_MINUTE: '2',
    });
    for (let i = 0; i < 4; i += 1) {
      const answer = await request(rotated, 'GET', '/api/marketing/runs', {
        cookie: session.cookie,
      });
      expect(answer.status).toBe(401);
      expect((await errorOf(answer)).code).toBe('session_ended');
    }
    const reload = await request(rotated, 'GET', '/console/session', { cookie: session.cookie });
    expect(reload.status).toBe(401);
    // Still the old secret's server: the cookie works there.
    const same = await request(stack.api.url, 'GET', '/api/marketing/runs', {
      cookie: session.cookie,
    });
    expect(same.status).toBe(200);
  });

  it('stops working after 12 hours', async () => {
    const session = await signIn(stack.api.url);
    const later = await otherServer({}, () => new Date(Date.now() + 12 * 3600_000 + 1000));
    const answer = await request(later, 'GET', '/api/marketing/runs', { cookie: session.cookie });
    expect(answer.status).toBe(401);
    expect((await errorOf(answer)).code).toBe('session_ended');
  });
});

describe('GET and DELETE /console/session', () => {
  it('gives the CSRF token again, and signs out for good', async () => {
    const session = await signIn(stack.api.url);
    const reload = await request(stack.api.url, 'GET', '/console/session', {
      cookie: session.cookie,
    });
    expect(reload.status).toBe(200);
    expect(reload.headers.get('cache-control')).toBe('no-store');
    expect(await reload.json()).toEqual({
      success: true,
      csrfToken: session.csrfToken,
      expiresAt: session.expiresAt,
    });

    const withoutToken = await request(stack.api.url, 'DELETE', '/console/session', {
      cookie: session.cookie,
    });
    expect(withoutToken.status).toBe(403);
    const signOut = await request(stack.api.url, 'DELETE', '/console/session', {
      cookie: session.cookie,
      'x-csrf-token': session.csrfToken,
    });
    expect(signOut.status).toBe(200);
    expect(await signOut.json()).toEqual({ success: true, signedOut: true });
    expect(signOut.headers.get('set-cookie')).toMatch(
      /^audience_sync_session=; Path=\/; Expires=Thu, 01 Jan 1970 00:00:00 GMT; HttpOnly; SameSite=Strict$/,
    );
    // A copy of the cookie kept somewhere works no more.
    for (const path of ['/console/session', '/api/marketing/runs']) {
      const answer = await request(stack.api.url, 'GET', path, { cookie: session.cookie });
      expect(answer.status).toBe(401);
    }
    // Signing out again, or without a session, just clears the cookie.
    const again = await request(stack.api.url, 'DELETE', '/console/session', {
      cookie: session.cookie,
    });
    expect(again.status).toBe(200);
  });

  it('answers 401 session_ended without a session or with a forged one', async () => {
    for (const cookie of [
      undefined,
      'audience_sync_session=v1.9999999999.AAAAAAAAAAAAAAAAAAAAAAAA.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA',
      'audience_sync_session=garbage',
    ]) {
      const answer = await request(stack.api.url, 'GET', '/console/session', {
        ...(cookie ? { cookie } : {}),
      });
      expect(answer.status).toBe(401);
      expect((await errorOf(answer)).code).toBe('session_ended');
    }
  });
});

describe('headers under /console', () => {
  it('carry a strict Content-Security-Policy', async () => {
    for (const path of ['/console/session', '/console/', '/console/runs']) {
      const response = await fetch(`${stack.api.url}${path}`);
      const policy = response.headers.get('content-security-policy') ?? '';
      expect(policy.split(';').map((part) => part.trim())).toEqual([
        "default-src 'self'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        "form-action 'self'",
        "frame-ancestors 'none'",
      ]);
      expect(policy).not.toContain('unsafe');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      expect(response.headers.get('referrer-policy')).toBe('no-referrer');
      expect(response.headers.get('x-frame-options')).toBe('DENY');
    }
  });
});
