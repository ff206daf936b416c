import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Resend } from 'resend';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { dataOf } from '../support/sdk-answers.js';
import { callAdmin, waitFor } from './support/http.js';

interface Received {
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** A local endpoint that keeps what it receives. */
async function startReceiver(): Promise<{ url: string; received: Received[]; server: Server }> {
  const received: Received[] = [];
  const server = createServer((request, response) => {
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString('utf8');
    });
    request.on('end', () => {
      received.push({ headers: request.headers, body });
      response.end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}/hook`, received, server };
}

describe("the emulator's webhooks API, through the official SDK", () => {
  let emulator: StartedResendEmulator;
  let resend: Resend;

  beforeAll(async () => {
    emulator = await startResendEmulator({ rateLimit: 1000 });
    resend = new Resend('re_test_key', { baseUrl: emulator.url });
  });
  afterAll(() => emulator.close());

  it('creates, lists, gets and removes an endpoint, which receives events signed with its own secret', async () => {
    const receiver = await startReceiver();
    try {
      const createdHook = dataOf(
        await resend.webhooks.create({
          endpoint: receiver.url,
          events: ['contact.updated', 'contact.deleted'],
        }),
      );
      expect(createdHook).toEqual({
        object: 'webhook',
        id: expect.stringMatching(/^[0-9a-f-]{36}$/),
        signing_secret: expect.stringMatching(/^whsec_/),
      });
      const listed = dataOf(await resend.webhooks.list());
      expect(listed.data).toEqual([
        {
          id: createdHook.id,
          endpoint: receiver.url,
          events: ['contact.updated', 'contact.deleted'],
          status: 'enabled',
          created_at: expect.stringMatching(/^\d{4}-\d{2}-\d{2} /),
        },
      ]);
      const fetched = dataOf(await resend.webhooks.get(createdHook.id));
      expect(fetched.signing_secret).toBe(createdHook.signing_secret);

      const contact = dataOf(await resend.contacts.create({ email: 'hook@example.com' }));
      await callAdmin(emulator, 'POST', '/contacts/unsubscribe', { email: 'hook@example.com' });
      const delivery = await waitFor('the delivery', () => receiver.received[0]);
      const event = JSON.parse(delivery.body) as { type: string; data: { id: string } };
      expect(event).toMatchObject({ type: 'contact.updated', data: { id: contact.id } });
      // The SDK's own check, with the secret the create answered.
      expect(
        resend.webhooks.verify({
          payload: delivery.body,
          headers: {
            id: String(delivery.headers['svix-id']),
            timestamp: String(delivery.headers['svix-timestamp']),
            signature: String(delivery.headers['svix-signature']),
          },
          webhookSecret: createdHook.signing_secret,
        }),
      ).toMatchObject({ type: 'contact.updated' });

      expect(dataOf(await resend.webhooks.remove(createdHook.id))).toEqual({
        object: 'webhook',
        id: createdHook.id,
        deleted: true,
      });
      expect(dataOf(await resend.webhooks.list()).data).toEqual([]);
      const missing = await resend.webhooks.get(createdHook.id);
      expect(missing.error).toMatchObject({ statusCode: 404, message: 'Webhook not found' });
    } finally {
      receiver.server.close();
    }
  });

  it('refuses a create without events', async () => {
    const answer = await resend.webhooks.create({ endpoint: 'https://example.com/x', events: [] });
    expect(answer.error).toMatchObject({ statusCode: 422 });
    expect(dataOf(await resend.webhooks.list()).data).toEqual([]);
  });
});
