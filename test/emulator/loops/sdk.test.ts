import { APIError, LoopsClient } from 'loops';
import { afterEach, describe, expect, it } from 'vitest';
import { callAdmin } from '../support/http.js';
import { adminContact, closeAll, demoListId, sdkFor, startEmulator } from './support.js';

afterEach(closeAll);

/** The status and body of the SDK's `APIError`, or fails when the call succeeded. */
async function apiError(call: Promise<unknown>): Promise<{ status: number; json: unknown }> {
  try {
    await call;
  } catch (error) {
    if (error instanceof APIError) return { status: error.statusCode, json: error.json };
    throw error;
  }
  throw new Error('expected the call to fail');
}

describe('the official loops SDK against the emulator (apiRoot)', () => {
  it('tests the key, and answers 401 { success: false, message } for a key it does not know', async () => {
    const emulator = await startEmulator({ apiKeys: ['good_key'], teamName: 'Acme' });
    expect(await sdkFor(emulator, 'good_key').testApiKey()).toEqual({
      success: true,
      teamName: 'Acme',
    });
    expect(await apiError(sdkFor(emulator, 'bad_key').testApiKey())).toEqual({
      status: 401,
      json: { success: false, message: 'Invalid API key', error: 'Invalid API key' },
    });
  });

  it('works with apiRoot at the server root as well as under /api/', async () => {
    const emulator = await startEmulator({ teamName: 'Acme' });
    const client = new LoopsClient('key');
    client.apiRoot = `${emulator.url}/`;
    expect(await client.testApiKey()).toEqual({ success: true, teamName: 'Acme' });
  });

  it('lists the mailing lists, the demo list by default', async () => {
    const emulator = await startEmulator();
    const lists = await sdkFor(emulator).listMailingLists();
    expect(lists).toEqual([
      {
        id: demoListId(emulator),
        name: 'Demo mailing list',
        description: 'Created by the Loops emulator',
        isPublic: true,
      },
    ]);
    expect(demoListId(emulator)).toMatch(/^c[a-z0-9]{24}$/);
    const none = await startEmulator({ mailingLists: [] });
    expect(await sdkFor(none).listMailingLists()).toEqual([]);
  });

  it('creates a contact subscribed, with its lists and custom properties, and finds it by email or userId', async () => {
    const emulator = await startEmulator();
    const loops = sdkFor(emulator);
    const listId = demoListId(emulator);
    await loops.createContactProperty('planName', 'string');
    await loops.createContactProperty('seats', 'number');
    const created = await loops.createContact({
      email: 'Ada@Example.com',
      properties: { userId: 'user-1', firstName: 'Ada', planName: 'pro', seats: 3 },
      mailingLists: { [listId]: true },
    });
    expect(created).toEqual({ success: true, id: expect.stringMatching(/^c[a-z0-9]{24}$/) });
    const expected = {
      id: created.id,
      email: 'Ada@Example.com',
      firstName: 'Ada',
      lastName: null,
      source: 'API',
      subscribed: true,
      userGroup: '',
      userId: 'user-1',
      mailingLists: { [listId]: true },
      optInStatus: null,
      planName: 'pro',
      seats: 3,
    };
    expect(await loops.findContact({ email: 'ada@example.com' })).toEqual([expected]);
    expect(await loops.findContact({ userId: 'user-1' })).toEqual([expected]);
    expect(await loops.findContact({ email: 'nobody@example.com' })).toEqual([]);
  });

  it('answers 409 to a create whose email (any case) or userId exists, and 400 to a bad email', async () => {
    const emulator = await startEmulator();
    const loops = sdkFor(emulator);
    await loops.createContact({ email: 'taken@example.com', properties: { userId: 'u-1' } });
    const conflict = { success: false, message: 'Email or userId already exists.' };
    expect(await apiError(loops.createContact({ email: 'TAKEN@example.com' }))).toEqual({
      status: 409,
      json: conflict,
    });
    expect(
      await apiError(
        loops.createContact({ email: 'other@example.com', properties: { userId: 'u-1' } }),
      ),
    ).toEqual({ status: 409, json: conflict });
    expect(await apiError(loops.createContact({ email: 'not-an-email' }))).toEqual({
      status: 400,
      json: { success: false, message: 'Invalid email address.' },
    });
    const { data } = await callAdmin<{ data: unknown[] }>(emulator, 'GET', '/contacts');
    expect(data).toHaveLength(1);
  });

  it('refuses a custom property that was not created first, and a value of the wrong type', async () => {
    const emulator = await startEmulator();
    const loops = sdkFor(emulator);
    expect(
      await apiError(
        loops.createContact({ email: 'a@example.com', properties: { planName: 'pro' } }),
      ),
    ).toEqual({
      status: 400,
      json: {
        success: false,
        message: 'The contact property `planName` does not exist. Create it first.',
      },
    });
    await loops.createContactProperty('seats', 'number');
    expect(
      await apiError(loops.updateContact({ email: 'a@example.com', properties: { seats: '3' } })),
    ).toEqual({ status: 400, json: { success: false, message: '`seats` must be a number.' } });
    expect(await loops.findContact({ email: 'a@example.com' })).toEqual([]);
  });

  it('updates by email, creates when nobody matches, and changes the email of a contact found by userId', async () => {
    const emulator = await startEmulator();
    const loops = sdkFor(emulator);
    const created = await loops.updateContact({
      email: 'old@example.com',
      userId: 'user-7',
      properties: { firstName: 'Grace' },
    });
    const renamed = await loops.updateContact({ email: 'new@example.com', userId: 'user-7' });
    expect(renamed.id).toBe(created.id);
    expect(await loops.findContact({ email: 'old@example.com' })).toEqual([]);
    const [found] = (await loops.findContact({ userId: 'user-7' })) as {
      email: string;
      firstName: string;
    }[];
    expect(found).toMatchObject({ email: 'new@example.com', firstName: 'Grace' });
    const byEmail = await loops.updateContact({
      email: 'new@example.com',
      properties: { lastName: 'H' },
    });
    expect(byEmail.id).toBe(created.id);
    const { data } = await callAdmin<{ data: unknown[] }>(emulator, 'GET', '/contacts');
    expect(data).toHaveLength(1);
  });

  it('matches emails in any case and keeps the address as first written', async () => {
    const emulator = await startEmulator();
    const loops = sdkFor(emulator);
    const created = await loops.createContact({ email: 'Mixed@Example.com' });
    const updated = await loops.updateContact({
      email: 'mixed@example.com',
      properties: { firstName: 'M' },
    });
    expect(updated.id).toBe(created.id);
    expect(await loops.findContact({ email: 'MIXED@EXAMPLE.COM' })).toEqual([
      expect.objectContaining({ id: created.id, email: 'Mixed@Example.com', firstName: 'M' }),
    ]);
  });

  it('gives a contact found by email the userId sent with it, and refuses an email and userId of two contacts', async () => {
    const emulator = await startEmulator();
    const loops = sdkFor(emulator);
    const first = await loops.createContact({ email: 'one@example.com' });
    await loops.createContact({ email: 'two@example.com', properties: { userId: 'user-2' } });
    const updated = await loops.updateContact({ email: 'one@example.com', userId: 'user-1' });
    expect(updated.id).toBe(first.id);
    expect((await adminContact(emulator, 'one@example.com')).userId).toBe('user-1');
    expect(
      await apiError(loops.updateContact({ email: 'one@example.com', userId: 'user-2' })),
    ).toEqual({
      status: 400,
      json: { success: false, message: 'The email and userId belong to different contacts.' },
    });
    expect(await apiError(loops.updateContact({ userId: 'user-9' }))).toEqual({
      status: 400,
      json: { success: false, message: 'An email address is required to create a contact.' },
    });
  });

  it('subscribes and unsubscribes mailing lists by { id: true | false }, and refuses an unknown list', async () => {
    const emulator = await startEmulator({
      mailingLists: [
        { id: 'list_a', name: 'A' },
        { id: 'list_b', name: 'B' },
      ],
    });
    const loops = sdkFor(emulator);
    await loops.updateContact({
      email: 'm@example.com',
      mailingLists: { list_a: true, list_b: true },
    });
    await loops.updateContact({ email: 'm@example.com', mailingLists: { list_a: false } });
    const [contact] = (await loops.findContact({ email: 'm@example.com' })) as {
      mailingLists: unknown;
      subscribed: boolean;
    }[];
    expect(contact).toMatchObject({ mailingLists: { list_b: true }, subscribed: true });
    expect(
      await apiError(
        loops.updateContact({ email: 'm@example.com', mailingLists: { list_x: true } }),
      ),
    ).toEqual({
      status: 400,
      json: { success: false, message: 'Mailing list `list_x` does not exist.' },
    });
  });

  it('re-subscribes a contact who unsubscribed when an update sends subscribed: true, and says so in the admin view', async () => {
    const emulator = await startEmulator();
    const loops = sdkFor(emulator);
    await loops.createContact({ email: 'gone@example.com' });
    await callAdmin(emulator, 'POST', '/contacts/unsubscribe', { email: 'gone@example.com' });
    await loops.updateContact({ email: 'gone@example.com', properties: { firstName: 'G' } });
    expect(await adminContact(emulator, 'gone@example.com')).toMatchObject({
      subscribed: false,
      resubscriptions: 0,
    });
    await loops.updateContact({ email: 'gone@example.com', properties: { subscribed: true } });
    expect(await adminContact(emulator, 'gone@example.com')).toMatchObject({
      subscribed: true,
      resubscriptions: 1,
    });
  });

  it('puts a contact back on a list they left themselves when an update sends { id: true }, and counts it', async () => {
    const emulator = await startEmulator();
    const loops = sdkFor(emulator);
    const listId = demoListId(emulator);
    await loops.createContact({ email: 'left@example.com', mailingLists: { [listId]: true } });
    await callAdmin(emulator, 'POST', '/contacts/unsubscribe-from-list', {
      email: 'left@example.com',
      listId,
    });
    expect(await adminContact(emulator, 'left@example.com')).toMatchObject({
      mailingLists: [],
      optedOutLists: [listId],
      resubscriptions: 0,
    });
    await loops.updateContact({ email: 'left@example.com', mailingLists: { [listId]: true } });
    expect(await adminContact(emulator, 'left@example.com')).toMatchObject({
      mailingLists: [listId],
      optedOutLists: [],
      resubscriptions: 1,
    });
  });

  it('deletes by email or userId, and answers 404 for a contact that is not there', async () => {
    const emulator = await startEmulator();
    const loops = sdkFor(emulator);
    await loops.createContact({ email: 'a@example.com', properties: { userId: 'user-a' } });
    await loops.createContact({ email: 'b@example.com' });
    expect(await loops.deleteContact({ userId: 'user-a' })).toEqual({
      success: true,
      message: 'Contact deleted.',
    });
    expect(await loops.deleteContact({ email: 'B@example.com' })).toEqual({
      success: true,
      message: 'Contact deleted.',
    });
    expect(await apiError(loops.deleteContact({ email: 'a@example.com' }))).toEqual({
      status: 404,
      json: { success: false, message: 'Contact not found.' },
    });
    const recreated = await loops.createContact({
      email: 'a@example.com',
      properties: { userId: 'user-a' },
    });
    expect(recreated.success).toBe(true);
  });

  it('checks and removes a suppression within the removal quota', async () => {
    const emulator = await startEmulator({ suppressionRemovalQuota: 1 });
    const loops = sdkFor(emulator);
    await loops.createContact({ email: 'b1@example.com', properties: { userId: 'u1' } });
    await loops.createContact({ email: 'b2@example.com' });
    const contact = { id: expect.any(String), email: 'b1@example.com', userId: 'u1' };
    expect(await loops.checkContactSuppression({ email: 'b1@example.com' })).toEqual({
      contact,
      isSuppressed: false,
      removalQuota: { limit: 1, remaining: 1 },
    });
    expect(await apiError(loops.removeContactSuppression({ userId: 'u1' }))).toEqual({
      status: 400,
      json: { success: false, message: 'Contact is not suppressed.' },
    });
    await callAdmin(emulator, 'POST', '/contacts/hard-bounce', { email: 'b1@example.com' });
    await callAdmin(emulator, 'POST', '/contacts/hard-bounce', { email: 'b2@example.com' });
    expect(await loops.checkContactSuppression({ userId: 'u1' })).toMatchObject({
      isSuppressed: true,
    });
    expect(await loops.removeContactSuppression({ userId: 'u1' })).toEqual({
      success: true,
      message: 'Email removed from suppression list.',
      removalQuota: { limit: 1, remaining: 0 },
    });
    expect(await loops.checkContactSuppression({ userId: 'u1' })).toMatchObject({
      isSuppressed: false,
    });
    expect(await apiError(loops.removeContactSuppression({ email: 'b2@example.com' }))).toEqual({
      status: 400,
      json: { success: false, message: 'Removal quota exceeded.' },
    });
    expect(await apiError(loops.checkContactSuppression({ email: 'none@example.com' }))).toEqual({
      status: 404,
      json: { success: false, message: 'Contact not found.' },
    });
  });

  it('creates and lists custom properties (all or custom), refusing duplicates, bad types and reserved names', async () => {
    const emulator = await startEmulator();
    const loops = sdkFor(emulator);
    expect(await loops.createContactProperty('favoriteColor', 'string')).toEqual({ success: true });
    expect(await loops.createContactProperty('signedUpAt', 'date')).toEqual({ success: true });
    expect(await apiError(loops.createContactProperty('favoriteColor', 'string'))).toEqual({
      status: 400,
      json: { success: false, message: 'Property already exists.' },
    });
    expect((await apiError(loops.createContactProperty('userGroup', 'string'))).status).toBe(400);
    expect((await apiError(loops.createContactProperty('plan_name', 'string'))).status).toBe(400);
    expect(
      (await apiError(loops.createContactProperty('size', 'integer' as 'number'))).status,
    ).toBe(400);
    const custom = [
      { key: 'favoriteColor', label: 'Favorite color', type: 'string' },
      { key: 'signedUpAt', label: 'Signed up at', type: 'date' },
    ];
    expect(await loops.listContactProperties('custom')).toEqual(custom);
    const all = (await loops.listContactProperties()) as { key: string }[];
    expect(all.map((property) => property.key)).toEqual([
      'email',
      'firstName',
      'lastName',
      'notes',
      'source',
      'subscribed',
      'userGroup',
      'userId',
      'favoriteColor',
      'signedUpAt',
    ]);
  });

  it('clears a property sent as null and keeps what an update leaves out', async () => {
    const emulator = await startEmulator();
    const loops = sdkFor(emulator);
    await loops.createContactProperty('planName', 'string');
    await loops.createContact({
      email: 'n@example.com',
      properties: { firstName: 'N', lastName: 'M', planName: 'pro' },
    });
    await loops.updateContact({
      email: 'n@example.com',
      properties: { planName: null, lastName: null },
    });
    const [contact] = (await loops.findContact({ email: 'n@example.com' })) as Record<
      string,
      unknown
    >[];
    expect(contact).toMatchObject({ firstName: 'N', lastName: null });
    expect(contact).not.toHaveProperty('planName');
  });
});
