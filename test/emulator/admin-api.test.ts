import { afterAll, beforeAll, beforeEach, describe, expect, it, onTestFinished } from 'vitest';
import {
  type RequestLogEntry,
  type StartedResendEmulator,
  startResendEmulator,
} from '../../emulator/resend/index.js';
import { callAdmin, callApi } from './support/http.js';

interface AdminContacts {
  total: number;
  data: {
    id: string;
    email: string;
    first_name: string | null;
    unsubscribed: boolean;
    created_at: string;
    segment_ids: string[];
  }[];
}

describe('the admin API', () => {
  let emulator: StartedResendEmulator;

  beforeAll(async () => {
    emulator = await startResendEmulator({ rateLimit: 1000, requestLogLimit: 5 });
  });
  afterAll(() => emulator.close());
  beforeEach(() => callAdmin(emulator, 'POST', '/reset'));

  it('seeds segments and contacts without the rate limit, upserting by email', async () => {
    await callAdmin(emulator, 'PUT', '/config', { rateLimit: 1 });
    try {
      const { id: segmentId } = await callAdmin<{ id: string }>(emulator, 'POST', '/segments', {
        name: 'Seeded',
      });
      const seeded = await callAdmin<{ created: number; ids: string[] }>(
        emulator,
        'POST',
        '/contacts/bulk',
        {
          contacts: [
            {
              email: 'a@example.com',
              first_name: 'A',
              segment_ids: [segmentId],
              created_at: '2025-01-02 03:04:05.123456+00',
            },
            { email: 'b@example.com', unsubscribed: true },
            { email: 'A@example.com', last_name: 'Again' },
          ],
        },
      );
      expect(seeded.created).toBe(2);
      expect(seeded.ids[2]).toBe(seeded.ids[0]);
      const contacts = await callAdmin<AdminContacts>(emulator, 'GET', '/contacts');
      expect(contacts.total).toBe(2);
      expect(contacts.data[0]).toMatchObject({
        email: 'a@example.com',
        first_name: 'A',
        created_at: '2025-01-02 03:04:05.123456+00',
        segment_ids: [segmentId],
      });
      const segments = await callAdmin<{ data: unknown[] }>(emulator, 'GET', '/segments');
      expect(segments.data).toEqual([
        { id: segmentId, name: 'Seeded', created_at: expect.any(String), contact_count: 1 },
      ]);
    } finally {
      await callAdmin(emulator, 'PUT', '/config', { rateLimit: 1000 });
    }
  });

  it('refuses a bulk seed with a bad row and writes nothing', async () => {
    const response = await fetch(`${emulator.url}/_emulator/contacts/bulk`, {
      method: 'POST',
      body: JSON.stringify({ contacts: [{ email: 'ok@example.com' }, { email: 'not an email' }] }),
    });
    expect(response.status).toBe(400);
    expect(await response.json()).toEqual({ error: expect.stringContaining('contacts.1') });
    expect(await callAdmin(emulator, 'GET', '/stats')).toMatchObject({ contacts: 0 });
  });

  it('filters contacts by segment and email, with offset paging', async () => {
    const { id: segmentId } = await callAdmin<{ id: string }>(emulator, 'POST', '/segments', {
      name: 'S',
    });
    await callAdmin(emulator, 'POST', '/contacts/bulk', {
      contacts: ['1', '2', '3', '4'].map((n) => ({
        email: `${n}@example.com`,
        segment_ids: n === '4' ? [] : [segmentId],
      })),
    });
    const members = await callAdmin<AdminContacts>(
      emulator,
      'GET',
      `/contacts?segment_id=${segmentId}&offset=1&limit=1`,
    );
    expect(members.total).toBe(3);
    expect(members.data.map((contact) => contact.email)).toEqual(['2@example.com']);
    const one = await callAdmin<AdminContacts>(emulator, 'GET', '/contacts?email=4@EXAMPLE.com');
    expect(one.data.map((contact) => contact.email)).toEqual(['4@example.com']);
    const memberships = await callAdmin<{ data: { contact_id: string }[] }>(
      emulator,
      'GET',
      '/memberships',
    );
    expect(memberships.data).toHaveLength(3);
  });

  it('logs requests with their subject, filtered and kept as a ring', async () => {
    // An emulator of its own: sequence numbers outlive a reset, and the seqs below count from 1.
    const emulator = await startResendEmulator({ rateLimit: 1000, requestLogLimit: 5 });
    onTestFinished(() => emulator.close());
    const { id: segmentId } = await callAdmin<{ id: string }>(emulator, 'POST', '/segments', {
      name: 'S',
    });
    await callApi(emulator, 'POST', '/contacts', { body: { email: 'Ann@Example.com' } });
    await callApi(emulator, 'POST', `/contacts/Ann@Example.com/segments/${segmentId}`);
    await callApi(emulator, 'PATCH', '/contacts/Ann@Example.com', { body: { first_name: 'Ann' } });
    await callApi(emulator, 'POST', '/segments', { body: { name: 'Newsletter' } });
    await callApi(emulator, 'GET', '/segments/not-a-uuid');
    const { data } = await callAdmin<{ data: RequestLogEntry[] }>(emulator, 'GET', '/requests');
    expect(data.map((entry) => [entry.method, entry.key, entry.outcome])).toEqual([
      ['POST', 'ann@example.com', 'ok'],
      ['POST', `Ann@Example.com→${segmentId}`, 'ok'],
      ['PATCH', 'Ann@Example.com', 'ok'],
      ['POST', 'Newsletter', 'ok'],
      ['GET', 'not-a-uuid', 'client_error'],
    ]);
    expect(data.every((entry) => !Number.isNaN(Date.parse(entry.at)))).toBe(true);

    await callApi(emulator, 'GET', '/contacts');
    const { data: ring } = await callAdmin<{ data: RequestLogEntry[] }>(
      emulator,
      'GET',
      '/requests',
    );
    expect(ring.map((entry) => entry.seq)).toEqual([2, 3, 4, 5, 6]);
    const since = await callAdmin<{ data: RequestLogEntry[] }>(
      emulator,
      'GET',
      '/requests?since_seq=4&method=get',
    );
    expect(since.data.map((entry) => entry.seq)).toEqual([5, 6]);
    const prefixed = await callAdmin<{ data: RequestLogEntry[] }>(
      emulator,
      'GET',
      '/requests?path_prefix=/segments&limit=1',
    );
    expect(prefixed.data.map((entry) => entry.path)).toEqual(['/segments']);
    expect(await callAdmin(emulator, 'GET', '/stats')).toMatchObject({
      requests: 6,
      rateLimit: 1000,
    });
  });

  it('resets state, log and faults, keeping the rate limit', async () => {
    await callApi(emulator, 'POST', '/segments', { body: { name: 'S' } });
    await callAdmin(emulator, 'PUT', '/faults', { latencyMs: 1 });
    await callAdmin(emulator, 'POST', '/reset');
    expect(await callAdmin(emulator, 'GET', '/stats')).toEqual({
      contacts: 0,
      segments: 0,
      memberships: 0,
      requests: 0,
      rateLimit: 1000,
    });
    expect(await callAdmin(emulator, 'GET', '/faults')).toEqual({ seed: 1 });
  });

  it('answers unknown admin endpoints and bad input clearly', async () => {
    expect((await fetch(`${emulator.url}/_emulator/nothing`)).status).toBe(404);
    const badConfig = await fetch(`${emulator.url}/_emulator/config`, {
      method: 'PUT',
      body: '{"rateLimit":0}',
    });
    expect(badConfig.status).toBe(400);
    expect((await fetch(`${emulator.url}/_emulator/contacts?limit=x`)).status).toBe(400);
  });
});
