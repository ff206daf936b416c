import { afterEach, describe, expect, it } from 'vitest';
import {
  type FaultConfig,
  type RequestLogEntry,
  type StartedResendEmulator,
  startResendEmulator,
} from '../../emulator/resend/index.js';
import { callAdmin, callApi, stringField } from './support/http.js';

const started: StartedResendEmulator[] = [];
afterEach(async () => {
  await Promise.all(started.splice(0).map((emulator) => emulator.close()));
});

async function emulatorWith(faults: FaultConfig, seed: number): Promise<StartedResendEmulator> {
  const emulator = await startResendEmulator({ rateLimit: 10_000, faults, seed });
  started.push(emulator);
  return emulator;
}

async function requestLog(emulator: StartedResendEmulator, query = ''): Promise<RequestLogEntry[]> {
  return (await callAdmin<{ data: RequestLogEntry[] }>(emulator, 'GET', `/requests${query}`)).data;
}

/** Sends the same 40 requests one after another and answers what happened to each. */
async function runSequence(emulator: StartedResendEmulator): Promise<string[]> {
  for (let index = 0; index < 40; index += 1) {
    await callApi(emulator, 'POST', '/contacts', {
      body: { email: `person${index}@example.com` },
      signal: AbortSignal.timeout(300),
    }).catch(() => undefined);
  }
  return (await requestLog(emulator)).map(
    (entry) => `${entry.outcome}:${entry.faultLatencyMs ?? 0}`,
  );
}

describe('fault injection', () => {
  describe.each<[string, FaultConfig]>([
    ['server errors', { serverErrorRate: 0.5 }],
    ['accept-then-fail', { acceptThenFailRate: 0.5 }],
    ['latency jitter', { latencyJitterMs: 20 }],
    ['429 storms', { rateLimitStorm: { rate: 0.5, durationMs: 60_000 } }],
    ['hangs', { hangRate: 0.1 }],
  ])('%s', (_name, faults) => {
    it('repeat exactly for the same seed and differ for another', async () => {
      const [first, second, other] = await Promise.all([
        emulatorWith(faults, 7),
        emulatorWith(faults, 7),
        emulatorWith(faults, 8),
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
  });

  it('answers injected server errors without writing anything', async () => {
    const emulator = await emulatorWith({ serverErrorRate: 1 }, 1);
    const answer = await callApi(emulator, 'POST', '/segments', { body: { name: 'Never' } });
    expect(answer.status).toBe(500);
    expect(answer.body).toMatchObject({ statusCode: 500, name: 'internal_server_error' });
    emulator.setFaults({ serverErrorRate: 1, serverErrorStatus: 503 });
    const unavailable = await callApi(emulator, 'POST', '/segments', { body: { name: 'Never' } });
    expect(unavailable.body).toMatchObject({ statusCode: 503, name: 'service_unavailable' });
    expect(await callAdmin(emulator, 'GET', '/segments')).toEqual({ data: [] });
    expect((await requestLog(emulator)).map((entry) => entry.outcome)).toEqual([
      'server_error',
      'server_error',
    ]);
  });

  it('limits a fault to its route', async () => {
    const emulator = await emulatorWith(
      {
        serverErrorRate: 1,
        serverErrorRoute: { method: 'POST', path: '/contacts/:contact/segments/:segmentId' },
      },
      1,
    );
    const segment = await callApi(emulator, 'POST', '/segments', { body: { name: 'S' } });
    const segmentId = stringField(segment.body, 'id');
    expect(segment.status).toBe(201);
    expect(
      (await callApi(emulator, 'POST', '/contacts', { body: { email: 'a@example.com' } })).status,
    ).toBe(201);
    const added = await callApi(emulator, 'POST', `/contacts/a@example.com/segments/${segmentId}`);
    expect(added.status).toBe(500);
    const removed = await callApi(
      emulator,
      'DELETE',
      `/contacts/a@example.com/segments/${segmentId}`,
    );
    expect(removed.status).toBe(404);

    emulator.setFaults({
      serverErrorRate: 1,
      serverErrorRoute: { method: 'POST', path: '/segments' },
    });
    expect((await callApi(emulator, 'POST', '/segments', { body: { name: 'T' } })).status).toBe(
      500,
    );
    expect((await callApi(emulator, 'GET', '/segments')).status).toBe(200);
    expect(
      (await callApi(emulator, 'POST', '/contacts', { body: { email: 'b@example.com' } })).status,
    ).toBe(201);
  });

  it('applies an accepted write and still answers 500', async () => {
    const emulator = await emulatorWith(
      { acceptThenFailRate: 1, acceptThenFailRoute: { method: 'POST', path: '/contacts' } },
      1,
    );
    const answer = await callApi(emulator, 'POST', '/contacts', {
      body: { email: 'dup@example.com' },
    });
    expect(answer.status).toBe(500);
    expect(answer.body).toMatchObject({ name: 'internal_server_error' });
    const stored = await callAdmin<{ total: number; data: { id: string }[] }>(
      emulator,
      'GET',
      '/contacts?email=dup@example.com',
    );
    expect(stored.total).toBe(1);
    const [entry] = await requestLog(emulator);
    expect(entry).toMatchObject({
      outcome: 'accept_then_fail',
      status: 500,
      key: 'dup@example.com',
    });

    emulator.setFaults({});
    const retried = await callApi(emulator, 'POST', '/contacts', {
      body: { email: 'dup@example.com' },
    });
    expect(retried.body).toEqual({ object: 'contact', id: stored.data[0]?.id });

    emulator.setFaults({
      acceptThenFailRate: 1,
      acceptThenFailRoute: { method: 'POST', path: '/segments' },
    });
    expect((await callApi(emulator, 'POST', '/segments', { body: { name: 'Twice' } })).status).toBe(
      500,
    );
    expect((await callApi(emulator, 'POST', '/segments', { body: { name: 'Twice' } })).status).toBe(
      500,
    );
    const segments = await callAdmin<{ data: { name: string }[] }>(emulator, 'GET', '/segments');
    expect(segments.data.map((segment) => segment.name)).toEqual(['Twice', 'Twice']);
  });

  it('adds latency before answering', async () => {
    const emulator = await emulatorWith(
      { latencyMs: 120, latencyRoute: { method: 'GET', path: '/segments' } },
      1,
    );
    await callApi(emulator, 'GET', '/segments');
    await callApi(emulator, 'GET', '/contacts');
    const [slow, fast] = await requestLog(emulator);
    expect(slow).toMatchObject({ path: '/segments', faultLatencyMs: 120 });
    expect(slow?.durationMs).toBeGreaterThanOrEqual(120);
    expect(fast?.faultLatencyMs).toBeUndefined();
  });

  it('leaves requests hanging until the client gives up, and still closes promptly', async () => {
    const emulator = await emulatorWith({ hangRate: 1 }, 1);
    const attempt = callApi(emulator, 'GET', '/segments', { signal: AbortSignal.timeout(200) });
    await expect(attempt).rejects.toMatchObject({ name: 'TimeoutError' });
    const unanswered = fetch(`${emulator.url}/segments`, {
      headers: { authorization: 'Bearer re_test_key', 'user-agent': 'tests' },
    });
    const log = await requestLog(emulator);
    expect(log.map((entry) => entry.outcome)).toContain('hang');

    const closed = await Promise.race([
      emulator.close().then(() => 'closed'),
      new Promise((resolve) => setTimeout(resolve, 5000, 'still open')),
    ]);
    expect(closed).toBe('closed');
    await expect(unanswered).rejects.toThrow();
  });

  it('answers every request 429 during a storm, then recovers', async () => {
    const emulator = await emulatorWith(
      { rateLimitStorm: { durationMs: 60_000, retryAfterSeconds: 7 } },
      1,
    );
    for (let index = 0; index < 3; index += 1) {
      const answer = await callApi(emulator, 'GET', '/segments');
      expect(answer.status).toBe(429);
      expect(answer.headers.get('retry-after')).toBe('7');
      expect(answer.body).toMatchObject({ name: 'rate_limit_exceeded' });
    }
    expect(
      (await requestLog(emulator)).every((entry) => entry.outcome === 'storm_rate_limited'),
    ).toBe(true);
    emulator.setFaults({ rateLimitStorm: { untilMs: Date.now() - 1 } });
    expect((await callApi(emulator, 'GET', '/segments')).status).toBe(200);
    emulator.setFaults({
      rateLimitStorm: { durationMs: 60_000, route: { method: 'POST', path: '/contacts' } },
    });
    expect((await callApi(emulator, 'GET', '/segments')).status).toBe(200);
    expect(
      (await callApi(emulator, 'POST', '/contacts', { body: { email: 'x@example.com' } })).status,
    ).toBe(429);
  });

  it('sets and reports faults through the admin API', async () => {
    const emulator = await emulatorWith({}, 1);
    const set = await callAdmin(emulator, 'PUT', '/faults', {
      serverErrorRate: 1,
      serverErrorStatus: 503,
      seed: 99,
    });
    expect(set).toEqual({ serverErrorRate: 1, serverErrorStatus: 503, seed: 99 });
    expect(await callAdmin(emulator, 'GET', '/faults')).toEqual(set);
    expect((await callApi(emulator, 'GET', '/segments')).status).toBe(503);
    const refused = await fetch(`${emulator.url}/_emulator/faults`, {
      method: 'PUT',
      body: JSON.stringify({ serverErrorRate: 2 }),
    });
    expect(refused.status).toBe(400);
    await callAdmin(emulator, 'POST', '/reset');
    expect(await callAdmin(emulator, 'GET', '/faults')).toEqual({ seed: 99 });
    expect((await callApi(emulator, 'GET', '/segments')).status).toBe(200);
  });
});
