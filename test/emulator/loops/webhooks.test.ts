import { afterEach, describe, expect, it } from 'vitest';
import type { StartedLoopsEmulator } from '../../../emulator/loops/index.js';
import { callAdmin, waitFor } from '../support/http.js';
import {
  closeAll,
  demoListId,
  type ReceivedDelivery,
  sdkFor,
  startEmulator,
  startReceiver,
  WEBHOOK_SECRET,
} from './support.js';

afterEach(closeAll);

async function emulatorWithReceiver(statuses: number[] = []) {
  const receiver = await startReceiver(WEBHOOK_SECRET, statuses);
  const emulator = await startEmulator({ webhook: { url: receiver.url, secret: WEBHOOK_SECRET } });
  return { receiver, emulator, loops: sdkFor(emulator), listId: demoListId(emulator) };
}

type Receiver = Awaited<ReturnType<typeof startReceiver>>;

/**
 * The deliveries received, once `count` arrived, in the order the emulator emitted them: they
 * start in that order, but on a busy machine one may arrive before the one started before it.
 */
async function received(emulator: StartedLoopsEmulator, receiver: Receiver, count: number) {
  await waitFor(`${count} deliveries`, () =>
    receiver.received.length >= count ? true : undefined,
  );
  const { deliveries } = await callAdmin<{ deliveries: { id: string }[] }>(
    emulator,
    'GET',
    '/webhook/deliveries',
  );
  const order = deliveries.map((delivery) => delivery.id);
  const position = (delivery: ReceivedDelivery) =>
    order.indexOf(String(delivery.headers['webhook-id']));
  return [...receiver.received].sort((a, b) => position(a) - position(b));
}

async function eventsReceived(emulator: StartedLoopsEmulator, receiver: Receiver, count: number) {
  return (await received(emulator, receiver, count)).map((delivery) => delivery.payload.eventName);
}

describe('Loops webhook deliveries', () => {
  it('signs each delivery with Standard Webhooks headers that the standardwebhooks verifier accepts', async () => {
    const { receiver, emulator, loops, listId } = await emulatorWithReceiver();
    const { id } = await loops.createContact({
      email: 'w@example.com',
      mailingLists: { [listId]: true },
    });
    expect(await eventsReceived(emulator, receiver, 2)).toEqual([
      'contact.created',
      'contact.mailingList.subscribed',
    ]);
    expect(receiver.refused).toEqual([]);
    const [created] = await received(emulator, receiver, 2);
    expect(created?.headers['webhook-id']).toMatch(/^msg_/);
    expect(Number(created?.headers['webhook-timestamp'])).toBeGreaterThan(1_700_000_000);
    expect(created?.headers['webhook-signature']).toMatch(/^v1,[A-Za-z0-9+/]+=*$/);
    expect(created?.payload).toMatchObject({
      eventName: 'contact.created',
      webhookSchemaVersion: '1.0.0',
      contactIdentity: { id, email: 'w@example.com', userId: null },
      contact: { id, subscribed: true, mailingLists: { [listId]: true } },
    });
    expect(Number.isInteger(created?.payload.eventTime)).toBe(true);
  });

  it('is refused by a verifier holding another secret', async () => {
    const receiver = await startReceiver(
      `whsec_${Buffer.from('another secret').toString('base64')}`,
    );
    const emulator = await startEmulator({
      webhook: { url: receiver.url, secret: WEBHOOK_SECRET },
    });
    await sdkFor(emulator).createContact({ email: 'x@example.com' });
    await waitFor('a refused delivery', () => (receiver.refused.length > 0 ? true : undefined));
    expect(receiver.received).toEqual([]);
  });

  it('sends contact.mailingList.unsubscribed with the list when the person leaves it', async () => {
    const { receiver, emulator, loops, listId } = await emulatorWithReceiver();
    await loops.createContact({
      email: 'p@example.com',
      properties: { userId: 'u-p' },
      mailingLists: { [listId]: true },
    });
    await callAdmin(emulator, 'POST', '/contacts/unsubscribe-from-list', { userId: 'u-p', listId });
    const deliveries = await received(emulator, receiver, 3);
    expect(deliveries[2]?.payload).toMatchObject({
      eventName: 'contact.mailingList.unsubscribed',
      contactIdentity: { email: 'p@example.com', userId: 'u-p' },
      mailingList: {
        id: listId,
        name: 'Demo mailing list',
        description: 'Created by the Loops emulator',
        isPublic: true,
      },
    });
  });

  it('sends contact.unsubscribed when the person unsubscribes from everything, once', async () => {
    const { receiver, emulator, loops } = await emulatorWithReceiver();
    await loops.createContact({ email: 'all@example.com' });
    await callAdmin(emulator, 'POST', '/contacts/unsubscribe', { email: 'all@example.com' });
    await callAdmin(emulator, 'POST', '/contacts/unsubscribe', { email: 'all@example.com' });
    expect(await eventsReceived(emulator, receiver, 2)).toEqual([
      'contact.created',
      'contact.unsubscribed',
    ]);
    const { deliveries } = await callAdmin<{ deliveries: unknown[] }>(
      emulator,
      'GET',
      '/webhook/deliveries',
    );
    expect(deliveries).toHaveLength(2);
  });

  it('sends contact.unsubscribed and contact.deleted for a deletion, by the person or through the API', async () => {
    const { receiver, emulator, loops } = await emulatorWithReceiver();
    await loops.createContact({ email: 'd1@example.com' });
    await loops.createContact({ email: 'd2@example.com' });
    await callAdmin(emulator, 'POST', '/contacts/delete', { email: 'd1@example.com' });
    await loops.deleteContact({ email: 'd2@example.com' });
    const deliveries = await received(emulator, receiver, 6);
    const about = (email: string) =>
      deliveries
        .filter(
          (delivery) => (delivery.payload.contactIdentity as { email: string }).email === email,
        )
        .map((delivery) => delivery.payload.eventName);
    expect(about('d1@example.com')).toEqual([
      'contact.created',
      'contact.unsubscribed',
      'contact.deleted',
    ]);
    expect(about('d2@example.com')).toEqual([
      'contact.created',
      'contact.unsubscribed',
      'contact.deleted',
    ]);
  });

  it('sends email.hardBounced and email.spamReported, each with the contact.unsubscribed it causes', async () => {
    const { receiver, emulator, loops } = await emulatorWithReceiver();
    await loops.createContact({ email: 'hb@example.com' });
    await loops.createContact({ email: 'sp@example.com' });
    await callAdmin(emulator, 'POST', '/contacts/hard-bounce', { email: 'hb@example.com' });
    await callAdmin(emulator, 'POST', '/contacts/spam-report', { email: 'sp@example.com' });
    const deliveries = await received(emulator, receiver, 6);
    expect(deliveries.slice(2).map((delivery) => delivery.payload.eventName)).toEqual([
      'email.hardBounced',
      'contact.unsubscribed',
      'email.spamReported',
      'contact.unsubscribed',
    ]);
    expect(deliveries[2]?.payload).toMatchObject({
      sourceType: 'campaign',
      campaignId: expect.any(String),
      email: {
        id: expect.any(String),
        emailMessageId: expect.any(String),
        subject: expect.any(String),
      },
      contactIdentity: { email: 'hb@example.com' },
    });
    for (const email of ['hb@example.com', 'sp@example.com']) {
      expect(await loops.checkContactSuppression({ email })).toMatchObject({ isSuppressed: true });
    }
  });

  it("reports the service's own API writes too: a list removal and an unsubscribe", async () => {
    const { receiver, emulator, loops, listId } = await emulatorWithReceiver();
    await loops.createContact({ email: 'own@example.com', mailingLists: { [listId]: true } });
    await loops.updateContact({ email: 'own@example.com', mailingLists: { [listId]: false } });
    await loops.updateContact({ email: 'own@example.com', properties: { subscribed: false } });
    expect(await eventsReceived(emulator, receiver, 4)).toEqual([
      'contact.created',
      'contact.mailingList.subscribed',
      'contact.mailingList.unsubscribed',
      'contact.unsubscribed',
    ]);
  });

  it('retries a failed delivery with the same webhook-id until the endpoint answers 2xx', async () => {
    const { receiver, emulator, loops } = await emulatorWithReceiver([500, 503]);
    await callAdmin(emulator, 'PUT', '/webhook/settings', { retryDelaysMs: [10, 10, 10] });
    await loops.createContact({ email: 'r@example.com' });
    await eventsReceived(emulator, receiver, 1);
    const { deliveries } = await callAdmin<{
      deliveries: { id: string; attempts: number; statuses: number[]; state: string }[];
    }>(emulator, 'GET', '/webhook/deliveries');
    expect(deliveries).toEqual([
      expect.objectContaining({ attempts: 3, statuses: [500, 503, 200], state: 'delivered' }),
    ]);
    expect(receiver.received[0]?.headers['webhook-id']).toBe(deliveries[0]?.id);
  });

  it('sends only the events the endpoint asks for, and nothing once it is removed', async () => {
    const receiver = await startReceiver(WEBHOOK_SECRET);
    const emulator = await startEmulator();
    await callAdmin(emulator, 'PUT', '/webhook', {
      url: receiver.url,
      secret: WEBHOOK_SECRET,
      events: ['contact.deleted'],
    });
    const loops = sdkFor(emulator);
    await loops.createContact({ email: 'f@example.com' });
    await loops.deleteContact({ email: 'f@example.com' });
    expect(await eventsReceived(emulator, receiver, 1)).toEqual(['contact.deleted']);
    expect(await callAdmin(emulator, 'DELETE', '/webhook')).toEqual({ removed: 1 });
    await loops.createContact({ email: 'g@example.com' });
    await loops.deleteContact({ email: 'g@example.com' });
    const { deliveries } = await callAdmin<{ deliveries: unknown[] }>(
      emulator,
      'GET',
      '/webhook/deliveries',
    );
    expect(deliveries).toHaveLength(1);
  });
});
