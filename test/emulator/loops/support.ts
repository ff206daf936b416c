import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LoopsClient } from 'loops';
import { Webhook } from 'standardwebhooks';
import {
  type LoopsEmulatorOptions,
  type StartedLoopsEmulator,
  startLoopsEmulator,
} from '../../../emulator/loops/index.js';
import { callAdmin } from '../support/http.js';

/** Started emulators, closed by {@link closeAll} after each test. */
const running: { close(): Promise<void> }[] = [];

export async function startEmulator(options: LoopsEmulatorOptions = {}) {
  const emulator = await startLoopsEmulator(options);
  running.push(emulator);
  return emulator;
}

export async function closeAll(): Promise<void> {
  await Promise.all(running.splice(0).map((item) => item.close()));
}

/** The official SDK pointed at the emulator through its `apiRoot`, as a deployment would. */
export function sdkFor(emulator: StartedLoopsEmulator, key = 'loops_test_key'): LoopsClient {
  const client = new LoopsClient(key);
  client.apiRoot = emulator.apiRoot;
  return client;
}

export function demoListId(emulator: StartedLoopsEmulator): string {
  const list = emulator.mailingLists()[0];
  if (!list) throw new Error('the emulator has no mailing list');
  return list.id;
}

export interface AdminContact {
  id: string;
  email: string;
  userId: string | null;
  firstName: string | null;
  subscribed: boolean;
  mailingLists: string[];
  properties: Record<string, unknown>;
  suppressed: boolean;
  optedOutLists: string[];
  resubscriptions: number;
}

/** The admin view of the one contact with this email (fails when there is none). */
export async function adminContact(
  emulator: StartedLoopsEmulator,
  email: string,
): Promise<AdminContact> {
  const { data } = await callAdmin<{ data: AdminContact[] }>(
    emulator,
    'GET',
    `/contacts?email=${encodeURIComponent(email)}`,
  );
  const contact = data[0];
  if (!contact) throw new Error(`no contact ${email}`);
  return contact;
}

export interface ReceivedDelivery {
  headers: IncomingHttpHeaders;
  body: string;
  /** The verified payload (Standard Webhooks verifier with the endpoint's secret). */
  payload: Record<string, unknown>;
}

/**
 * A webhook endpoint on a free port: verifies each delivery with `standardwebhooks` and the
 * secret it is given, answers with the next of `statuses` (then 200), and keeps what it got.
 */
export async function startReceiver(secret: string, statuses: number[] = []) {
  const verifier = new Webhook(secret);
  const received: ReceivedDelivery[] = [];
  const refused: string[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const status = statuses.shift() ?? 200;
      try {
        const payload = verifier.verify(body, request.headers as Record<string, string>);
        if (status < 300)
          received.push({
            headers: request.headers,
            body,
            payload: payload as Record<string, unknown>,
          });
      } catch (error) {
        refused.push(String(error));
      }
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const receiver = {
    url: `http://127.0.0.1:${port}/webhooks/loops`,
    received,
    refused,
    eventNames: () => received.map((delivery) => delivery.payload.eventName),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  running.push(receiver);
  return receiver;
}

export const WEBHOOK_SECRET = `whsec_${Buffer.from('loops emulator test secret 0123').toString('base64')}`;
