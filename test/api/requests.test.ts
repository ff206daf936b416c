import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type AppStack, emulatorAdmin, startAppStack } from '../support/app-stack.js';
import { TEST_SECRET } from '../support/stack.js';

let stack: AppStack;

beforeAll(async () => {
  stack = await startAppStack({ users: 50 });
});

afterAll(async () => {
  await stack?.stop();
});

const expectErrorBody = (body: unknown, code: string) => {
  expect(body).toEqual({
    success: false,
    error: {
      code,
      message: expect.any(String),
      ...(isObjectWithDetails(body) ? { details: expect.any(Array) } : {}),
    },
  });
};
const isObjectWithDetails = (body: unknown): boolean =>
  typeof body === 'object' &&
  body !== null &&
  'error' in body &&
  typeof body.error === 'object' &&
  body.error !== null &&
  'details' in body.error;

describe('authentication', () => {
  it.each([
    ['no header', {}],
    [
      'another scheme',
      { authorization: `Basic ${Buffer.from(`user:${TEST_SECRET}`).toString('base64')}` },
    ],
    ['a wrong secret', { authorization: `Bearer ${TEST_SECRET.slice(0, -1)}x` }],
    ['a bare secret', { authorization: TEST_SECRET }],
    ['an empty bearer', { authorization: 'Bearer ' }],
  ])('refuses %s with the same 401', async (_case, headers) => {
    const response = await fetch(`${stack.api.url}/api/marketing/sync-users`, { headers });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toBe('Bearer realm="audience-sync"');
    expect(await response.json()).toEqual({
      success: false,
      error: { code: 'unauthorized', message: 'Send the marketing API secret as a Bearer token' },
    });
  });

  it('accepts the scheme in any case', async () => {
    const response = await fetch(`${stack.api.url}/api/marketing/sync-users`, {
      headers: { authorization: `bearer ${TEST_SECRET}` },
    });
    expect(response.status).toBe(200);
  });
});

describe('bad input', () => {
  it.each([
    ['filterActive=yes', 'filterActive'],
    ['activeDays=0', 'activeDays'],
    ['activeDays=3651', 'activeDays'],
    ['activeDays=2.5', 'activeDays'],
    ['activeDays=abc', 'activeDays'],
    ['activeDays=7&activeDays=8', 'activeDays'],
  ])('answers 400 naming the field for the query %s', async (query, field) => {
    const answer = await stack.call('GET', `/api/marketing/sync-users?${query}`);
    expect(answer.status).toBe(400);
    expectErrorBody(answer.body, 'invalid_request');
    expect(answer.body.error.details).toEqual([{ field, message: expect.any(String) }]);
    expect(answer.body.error.message).toContain(field);
  });

  it.each([
    [{ filterActive: 'true' }, 'filterActive'],
    [{ activeDays: '30' }, 'activeDays'],
    [{ activeDays: 0 }, 'activeDays'],
    [{ activeDays: 3651 }, 'activeDays'],
    [{ activeDays: 1.5 }, 'activeDays'],
    [{ audienceName: '' }, 'audienceName'],
    [{ audienceName: 'x'.repeat(121) }, 'audienceName'],
    [{ audienceName: 42 }, 'audienceName'],
    [{ audienceDescription: 'x'.repeat(1001) }, 'audienceDescription'],
    [{ audience: 'typo' }, 'audience'],
  ])('answers 400 naming the field for the body %j', async (body, field) => {
    const answer = await stack.call('POST', '/api/marketing/sync-users', body);
    expect(answer.status).toBe(400);
    expectErrorBody(answer.body, 'invalid_request');
    expect(answer.body.error.details.map((detail: { field: string }) => detail.field)).toEqual([
      field,
    ]);
  });

  it('answers 400 for a body that is not an object or not JSON', async () => {
    for (const body of ['[1,2]', '"text"', '{"filterActive": tru']) {
      const answer = await stack.call('POST', '/api/marketing/sync-users', body);
      expect(answer.status).toBe(400);
      expect(['invalid_request', 'invalid_json']).toContain(answer.body.error.code);
    }
  });

  it('answers 413 for a body over 64 KiB', async () => {
    const answer = await stack.call('POST', '/api/marketing/sync-users', {
      audienceDescription: 'x'.repeat(70 * 1024),
    });
    expect(answer.status).toBe(413);
    expectErrorBody(answer.body, 'payload_too_large');
  });

  it('answers 415 for another content type', async () => {
    const answer = await stack.call('POST', '/api/marketing/sync-users', 'filterActive=true', {
      'content-type': 'application/x-www-form-urlencoded',
    });
    expect(answer.status).toBe(415);
    expectErrorBody(answer.body, 'unsupported_media_type');
  });

  it('creates nothing for refused requests', async () => {
    const refused = await Promise.all([
      stack.call('POST', '/api/marketing/sync-users', { audienceName: 'Refused', activeDays: 0 }),
      stack.call('POST', '/api/marketing/sync', { platform: 'mailchimp', list_name: 'Refused' }),
      stack.call('POST', '/api/marketing/sync', {
        platform: 'resend',
        list_name: 'Refused',
        sync_type: 'specific',
      }),
      stack.call(
        'POST',
        '/api/marketing/sync-users',
        { audienceName: 'Refused' },
        { authorization: `Bearer ${TEST_SECRET.slice(0, -1)}x` },
      ),
    ]);
    expect(refused.map((answer) => answer.status)).toEqual([400, 400, 400, 401]);
    const segments = await emulatorAdmin<{ data: unknown[] }>(stack.emulator, '/segments');
    expect(segments.data).toEqual([]);
  });

  it('answers 404 in the error shape for an unknown run and an unknown route', async () => {
    const run = await stack.call('GET', '/api/marketing/sync-users/sync-users-nothing-here');
    expect(run.status).toBe(404);
    expectErrorBody(run.body, 'run_not_found');
    const route = await stack.call('GET', '/api/marketing/nothing');
    expect(route.status).toBe(404);
    expectErrorBody(route.body, 'not_found');
  });

  it.each([
    ['another platform', { platform: 'mailchimp' }, 'unsupported_platform', 'platform'],
    ['no platform', {}, 'invalid_request', 'platform'],
    [
      'specific without ids',
      { platform: 'resend', sync_type: 'specific' },
      'invalid_request',
      'user_ids',
    ],
    [
      'specific with no ids',
      { platform: 'resend', sync_type: 'specific', user_ids: [] },
      'invalid_request',
      'user_ids',
    ],
    [
      'ids without specific',
      { platform: 'resend', user_ids: ['1'] },
      'invalid_request',
      'user_ids',
    ],
    [
      'an unknown sync type',
      { platform: 'resend', sync_type: 'sometimes' },
      'invalid_request',
      'sync_type',
    ],
    [
      '21 tags',
      { platform: 'resend', tags: Array.from({ length: 21 }, (_, i) => `t${i}`) },
      'invalid_request',
      'tags',
    ],
    [
      'a 51-character tag',
      { platform: 'resend', tags: ['x'.repeat(51)] },
      'invalid_request',
      'tags.0',
    ],
    ['an empty tag', { platform: 'resend', tags: [''] }, 'invalid_request', 'tags.0'],
    [
      '10,001 user ids',
      {
        platform: 'resend',
        sync_type: 'specific',
        user_ids: Array.from({ length: 10_001 }, (_, i) => i),
      },
      'invalid_request',
      'user_ids',
    ],
    [
      'a list id and a list name',
      { platform: 'resend', list_id: 'a', list_name: 'b' },
      'invalid_request',
      'list_name',
    ],
    // Loops cannot create mailing lists and has no tag lists (its declaration's capabilities).
    ['Loops without a list id', { platform: 'loops' }, 'list_required', 'list_id'],
    [
      'Loops with a list name',
      { platform: 'loops', list_name: 'Newsletter' },
      'list_required',
      'list_id',
    ],
    [
      'Loops with tags',
      { platform: 'loops', list_id: 'cm_list_1', tags: ['vip'] },
      'unsupported_option',
      'tags',
    ],
    // This stack configures Resend only.
    [
      'a platform without credentials here',
      { platform: 'loops', list_id: 'cm_list_1' },
      'platform_not_configured',
      'platform',
    ],
  ])('answers POST /sync with %s: 400 %s naming the field', async (_case, body, code, field) => {
    const answer = await stack.call('POST', '/api/marketing/sync', body);
    expect(answer.status).toBe(400);
    expectErrorBody(answer.body, code);
    expect(answer.body.error.details.map((detail: { field: string }) => detail.field)).toContain(
      field,
    );
  });
});

describe('operations', () => {
  it('answers health, readiness and metrics without the secret', async () => {
    for (const path of ['/healthz', '/readyz']) {
      const response = await fetch(`${stack.api.url}${path}`);
      expect(response.status).toBe(200);
    }
    const ready: unknown = await (await fetch(`${stack.api.url}/readyz`)).json();
    expect(ready).toEqual({
      status: 'ready',
      checks: { database: 'ok', temporal: 'ok', usersSource: 'ok' },
    });
    const metrics = await (await fetch(`${stack.api.url}/metrics`)).text();
    expect(metrics).toContain('audience_sync_http_requests_total');
    expect(metrics).toContain('audience_sync_contacts_total');
    expect(metrics).not.toMatch(/@example\.com/);
  });

  it('describes the API as OpenAPI 3.1 from the validating schemas', async () => {
    // biome-ignore lint/suspicious/noExplicitAny: the document is asserted field by field
    const document: any = await (await fetch(`${stack.api.url}/openapi.json`)).json();
    expect(document.openapi).toBe('3.1.0');
    expect(Object.keys(document.paths)).toEqual(
      expect.arrayContaining([
        '/api/marketing/sync-users',
        '/api/marketing/sync-users/{runId}',
        '/api/marketing/sync',
      ]),
    );
    const body = document.components.schemas.SyncUsersRequest;
    expect(body.additionalProperties).toBe(false);
    expect(body.properties.activeDays).toMatchObject({ minimum: 1, maximum: 3650 });
  });
});
