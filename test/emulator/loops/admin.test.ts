import { afterEach, describe, expect, it } from 'vitest';
import type { RequestLogEntry } from '../../../emulator/loops/index.js';
import { callAdmin } from '../support/http.js';
import {
  adminContact,
  closeAll,
  demoListId,
  sdkFor,
  startEmulator,
  startReceiver,
  WEBHOOK_SECRET,
} from './support.js';

afterEach(closeAll);

async function adminStatus(url: string, method: string, path: string, body?: unknown) {
  const response = await fetch(`${url}/_emulator${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return { status: response.status, body: (await response.json()) as unknown };
}

describe('the Loops emulator admin API', () => {
  it('adds mailing lists that the API then lists', async () => {
    const emulator = await startEmulator({ mailingLists: [{ id: 'list_news', name: 'News' }] });
    const added = await callAdmin<{ id: string }>(emulator, 'POST', '/lists', {
      name: 'Beta',
      description: 'Early access',
      isPublic: false,
    });
    expect(added).toEqual({
      id: expect.stringMatching(/^c[a-z0-9]{24}$/),
      name: 'Beta',
      description: 'Early access',
      isPublic: false,
    });
    const expected = [{ id: 'list_news', name: 'News', description: null, isPublic: true }, added];
    expect(await callAdmin(emulator, 'GET', '/lists')).toEqual({ data: expected });
    expect(await sdkFor(emulator).listMailingLists()).toEqual(expected);
  });

  it('seeds contacts in bulk, checking every row before writing any, and shows them', async () => {
    const emulator = await startEmulator();
    const listId = demoListId(emulator);
    await sdkFor(emulator).createContactProperty('planName', 'string');
    const refused = await adminStatus(emulator.url, 'POST', '/contacts/bulk', {
      contacts: [{ email: 'ok@example.com' }, { email: 'x@example.com', unknownThing: 1 }],
    });
    expect(refused).toEqual({
      status: 400,
      body: {
        error: 'contacts.1: The contact property `unknownThing` does not exist. Create it first.',
      },
    });
    expect(await callAdmin(emulator, 'GET', '/stats')).toMatchObject({ contacts: 0 });
    const seeded = await callAdmin<{ created: number; ids: string[] }>(
      emulator,
      'POST',
      '/contacts/bulk',
      {
        contacts: [
          {
            email: 'a@example.com',
            userId: 'u-a',
            planName: 'pro',
            mailingLists: { [listId]: true },
          },
          { email: 'b@example.com', subscribed: false },
          { email: 'A@example.com', firstName: 'Ada' },
        ],
      },
    );
    expect(seeded.created).toBe(2);
    expect(seeded.ids[0]).toBe(seeded.ids[2]);
    expect(await adminContact(emulator, 'a@example.com')).toMatchObject({
      id: seeded.ids[0],
      userId: 'u-a',
      firstName: 'Ada',
      subscribed: true,
      mailingLists: [listId],
      properties: { planName: 'pro' },
      suppressed: false,
      resubscriptions: 0,
    });
    const members = await callAdmin<{ total: number; data: { email: string }[] }>(
      emulator,
      'GET',
      `/contacts?listId=${listId}`,
    );
    expect(members.data.map((contact) => contact.email)).toEqual(['a@example.com']);
    expect(await callAdmin(emulator, 'GET', '/stats')).toEqual({
      contacts: 2,
      mailingLists: 1,
      subscriptions: 1,
      customProperties: 1,
      requests: 1,
      rateLimit: 10,
    });
    const page = await callAdmin<{ total: number; data: { email: string }[] }>(
      emulator,
      'GET',
      '/contacts?offset=1&limit=5',
    );
    expect(page.total).toBe(2);
    expect(page.data.map((contact) => contact.email)).toEqual(['b@example.com']);
  });

  it('logs each request with its outcome and subject, never its body', async () => {
    const emulator = await startEmulator({ apiKeys: ['good'] });
    await sdkFor(emulator, 'good').createContact({
      email: 'Log@Example.com',
      properties: { firstName: 'Secret' },
    });
    await sdkFor(emulator, 'bad')
      .findContact({ userId: 'u-1' })
      .catch(() => undefined);
    const { data } = await callAdmin<{ data: RequestLogEntry[] }>(emulator, 'GET', '/requests');
    expect(
      data.map(({ method, path, status, outcome, key }) => ({
        method,
        path,
        status,
        outcome,
        key,
      })),
    ).toEqual([
      {
        method: 'POST',
        path: '/v1/contacts/create',
        status: 200,
        outcome: 'ok',
        key: 'log@example.com',
      },
      {
        method: 'GET',
        path: '/v1/contacts/find',
        status: 401,
        outcome: 'unauthorized',
        key: 'u-1',
      },
    ]);
    expect(JSON.stringify(data)).not.toContain('Secret');
    const posts = await callAdmin<{ data: RequestLogEntry[] }>(
      emulator,
      'GET',
      '/requests?method=post',
    );
    expect(posts.data).toHaveLength(1);
  });

  it('acts like a person: unsubscribes from a list or from everything, bounces, reports spam, deletes', async () => {
    const emulator = await startEmulator();
    const listId = demoListId(emulator);
    const loops = sdkFor(emulator);
    for (const email of [
      'l@example.com',
      'u@example.com',
      'h@example.com',
      's@example.com',
      'd@example.com',
    ]) {
      await loops.createContact({ email, mailingLists: { [listId]: true } });
    }
    await callAdmin(emulator, 'POST', '/contacts/unsubscribe-from-list', {
      email: 'l@example.com',
      listId,
    });
    await callAdmin(emulator, 'POST', '/contacts/unsubscribe', { email: 'u@example.com' });
    await callAdmin(emulator, 'POST', '/contacts/hard-bounce', { email: 'h@example.com' });
    await callAdmin(emulator, 'POST', '/contacts/spam-report', { email: 's@example.com' });
    expect(
      await callAdmin(emulator, 'POST', '/contacts/delete', { email: 'd@example.com' }),
    ).toMatchObject({ deleted: true });
    const state = async (email: string) => {
      const { subscribed, mailingLists, suppressed, optedOutLists } = await adminContact(
        emulator,
        email,
      );
      return { subscribed, mailingLists, suppressed, optedOutLists };
    };
    expect(await state('l@example.com')).toEqual({
      subscribed: true,
      mailingLists: [],
      suppressed: false,
      optedOutLists: [listId],
    });
    expect(await state('u@example.com')).toEqual({
      subscribed: false,
      mailingLists: [listId],
      suppressed: false,
      optedOutLists: [],
    });
    expect(await state('h@example.com')).toEqual({
      subscribed: false,
      mailingLists: [listId],
      suppressed: true,
      optedOutLists: [],
    });
    expect(await state('s@example.com')).toEqual({
      subscribed: false,
      mailingLists: [listId],
      suppressed: true,
      optedOutLists: [],
    });
    expect(await loops.findContact({ email: 'd@example.com' })).toEqual([]);
    expect(
      await adminStatus(emulator.url, 'POST', '/contacts/unsubscribe', { email: 'd@example.com' }),
    ).toEqual({
      status: 404,
      body: { error: 'No contact has this email or userId.' },
    });
    expect(
      (
        await adminStatus(emulator.url, 'POST', '/contacts/unsubscribe-from-list', {
          email: 'l@example.com',
          listId: 'nope',
        })
      ).status,
    ).toBe(404);
  });

  it('resets contacts, properties, the quota and the log, and keeps the lists and the webhook endpoint', async () => {
    const receiver = await startReceiver(WEBHOOK_SECRET);
    const emulator = await startEmulator({
      webhook: { url: receiver.url, secret: WEBHOOK_SECRET },
    });
    const listId = demoListId(emulator);
    const loops = sdkFor(emulator);
    await loops.createContactProperty('planName', 'string');
    await loops.createContact({ email: 'r@example.com' });
    await callAdmin(emulator, 'PUT', '/config', { requireDefinedProperties: false });
    expect(await callAdmin(emulator, 'POST', '/reset')).toEqual({ reset: true });
    expect(await callAdmin(emulator, 'GET', '/stats')).toEqual({
      contacts: 0,
      mailingLists: 1,
      subscriptions: 0,
      customProperties: 0,
      requests: 0,
      rateLimit: 10,
    });
    expect(emulator.mailingLists().map((list) => list.id)).toEqual([listId]);
    expect(emulator.webhookEndpoint()).toEqual({ url: receiver.url, secret: WEBHOOK_SECRET });
    expect(await callAdmin(emulator, 'GET', '/config')).toEqual({
      rateLimit: 10,
      requireDefinedProperties: false,
      suppressionRemovalQuota: 10,
    });
    expect(await callAdmin(emulator, 'GET', '/webhook/deliveries')).toEqual({ deliveries: [] });
  });

  it('answers 404 for an admin path it does not know and 400 for a bad body', async () => {
    const emulator = await startEmulator();
    expect((await adminStatus(emulator.url, 'GET', '/nothing')).status).toBe(404);
    expect((await adminStatus(emulator.url, 'PUT', '/webhook', { url: 'ftp://x' })).status).toBe(
      400,
    );
    expect(
      (
        await adminStatus(emulator.url, 'POST', '/contacts/unsubscribe', {
          email: 'a@b.co',
          userId: 'u',
        })
      ).status,
    ).toBe(400);
  });
});
