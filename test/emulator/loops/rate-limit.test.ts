import { RateLimitExceededError } from 'loops';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestLogEntry } from '../../../emulator/loops/index.js';
import { callAdmin, callApi, type JsonAnswer } from '../support/http.js';
import { byWindow } from '../support/request-log.js';
import { closeAll, sdkFor, startEmulator } from './support.js';

afterEach(closeAll);

function expectLimitHeaders(answer: JsonAnswer, limit: number): void {
  expect(answer.headers.get('x-ratelimit-limit')).toBe(String(limit));
  const remaining = Number(answer.headers.get('x-ratelimit-remaining'));
  expect(Number.isInteger(remaining)).toBe(true);
  expect(remaining).toBeGreaterThanOrEqual(0);
  expect(remaining).toBeLessThanOrEqual(limit);
  for (const absent of ['retry-after', 'ratelimit-limit', 'ratelimit-reset']) {
    expect(answer.headers.get(absent)).toBeNull();
  }
}

describe('the Loops team rate limit', () => {
  it('admits at most the limit per second to a burst, and answers the rest 429 without Retry-After', async () => {
    const limit = 4;
    const emulator = await startEmulator({ rateLimit: limit });
    const answers = await Promise.all(
      Array.from({ length: 3 * limit }, () => callApi(emulator, 'GET', '/api/v1/lists')),
    );
    const { data: log } = await callAdmin<{ data: RequestLogEntry[] }>(
      emulator,
      'GET',
      '/requests',
    );
    expect(log).toHaveLength(3 * limit);
    for (const entries of byWindow(log).values()) {
      const admitted = entries.filter((entry) => entry.outcome === 'ok').length;
      expect(admitted).toBeLessThanOrEqual(limit);
      if (entries.some((entry) => entry.outcome === 'rate_limited')) expect(admitted).toBe(limit);
    }
    const refusals = answers.filter((answer) => answer.status === 429);
    expect(refusals.length).toBeGreaterThan(0);
    expect(refusals.length).toBe(log.filter((entry) => entry.outcome === 'rate_limited').length);
    for (const answer of answers) expectLimitHeaders(answer, limit);
    for (const refusal of refusals) {
      expect(refusal.body).toEqual({ success: false, message: 'Rate limit exceeded.' });
      expect(refusal.headers.get('x-ratelimit-remaining')).toBe('0');
    }
    const remaining = answers
      .filter((answer) => answer.status === 200)
      .map((answer) => Number(answer.headers.get('x-ratelimit-remaining')));
    expect(Math.max(...remaining)).toBe(limit - 1);
    expect(Math.min(...remaining)).toBe(0);
  });

  it('puts the headers on every answer: errors, refused keys and injected failures included', async () => {
    const emulator = await startEmulator({ rateLimit: 7, apiKeys: ['re_test_key'] });
    const answers = [
      await callApi(emulator, 'POST', '/api/v1/contacts/create', { body: { email: 'bad' } }),
      await callApi(emulator, 'POST', '/api/v1/contacts/delete', { body: { email: 'a@b.co' } }),
      await callApi(emulator, 'GET', '/api/v1/api-key', { key: 'wrong' }),
      await callApi(emulator, 'GET', '/api/v1/no-such-thing'),
      await callApi(emulator, 'DELETE', '/api/v1/lists'),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([400, 404, 401, 404, 405]);
    for (const answer of answers) expectLimitHeaders(answer, 7);
    emulator.setFaults({ serverErrorRate: 1 });
    const failed = await callApi(emulator, 'GET', '/api/v1/lists');
    expect(failed.status).toBe(500);
    expectLimitHeaders(failed, 7);
  });

  it('makes the SDK throw RateLimitExceededError with the limit and what remains', async () => {
    const emulator = await startEmulator({ rateLimit: 1 });
    const loops = sdkFor(emulator);
    const outcomes = await Promise.allSettled(
      Array.from({ length: 6 }, () => loops.listMailingLists()),
    );
    const refused = outcomes.flatMap((outcome) =>
      outcome.status === 'rejected' ? [outcome.reason as unknown] : [],
    );
    expect(refused.length).toBeGreaterThan(0);
    for (const error of refused) {
      expect(error).toBeInstanceOf(RateLimitExceededError);
      expect(error).toMatchObject({ limit: 1, remaining: 0 });
    }
  });

  it('is configurable at start, through the admin API and in process, and shared by the keys of a team', async () => {
    const emulator = await startEmulator({ rateLimit: 3, apiKeyTeams: { key_a: 'a', key_b: 'b' } });
    expectLimitHeaders(await callApi(emulator, 'GET', '/api/v1/lists'), 3);
    await callAdmin(emulator, 'PUT', '/config', { rateLimit: 50 });
    expectLimitHeaders(await callApi(emulator, 'GET', '/api/v1/lists'), 50);
    emulator.setRateLimit(2);
    expect(await callAdmin(emulator, 'GET', '/stats')).toMatchObject({ rateLimit: 2 });
    const keys = ['key_a', 'key_a', 'key_a', 'key_b', 'key_b'];
    await Promise.all(keys.map((key) => callApi(emulator, 'GET', '/api/v1/lists', { key })));
    const { data: log } = await callAdmin<{ data: RequestLogEntry[] }>(
      emulator,
      'GET',
      '/requests?since_seq=2',
    );
    for (const entries of byWindow(log).values()) {
      for (const team of ['a', 'b']) {
        const ofTeam = entries.filter((entry) => entry.team === team);
        expect(ofTeam.filter((entry) => entry.outcome === 'ok').length).toBe(
          Math.min(2, ofTeam.length),
        );
      }
    }
  });
});
