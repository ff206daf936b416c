import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { callApi } from './support/http.js';

describe('authentication and routing', () => {
  let anyKey: StartedResendEmulator;
  let fixedKeys: StartedResendEmulator;

  beforeAll(async () => {
    anyKey = await startResendEmulator({ rateLimit: 1000 });
    fixedKeys = await startResendEmulator({ rateLimit: 1000, apiKeys: ['re_known'] });
  });
  afterAll(async () => {
    await anyKey.close();
    await fixedKeys.close();
  });

  it('answers a request without a key with 401 missing_api_key', async () => {
    const answer = await callApi(anyKey, 'GET', '/segments', { key: null });
    expect(answer.status).toBe(401);
    expect(answer.body).toMatchObject({ statusCode: 401, name: 'missing_api_key' });
  });

  it('answers a malformed key with 400 validation_error', async () => {
    const answer = await callApi(anyKey, 'GET', '/segments', { key: 'not-a-resend-key' });
    expect(answer.status).toBe(400);
    expect(answer.body).toEqual({
      statusCode: 400,
      name: 'validation_error',
      message: 'API key is invalid',
    });
  });

  it('accepts only the configured keys when given some', async () => {
    expect((await callApi(fixedKeys, 'GET', '/segments', { key: 're_known' })).status).toBe(200);
    const unknown = await callApi(fixedKeys, 'GET', '/segments', { key: 're_unknown' });
    expect(unknown.status).toBe(400);
    expect(unknown.body).toMatchObject({ name: 'validation_error', message: 'API key is invalid' });
  });

  it('refuses a request without a User-Agent the way the edge does', async () => {
    const response = await fetch(`${anyKey.url}/segments`, {
      headers: { authorization: 'Bearer re_key', 'user-agent': '' },
    });
    expect(response.status).toBe(403);
    expect(await response.text()).toBe('error code: 1010');
  });

  it('answers unknown endpoints with 404 and wrong methods with 405', async () => {
    const unknown = await callApi(anyKey, 'GET', '/emails-but-not-really');
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ name: 'not_found' });
    const wrongMethod = await callApi(anyKey, 'PUT', '/segments');
    expect(wrongMethod.status).toBe(405);
    expect(wrongMethod.body).toMatchObject({ name: 'method_not_allowed' });
  });

  it('answers malformed ids with 422 and invalid JSON with 422', async () => {
    const malformed = await callApi(anyKey, 'GET', '/segments/not-a-uuid');
    expect(malformed.body).toEqual({
      statusCode: 422,
      name: 'validation_error',
      message: 'The `id` must be a valid UUID.',
    });
    const response = await fetch(`${anyKey.url}/segments`, {
      method: 'POST',
      headers: {
        authorization: 'Bearer re_key',
        'user-agent': 'tests',
        'content-type': 'application/json',
      },
      body: '{"name":',
    });
    expect(response.status).toBe(422);
  });

  it('logs unauthorized requests as such', async () => {
    const probe = await startResendEmulator();
    try {
      await callApi(probe, 'GET', '/segments', { key: null });
      const log = await (await fetch(`${probe.url}/_emulator/requests`)).json();
      expect(log).toMatchObject({
        data: [{ status: 401, outcome: 'unauthorized', path: '/segments' }],
      });
    } finally {
      await probe.close();
    }
  });
});
