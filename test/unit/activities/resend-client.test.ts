import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { PlatformError } from '../../../activities/platforms/platform.js';
import { createConnectionGate } from '../../../activities/platforms/request-gate.js';
import { createResendClient } from '../../../activities/platforms/resend/client.js';

/** A local HTTP server answering each request with the next scripted answer. */
type Scripted = { status: number; body?: unknown; headers?: Record<string, string> } | 'hang';

let close: (() => Promise<void>) | undefined;

afterEach(async () => {
  await close?.();
  close = undefined;
});

async function serve(script: Scripted[]) {
  const seen: string[] = [];
  const hanging: ServerResponse[] = [];
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    seen.push(`${req.method} ${req.url}`);
    const next = script.shift() ?? { status: 500 };
    if (next === 'hang') {
      hanging.push(res);
      return;
    }
    res.writeHead(next.status, { 'content-type': 'application/json', ...next.headers });
    // Resend's error bodies carry their status, which is what the SDK reports.
    const body = next.status >= 400 ? { statusCode: next.status, ...(next.body ?? {}) } : next.body;
    res.end(JSON.stringify(body ?? {}));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  close = async () => {
    for (const res of hanging) res.destroy();
    await new Promise((resolve) => server.close(resolve));
  };
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, seen };
}

function client(baseUrl: string, options: { requestTimeoutMs?: number } = {}) {
  let answers = 0;
  const resend = createResendClient({
    apiKey: 're_unit_test_key',
    baseUrl,
    gate: createConnectionGate(4),
    signal: new AbortController().signal,
    onAnswer: () => {
      answers += 1;
    },
    transientRetries: 2,
    ...options,
  });
  return { resend, answers: () => answers };
}

const segment = { object: 'segment', id: 'seg_1', name: 'A', created_at: '2026-01-01 00:00:00+00' };
const getSegment = (resend: ReturnType<typeof client>['resend']) =>
  resend.idempotent('segments.get', (signal) => resend.sdk.segments.get('seg_1', { signal }));

describe("the Resend client's handling of answers", () => {
  it('waits out a 429 and sends the same request again', async () => {
    const server = await serve([
      { status: 429, body: { name: 'rate_limit_exceeded' }, headers: { 'retry-after': '0' } },
      { status: 200, body: segment },
    ]);
    const { resend, answers } = client(server.url);
    const { answer, kind } = await getSegment(resend);
    expect(kind).toBe('ok');
    expect(answer.data).toMatchObject({ id: 'seg_1' });
    expect(server.seen).toEqual(['GET /segments/seg_1', 'GET /segments/seg_1']);
    expect(answers()).toBe(2);
  });

  it('retries 5xx answers of an idempotent call, then reports the platform unavailable', async () => {
    const server = await serve([{ status: 503 }, { status: 502 }, { status: 500 }]);
    const { resend } = client(server.url);
    const failure = await getSegment(resend).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(PlatformError);
    expect(failure).toMatchObject({ code: 'platform_unavailable', retryable: true });
    expect(server.seen).toHaveLength(3);
  });

  it('ends at once, without retrying, when the key is refused', async () => {
    const server = await serve([
      { status: 400, body: { name: 'validation_error', message: 'API key is invalid' } },
    ]);
    const { resend } = client(server.url);
    const failure = await getSegment(resend).catch((error: unknown) => error);
    expect(failure).toMatchObject({ code: 'platform_auth_failed', retryable: false });
    expect(server.seen).toHaveLength(1);
  });

  it('answers a hung request with a timeout of its own, and a create as ambiguous', async () => {
    const server = await serve(['hang']);
    const { resend, answers } = client(server.url, { requestTimeoutMs: 200 });
    const result = await resend.create('segments.create', (signal) =>
      resend.sdk.segments.create({ name: 'A' }, { signal }),
    );
    expect(result).toEqual({ kind: 'ambiguous', code: 'request_timeout' });
    // A timeout is no answer: it does not count as the batch being alive.
    expect(answers()).toBe(0);
  });

  it('gives 404 and 422 back to the caller as final answers', async () => {
    const server = await serve([
      { status: 404, body: { name: 'not_found', message: 'Audience not found' } },
      { status: 422, body: { name: 'validation_error', message: 'Invalid' } },
    ]);
    const { resend } = client(server.url);
    expect((await getSegment(resend)).kind).toBe('not_found');
    expect((await getSegment(resend)).kind).toBe('rejected');
    expect(server.seen).toHaveLength(2);
  });
});
