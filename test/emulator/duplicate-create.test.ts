import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { callAdmin, callApi, stringField } from './support/http.js';

interface AdminContacts {
  total: number;
  data: {
    id: string;
    email: string;
    first_name: string | null;
    last_name: string | null;
    unsubscribed: boolean;
    properties: Record<string, unknown>;
    created_at: string;
    segment_ids: string[];
  }[];
}

describe('creating a contact whose email already exists', () => {
  let emulator: StartedResendEmulator;
  let segmentA: string;
  let segmentB: string;
  let original: { id: string; createdAt: string };

  beforeAll(async () => {
    emulator = await startResendEmulator({ rateLimit: 1000 });
  });
  afterAll(() => emulator.close());

  beforeEach(async () => {
    emulator.reset();
    await callAdmin(emulator, 'PUT', '/config', { resetOmittedFieldsOnDuplicateCreate: true });
    await callApi(emulator, 'POST', '/contact-properties', {
      body: { key: 'plan', type: 'string' },
    });
    segmentA = stringField(
      (await callApi(emulator, 'POST', '/segments', { body: { name: 'A' } })).body,
      'id',
    );
    segmentB = stringField(
      (await callApi(emulator, 'POST', '/segments', { body: { name: 'B' } })).body,
      'id',
    );
    const first = await callApi(emulator, 'POST', '/contacts', {
      body: {
        email: 'Ann@Example.com',
        first_name: 'Ann',
        last_name: 'Lee',
        unsubscribed: true,
        properties: { plan: 'pro' },
        segments: [{ id: segmentA }],
      },
    });
    const id = stringField(first.body, 'id');
    const fetched = await callApi(emulator, 'GET', `/contacts/${id}`);
    original = { id, createdAt: stringField(fetched.body, 'created_at') };
  });

  async function createAgain() {
    return callApi(emulator, 'POST', '/contacts', {
      body: { email: 'ann@EXAMPLE.com', segments: [{ id: segmentB }] },
    });
  }

  async function storedContact() {
    const found = await callAdmin<AdminContacts>(
      emulator,
      'GET',
      '/contacts?email=ann@example.com',
    );
    expect(found.total).toBe(1);
    return found.data[0];
  }

  it('answers 201 with the existing id, keeps created_at and adds the listed segments', async () => {
    const again = await createAgain();
    expect(again.status).toBe(201);
    expect(again.body).toEqual({ object: 'contact', id: original.id });
    const stored = await storedContact();
    expect(stored?.created_at).toBe(original.createdAt);
    expect(stored?.email).toBe('Ann@Example.com');
    expect(stored?.segment_ids.sort()).toEqual([segmentA, segmentB].sort());
    const stats = await callAdmin<{ contacts: number }>(emulator, 'GET', '/stats');
    expect(stats.contacts).toBe(1);
  });

  it('resets omitted fields to their defaults while the switch is on', async () => {
    await createAgain();
    expect(await storedContact()).toMatchObject({
      first_name: null,
      last_name: null,
      unsubscribed: false,
      properties: {},
    });
  });

  it('leaves omitted fields alone when the switch is off', async () => {
    await callAdmin(emulator, 'PUT', '/config', { resetOmittedFieldsOnDuplicateCreate: false });
    await createAgain();
    expect(await storedContact()).toMatchObject({
      first_name: 'Ann',
      last_name: 'Lee',
      unsubscribed: true,
      properties: { plan: 'pro' },
    });
  });

  it('sets the fields it sends either way', async () => {
    await callApi(emulator, 'POST', '/contacts', {
      body: { email: 'ann@example.com', first_name: 'Annie' },
    });
    expect(await storedContact()).toMatchObject({ first_name: 'Annie', last_name: null });
  });

  it('answers the same id on the legacy audience path and adds that membership', async () => {
    const legacy = await callApi(emulator, 'POST', `/audiences/${segmentB}/contacts`, {
      body: { email: 'ANN@example.com' },
    });
    expect(legacy.body).toEqual({ object: 'contact', id: original.id });
    expect((await storedContact())?.segment_ids.sort()).toEqual([segmentA, segmentB].sort());
  });

  it('can be switched off from the start', async () => {
    const keeping = await startResendEmulator({ resetOmittedFieldsOnDuplicateCreate: false });
    try {
      await callApi(keeping, 'POST', '/contacts', {
        body: { email: 'x@example.com', first_name: 'X' },
      });
      await callApi(keeping, 'POST', '/contacts', { body: { email: 'x@example.com' } });
      const found = await callApi(keeping, 'GET', '/contacts/x@example.com');
      expect(found.body).toMatchObject({ first_name: 'X' });
    } finally {
      await keeping.close();
    }
  });
});
