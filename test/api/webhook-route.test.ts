import { request as httpRequest } from 'node:http';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer } from '../../api/server.js';
import { newWebhookSecret, signWebhook } from '../../emulator/resend/webhooks.js';
import { createLogger } from '../../telemetry/logger.js';
import { type AppStack, startAppStack } from '../support/app-stack.js';
import { TEST_SECRET } from '../support/stack.js';

/**
 * SPEC: the webhook routes read at most 64 KiB, refuse compressed bodies, check the signature
 * headers and their time before reading the body, and count failed signatures against the same
 * per-address limit as failed Bearer checks.
 */
const SECRET = newWebhookSecret();
let stack: AppStack;

beforeAll(async () => {
  // No worker: nothing here runs a sync.
  stack = await startAppStack({ inProcessWorker: false, api: { RESEND_WEBHOOK_SECRET: SECRET } });
});

afterAll(async () => {
  await stack?.stop();
});

const nowSeconds = () => Math.floor(Date.now() / 1000);
let nextId = 1;

/** A contact.updated event that unsubscribes `email`, padded to about `size` bytes if asked. */
function unsubscribeEvent(email: string, size = 0): string {
  const event = {
    type: 'contact.updated',
    created_at: new Date().toISOString(),
    data: { id: `contact-${email}`, email, unsubscribed: true, first_name: '' },
  };
  const json = JSON.stringify(event);
  event.data.first_name = 'x'.repeat(Math.max(0, size - json.length));
  return JSON.stringify(event);
}

function signed(payload: string, timestamp = nowSeconds(), secret = SECRET) {
  const id = `msg_route_${nextId++}`;
  return {
    id,
    headers: {
      'svix-id': id,
      'svix-timestamp': String(timestamp),
      'svix-signature': signWebhook(secret, id, timestamp, payload),
    },
  };
}

async function post(url: string, body: string | Buffer, headers: Record<string, string>) {
  const response = await fetch(`${url}/webhooks/resend`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body,
  });
  // biome-ignore lint/suspicious/noExplicitAny: answers are asserted field by field
  const answer: any = await response.json();
  return { status: response.status, headers: response.headers, body: answer };
}

/**
 * Sends the headers of a delivery that says its body is `length` bytes long, and none of the
 * body: the answer arrives only if the route decided without reading it.
 */
function answerWithoutBody(
  headers: Record<string, string>,
  length: number,
): Promise<{ status: number; body: unknown }> {
  const url = new URL(`${stack.api.url}/webhooks/resend`);
  return new Promise((resolve, reject) => {
    const req = httpRequest(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'content-length': String(length), ...headers },
    });
    req.on('response', (res) => {
      let text = '';
      res.on('data', (chunk: Buffer) => {
        text += chunk.toString();
      });
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: JSON.parse(text) });
        req.destroy();
      });
    });
    req.on('error', reject);
    req.flushHeaders();
  });
}

const deliveriesRecorded = async (ids: string[]) =>
  (
    await stack.db.sql<{ svixId: string }[]>`
      select svix_id as "svixId" from audience_sync.webhook_deliveries
      where svix_id = any(${ids}::text[])`
  ).map((row) => row.svixId);

describe('POST /webhooks/resend', () => {
  it('processes a signed delivery of up to 64 KiB', async () => {
    const payload = unsubscribeEvent('fits@example.com', 64 * 1024 - 100);
    const delivery = signed(payload);
    const answer = await post(stack.api.url, payload, delivery.headers);
    expect(answer).toMatchObject({ status: 200, body: { success: true, processed: true } });
    expect(await deliveriesRecorded([delivery.id])).toEqual([delivery.id]);
  });

  it('refuses a compressed delivery with 415, validly signed or not, and records nothing', async () => {
    const payload = unsubscribeEvent('gzip@example.com');
    const delivery = signed(payload);
    const answer = await post(stack.api.url, gzipSync(payload), {
      ...delivery.headers,
      'content-encoding': 'gzip',
    });
    expect(answer.status).toBe(415);
    expect(answer.body).toEqual({
      success: false,
      error: {
        code: 'unsupported_media_type',
        message: 'Compressed deliveries are refused: send the event without Content-Encoding',
      },
    });
    expect(await deliveriesRecorded([delivery.id])).toEqual([]);
  });

  it('answers 413 to a signed delivery over 64 KiB before reading it, with or without a length', async () => {
    const payload = unsubscribeEvent('big@example.com', 70 * 1024);
    const declared = signed(payload);
    expect(await answerWithoutBody(declared.headers, Buffer.byteLength(payload))).toEqual({
      status: 413,
      body: {
        success: false,
        error: { code: 'payload_too_large', message: 'The request body is over the 64 KiB limit' },
      },
    });
    // Sent in chunks without a length: reading stops at 64 KiB.
    const chunked = signed(payload);
    const stream = new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(payload));
        controller.close();
      },
    });
    const response = await fetch(`${stack.api.url}/webhooks/resend`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...chunked.headers },
      body: stream,
      duplex: 'half',
    } as RequestInit);
    expect(response.status).toBe(413);
    expect(await deliveriesRecorded([declared.id, chunked.id])).toEqual([]);
  });

  it('answers 401 to missing signature headers and a stale or future time without reading the body', async () => {
    const payload = unsubscribeEvent('stale@example.com', 70 * 1024);
    const { 'svix-signature': _signature, ...unsignedHeaders } = signed(payload).headers;
    const stale = signed(payload, nowSeconds() - 6 * 60).headers;
    const future = signed(payload, nowSeconds() + 6 * 60).headers;
    const garbled = { ...signed(payload).headers, 'svix-timestamp': 'yesterday' };
    for (const headers of [unsignedHeaders, stale, future, garbled]) {
      const answer = await answerWithoutBody(headers, Buffer.byteLength(payload));
      expect(answer).toMatchObject({
        status: 401,
        body: { success: false, error: { code: 'invalid_webhook_signature' } },
      });
    }
  });
});

describe('failed signatures and failed Bearer checks', () => {
  it('count against one per-address limit, and a valid signature or secret still passes', async () => {
    const api = await startApiServer({
      config: { ...stack.apiConfig, AUTH_FAILURES_PER_MINUTE: 3 },
      sql: stack.db.sql,
      temporal: stack.client,
      logger: createLogger('silent'),
    });
    try {
      const payload = unsubscribeEvent('limited@example.com');
      const forged = () => signed(payload, nowSeconds(), newWebhookSecret()).headers;
      const bearer = (secret: string) =>
        fetch(`${api.url}/api/marketing/opt-outs`, {
          headers: { authorization: `Bearer ${secret}` },
        });
      expect((await post(api.url, payload, forged())).status).toBe(401);
      expect((await bearer('wrong-secret')).status).toBe(401);
      const stale = signed(payload, nowSeconds() - 600).headers;
      expect((await post(api.url, payload, stale)).status).toBe(401);

      const limited = await post(api.url, payload, forged());
      expect(limited.status).toBe(429);
      expect(limited.body.error.code).toBe('too_many_auth_failures');
      expect(Number(limited.headers.get('retry-after'))).toBeGreaterThan(0);
      expect((await bearer('wrong-again')).status).toBe(429);

      expect((await bearer(TEST_SECRET)).status).toBe(200);
      const valid = signed(payload);
      const accepted = await post(api.url, payload, valid.headers);
      expect(accepted).toMatchObject({ status: 200, body: { success: true, processed: true } });
    } finally {
      await api.close();
    }
  });
});
