import { afterEach, describe, expect, it } from 'vitest';
import {
  type RequestLogEntry,
  type StartedResendEmulator,
  startResendEmulator,
} from '../../emulator/resend/index.js';
import { callAdmin, callApi, type JsonAnswer } from './support/http.js';
import { byWindow } from './support/request-log.js';

const RATE_LIMITED_BODY = {
  statusCode: 429,
  message:
    'Too many requests. Please limit the number of requests per second. Or contact support to increase rate limit.',
  name: 'rate_limit_exceeded',
};

let emulator: StartedResendEmulator | undefined;
afterEach(async () => {
  await emulator?.close();
  emulator = undefined;
});

async function requestLog(target: StartedResendEmulator) {
  return (await callAdmin<{ data: RequestLogEntry[] }>(target, 'GET', '/requests')).data;
}

describe('rate limiting', () => {
  it('admits at most R requests per one-second window to a concurrent burst of 3R', async () => {
    const limit = 5;
    const started = await startResendEmulator({ rateLimit: limit });
    emulator = started;
    const answers = await Promise.all(
      Array.from({ length: 3 * limit }, () => callApi(started, 'GET', '/segments')),
    );

    const log = await requestLog(started);
    expect(log).toHaveLength(3 * limit);
    const windows = byWindow(log);
    for (const entries of windows.values()) {
      const admitted = entries.filter((entry) => entry.outcome === 'ok').length;
      const refused = entries.filter((entry) => entry.outcome === 'rate_limited').length;
      expect(admitted).toBeLessThanOrEqual(limit);
      // A window only refuses once it is full.
      if (refused > 0) expect(admitted).toBe(limit);
    }
    const successes = answers.filter((answer) => answer.status === 200);
    const refusals = answers.filter((answer) => answer.status === 429);
    expect(successes.length + refusals.length).toBe(3 * limit);
    expect(successes.length).toBe(log.filter((entry) => entry.outcome === 'ok').length);
    expect(refusals.length).toBeGreaterThanOrEqual(3 * limit - limit * windows.size);
    expect(refusals.length).toBeGreaterThan(0);

    for (const answer of answers) expectLimitHeaders(answer, limit);
    for (const refusal of refusals) {
      expect(refusal.body).toEqual(RATE_LIMITED_BODY);
      expect(Number(refusal.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(refusal.headers.get('ratelimit-remaining')).toBe('0');
    }
    // Within a window, each admitted request sees one less remaining, …, 0.
    const remaining = successes.map((answer) => Number(answer.headers.get('ratelimit-remaining')));
    for (let value = 0; value < limit; value += 1) {
      expect(remaining.filter((seen) => seen === value).length).toBeLessThanOrEqual(windows.size);
    }
    expect(Math.min(...remaining)).toBe(0);
    expect(Math.max(...remaining)).toBe(limit - 1);
  });

  it('puts the headers on every answer, errors included', async () => {
    const started = await startResendEmulator({ rateLimit: 7 });
    emulator = started;
    const answers = [
      await callApi(started, 'GET', '/contacts/nobody@example.com'),
      await callApi(started, 'POST', '/contacts', { body: {} }),
      await callApi(started, 'GET', '/segments', { key: null }),
      await callApi(started, 'GET', '/no-such-endpoint'),
    ];
    expect(answers.map((answer) => answer.status)).toEqual([404, 422, 401, 404]);
    for (const answer of answers) expectLimitHeaders(answer, 7);
    started.setFaults({ serverErrorRate: 1 });
    const failed = await callApi(started, 'GET', '/segments');
    expect(failed.status).toBe(500);
    expectLimitHeaders(failed, 7);
  });

  it('changes the limit at run time', async () => {
    const started = await startResendEmulator({ rateLimit: 3 });
    emulator = started;
    started.setRateLimit(50);
    expectLimitHeaders(await callApi(started, 'GET', '/segments'), 50);
    await callAdmin(started, 'PUT', '/config', { rateLimit: 40 });
    expectLimitHeaders(await callApi(started, 'GET', '/segments'), 40);
    expect(await callAdmin(started, 'GET', '/stats')).toMatchObject({ rateLimit: 40 });
  });

  it('keeps one window per team, shared by the keys of that team', async () => {
    const started = await startResendEmulator({
      rateLimit: 2,
      apiKeyTeams: { re_team_a_1: 'a', re_team_a_2: 'a', re_team_b: 'b' },
    });
    emulator = started;
    const keys = [
      're_team_a_1',
      're_team_a_2',
      're_team_a_1',
      're_team_a_2',
      're_team_b',
      're_team_b',
    ];
    await Promise.all(keys.map((key) => callApi(started, 'GET', '/segments', { key })));
    const log = await requestLog(started);
    expect(log.map((entry) => entry.team).sort()).toEqual(['a', 'a', 'a', 'a', 'b', 'b']);
    for (const entries of byWindow(log).values()) {
      for (const team of ['a', 'b']) {
        const ofTeam = entries.filter((entry) => entry.team === team);
        const admitted = ofTeam.filter((entry) => entry.outcome === 'ok').length;
        // Each team gets its own R per window, whatever the other team does.
        expect(admitted).toBe(Math.min(2, ofTeam.length));
      }
    }
  });

  it('never rate limits the admin API', async () => {
    const started = await startResendEmulator({ rateLimit: 1 });
    emulator = started;
    const stats = await Promise.all(
      Array.from({ length: 10 }, () => callAdmin(started, 'GET', '/stats')),
    );
    expect(stats).toHaveLength(10);
  });
});

function expectLimitHeaders(answer: JsonAnswer, limit: number): void {
  expect(answer.headers.get('ratelimit-limit')).toBe(String(limit));
  expect(answer.headers.get('ratelimit-policy')).toBe(`${limit};w=1`);
  expect(answer.headers.get('ratelimit-reset')).toBe('1');
  const remaining = Number(answer.headers.get('ratelimit-remaining'));
  expect(Number.isInteger(remaining)).toBe(true);
  expect(remaining).toBeGreaterThanOrEqual(0);
  expect(remaining).toBeLessThanOrEqual(limit);
}
