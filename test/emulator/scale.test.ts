import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { callAdmin, callApi, field, stringField } from './support/http.js';
import { timedRounds } from './support/request-log.js';

const CONTACTS = 1_000_000;
const CHUNK = 50_000;

/** Runs `work` and reports how long it took, for the numbers in the test output. */
async function timed<T>(label: string, work: () => Promise<T>): Promise<T> {
  const started = performance.now();
  const result = await work();
  console.log(`[scale] ${label}: ${(performance.now() - started).toFixed(1)} ms`);
  return result;
}

describe('the emulator with a million contacts', () => {
  let emulator: StartedResendEmulator;
  let segmentId: string;

  beforeAll(async () => {
    emulator = await startResendEmulator({ rateLimit: 1000 });
    segmentId = (
      await callAdmin<{ id: string }>(emulator, 'POST', '/segments', { name: 'Everyone even' })
    ).id;
    await timed(`bulk seed of ${CONTACTS} contacts`, async () => {
      for (let offset = 0; offset < CONTACTS; offset += CHUNK) {
        const contacts = Array.from({ length: CHUNK }, (_, index) => {
          const number = offset + index;
          return {
            email: `user${number}@example.com`,
            ...(number % 2 === 0 ? { segment_ids: [segmentId] } : {}),
          };
        });
        const seeded = await callAdmin<{ created: number }>(emulator, 'POST', '/contacts/bulk', {
          contacts,
        });
        expect(seeded.created).toBe(CHUNK);
      }
    });
  });
  afterAll(() => emulator.close());

  it('holds them all', async () => {
    expect(await callAdmin(emulator, 'GET', '/stats')).toMatchObject({
      contacts: CONTACTS,
      segments: 1,
      memberships: CONTACTS / 2,
    });
  });

  it('answers single-item operations and pages quickly, round after round', async () => {
    await timedRounds('[scale] POST /contacts', async (round) => {
      const answer = await callApi(emulator, 'POST', '/contacts', {
        body: { email: `round${round}@example.com` },
      });
      expect(answer.status).toBe(201);
    });
    await timedRounds('[scale] GET /contacts/{email}', async (round) => {
      const answer = await callApi(emulator, 'GET', `/contacts/user${round * 49_999}@example.com`);
      expect(answer.status).toBe(200);
    });
    await timedRounds('[scale] POST /contacts/{email}/segments/{id}', async (round) => {
      const answer = await callApi(
        emulator,
        'POST',
        `/contacts/user${round * 2 + 1}@example.com/segments/${segmentId}`,
      );
      expect(answer.status).toBe(200);
    });
    await timedRounds('[scale] GET /contacts?limit=100', async () => {
      expect((await callApi(emulator, 'GET', '/contacts?limit=100')).status).toBe(200);
    });
    await timedRounds('[scale] GET /segments/{id}/contacts?limit=100', async () => {
      expect(
        (await callApi(emulator, 'GET', `/segments/${segmentId}/contacts?limit=100`)).status,
      ).toBe(200);
    });
  });

  it('creates, finds, adds to a segment and pages as usual', async () => {
    const created = await timed('POST /contacts', () =>
      callApi(emulator, 'POST', '/contacts', { body: { email: 'newcomer@example.com' } }),
    );
    expect(created.status).toBe(201);

    const byEmail = await timed('GET /contacts/{email}', () =>
      callApi(emulator, 'GET', '/contacts/user777777@example.com'),
    );
    expect(byEmail.body).toMatchObject({ email: 'user777777@example.com' });

    const added = await timed('POST /contacts/{email}/segments/{id}', () =>
      callApi(emulator, 'POST', `/contacts/user777777@example.com/segments/${segmentId}`),
    );
    expect(added.status).toBe(200);

    const newest = await timed('GET /contacts?limit=100', () =>
      callApi(emulator, 'GET', '/contacts?limit=100'),
    );
    const items = field(newest.body, 'data') as unknown[];
    expect(items).toHaveLength(100);
    expect(stringField(items[0], 'email')).toBe('newcomer@example.com');
    expect(field(newest.body, 'has_more')).toBe(true);

    const cursor = stringField(byEmail.body, 'id');
    const deep = await timed('GET /contacts?limit=100&after=<deep cursor>', () =>
      callApi(emulator, 'GET', `/contacts?limit=100&after=${cursor}`),
    );
    expect(stringField((field(deep.body, 'data') as unknown[])[0], 'email')).toBe(
      'user777776@example.com',
    );

    const members = await timed('GET /segments/{id}/contacts?limit=100', () =>
      callApi(emulator, 'GET', `/segments/${segmentId}/contacts?limit=100`),
    );
    const memberEmails = (field(members.body, 'data') as unknown[]).map((item) =>
      stringField(item, 'email'),
    );
    expect(memberEmails).toHaveLength(100);
    expect(memberEmails.slice(0, 2)).toEqual(['user999998@example.com', 'user999996@example.com']);

    const deepMembers = await timed('GET /segments/{id}/contacts?limit=100&after=<member>', () =>
      callApi(emulator, 'GET', `/segments/${segmentId}/contacts?limit=100&after=${cursor}`),
    );
    expect(stringField((field(deepMembers.body, 'data') as unknown[])[0], 'email')).toBe(
      'user777776@example.com',
    );
  });
});
