import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedApi, startApiServer } from '../../api/server.js';
import { createLogger } from '../../telemetry/logger.js';
import {
  type ApiAnswer,
  type AppStack,
  emulatorAdmin,
  startAppStack,
  waitForRunEnd,
} from '../support/app-stack.js';
import { TEST_SECRET } from '../support/stack.js';

/**
 * A repeated Idempotency-Key is compared with the body the client sent, not with the run request
 * derived from it: the default audience name carries the day, and a retry after UTC midnight is
 * still the same request.
 */

const BEFORE_MIDNIGHT = new Date('2026-03-01T23:59:58.000Z');
const AFTER_MIDNIGHT = new Date('2026-03-02T00:00:02.000Z');

let stack: AppStack;
/** A second API on the same stack whose clock the tests set. */
let api: StartedApi;
let clock = BEFORE_MIDNIGHT;

beforeAll(async () => {
  stack = await startAppStack({ users: 30 });
  api = await startApiServer({
    config: stack.apiConfig,
    sql: stack.db.sql,
    temporal: stack.client,
    logger: createLogger('silent'),
    now: () => clock,
  });
});

afterAll(async () => {
  await api?.close();
  await stack?.stop();
});

async function call(path: string, body: unknown, headers: Record<string, string>) {
  const response = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${TEST_SECRET}`,
      'content-type': 'application/json',
      ...headers,
    },
    body: JSON.stringify(body),
  });
  const text = await response.text();
  const answer: ApiAnswer = {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
  };
  return answer;
}

const segmentsNamed = async (name: string) =>
  (
    await emulatorAdmin<{ data: { id: string; name: string }[] }>(stack.emulator, '/segments')
  ).data.filter((segment) => segment.name === name);

describe('a repeated Idempotency-Key across UTC midnight', () => {
  it('answers POST /sync-users with the first run, which keeps the first day in its name', async () => {
    const headers = { 'idempotency-key': 'sync-users-across-midnight', prefer: 'respond-async' };
    clock = BEFORE_MIDNIGHT;
    const first = await call(
      '/api/marketing/sync-users',
      { filterActive: true, activeDays: 90 },
      headers,
    );
    expect(first.status).toBe(202);
    const runId: string = first.body.runId;

    clock = AFTER_MIDNIGHT;
    const repeat = await call(
      '/api/marketing/sync-users',
      { filterActive: true, activeDays: 90 },
      headers,
    );
    expect(repeat.status).toBe(202);
    expect(repeat.body.runId).toBe(runId);

    // The same body with its fields in another order is the same request.
    const reordered = await call(
      '/api/marketing/sync-users',
      { activeDays: 90, filterActive: true },
      headers,
    );
    expect(reordered.status).toBe(202);
    expect(reordered.body.runId).toBe(runId);

    const ended = await waitForRunEnd(stack, runId);
    expect(ended.status).toBe('completed');
    expect(ended.audience.name).toBe('Audience [2026-03-01]');
    expect((await segmentsNamed('Audience [2026-03-01]')).length).toBe(1);
    expect(await segmentsNamed('Audience [2026-03-02]')).toEqual([]);
  });

  it('still refuses the key with another body, after midnight too', async () => {
    const headers = { 'idempotency-key': 'sync-users-other-body', prefer: 'respond-async' };
    clock = BEFORE_MIDNIGHT;
    const first = await call('/api/marketing/sync-users', { activeDays: 7 }, headers);
    expect(first.status).toBe(202);
    clock = AFTER_MIDNIGHT;
    const other = await call('/api/marketing/sync-users', { activeDays: 8 }, headers);
    expect(other.status).toBe(422);
    expect(other.body).toEqual({
      success: false,
      error: {
        code: 'idempotency_key_reused',
        message: 'This Idempotency-Key was used with a different request; use a new key',
        details: [{ runId: first.body.runId }],
      },
    });
    await waitForRunEnd(stack, first.body.runId);
  });

  it('answers POST /sync with the first run', async () => {
    const headers = { 'idempotency-key': 'sync-across-midnight', prefer: 'respond-async' };
    const body = { platform: 'resend', tags: ['across-midnight'] };
    clock = BEFORE_MIDNIGHT;
    const first = await call('/api/marketing/sync', body, headers);
    expect(first.status).toBe(202);
    const runId: string = first.body.runId;

    clock = AFTER_MIDNIGHT;
    const repeat = await call('/api/marketing/sync', body, headers);
    expect(repeat.status).toBe(202);
    expect(repeat.body.runId).toBe(runId);

    const ended = await waitForRunEnd(stack, runId);
    expect(ended.status).toBe('completed');
    expect(ended.audience.name).toBe('Audience [2026-03-01]');
    expect((await segmentsNamed('across-midnight')).length).toBe(1);
  });
});
