import { APIError, RateLimitExceededError } from 'loops';
import { afterEach, describe, expect, it } from 'vitest';
import type {
  FaultConfig,
  RequestLogEntry,
  StartedLoopsEmulator,
} from '../../../emulator/loops/index.js';
import { callAdmin, callApi } from '../support/http.js';
import { closeAll, sdkFor, startEmulator } from './support.js';

afterEach(closeAll);

async function requestLog(emulator: StartedLoopsEmulator): Promise<RequestLogEntry[]> {
  return (await callAdmin<{ data: RequestLogEntry[] }>(emulator, 'GET', '/requests')).data;
}

async function contactCount(emulator: StartedLoopsEmulator): Promise<number> {
  return (await callAdmin<{ contacts: number }>(emulator, 'GET', '/stats')).contacts;
}

/** The same 30 creates one after another; what happened to each. */
async function runSequence(emulator: StartedLoopsEmulator): Promise<string[]> {
  for (let index = 0; index < 30; index += 1) {
    await callApi(emulator, 'POST', '/api/v1/contacts/create', {
      body: { email: `person${index}@example.com` },
      signal: AbortSignal.timeout(300),
    }).catch(() => undefined);
  }
  return (await requestLog(emulator)).map(
    (entry) => `${entry.outcome}:${entry.faultLatencyMs ?? 0}`,
  );
}

describe('Loops emulator fault injection', () => {
  it.each<[string, FaultConfig]>([
    ['server errors', { serverErrorRate: 0.5 }],
    ['accept-then-fail', { acceptThenFailRate: 0.5 }],
    ['latency jitter', { latencyJitterMs: 20 }],
    ['429 storms', { rateLimitStorm: { rate: 0.5 } }],
    ['hangs', { hangRate: 0.1 }],
  ])('repeats %s exactly for the same seed, and differently for another', async (_name, faults) => {
    const [first, second, other] = await Promise.all([
      startEmulator({ rateLimit: 10_000, faults, seed: 7 }),
      startEmulator({ rateLimit: 10_000, faults, seed: 7 }),
      startEmulator({ rateLimit: 10_000, faults, seed: 8 }),
    ]);
    const [a, b, c] = await Promise.all([
      runSequence(first),
      runSequence(second),
      runSequence(other),
    ]);
    expect(a).toEqual(b);
    expect(a).not.toEqual(c);
    expect(new Set(a).size).toBeGreaterThan(1);
  });

  it('answers injected 500 and 503 in the { success, message } envelope and 502 as HTML, writing nothing', async () => {
    const emulator = await startEmulator({ faults: { serverErrorRate: 1 } });
    const loops = sdkFor(emulator);
    const failure = await loops
      .createContact({ email: 'never@example.com' })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIError);
    expect(failure).toMatchObject({
      statusCode: 500,
      json: { success: false, message: 'Internal server error.' },
    });
    emulator.setFaults({ serverErrorRate: 1, serverErrorStatus: 503 });
    expect((await callApi(emulator, 'GET', '/api/v1/lists')).body).toEqual({
      success: false,
      message: 'Service unavailable.',
    });
    emulator.setFaults({ serverErrorRate: 1, serverErrorStatus: 502 });
    const proxy = await callApi(emulator, 'GET', '/api/v1/lists');
    expect(proxy.status).toBe(502);
    expect(proxy.headers.get('content-type')).toBe('text/html');
    expect(await contactCount(emulator)).toBe(0);
  });

  it('carries out a write and answers it 500 with accept-then-fail, limited to its route', async () => {
    const emulator = await startEmulator({
      faults: {
        acceptThenFailRate: 1,
        acceptThenFailRoute: { method: 'PUT', path: '/v1/contacts/update' },
      },
    });
    const loops = sdkFor(emulator);
    await loops.createContact({ email: 'a@example.com' });
    const failure = await loops
      .updateContact({ email: 'b@example.com' })
      .catch((error: unknown) => error);
    expect(failure).toMatchObject({ statusCode: 500 });
    expect(await loops.findContact({ email: 'b@example.com' })).toEqual([
      expect.objectContaining({ email: 'b@example.com' }),
    ]);
    expect((await requestLog(emulator)).map((entry) => entry.outcome)).toEqual([
      'ok',
      'accept_then_fail',
      'ok',
    ]);
  });

  it('answers a 429 storm without Retry-After, which the SDK reports as RateLimitExceededError', async () => {
    const emulator = await startEmulator({ faults: { rateLimitStorm: { durationMs: 60_000 } } });
    const answer = await callApi(emulator, 'GET', '/api/v1/lists');
    expect(answer.status).toBe(429);
    expect(answer.headers.get('retry-after')).toBeNull();
    expect(answer.headers.get('x-ratelimit-remaining')).toBe('0');
    const failure = await sdkFor(emulator)
      .listMailingLists()
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(RateLimitExceededError);
    await callAdmin(emulator, 'PUT', '/faults', {});
    expect((await callApi(emulator, 'GET', '/api/v1/lists')).status).toBe(200);
    expect((await requestLog(emulator)).map((entry) => entry.outcome)).toEqual([
      'storm_rate_limited',
      'storm_rate_limited',
      'ok',
    ]);
  });

  it('delays by the injected latency and leaves a hung request unanswered until the client gives up', async () => {
    const emulator = await startEmulator({ faults: { latencyMs: 30 } });
    expect((await callApi(emulator, 'GET', '/api/v1/lists')).status).toBe(200);
    emulator.setFaults({ hangRate: 1 });
    const hung = await callApi(emulator, 'GET', '/api/v1/lists', {
      signal: AbortSignal.timeout(200),
    }).catch((error: unknown) => error);
    expect(hung).toBeInstanceOf(Error);
    const log = await requestLog(emulator);
    expect(log.map((entry) => [entry.outcome, entry.status, entry.faultLatencyMs])).toEqual([
      ['ok', 200, 30],
      ['hang', 0, undefined],
    ]);
    expect(log[0]?.durationMs).toBeGreaterThanOrEqual(30);
  });
});
