import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { callAdmin } from './support/http.js';

interface AdminContacts {
  total: number;
  data: { email: string }[];
}

/** More than the store's list blocks hold (512 each, split at 1024), so pages cross blocks. */
const COUNT = 2600;
const emailOf = (n: number) => `user${String(n).padStart(5, '0')}@example.com`;
const all = Array.from({ length: COUNT }, (_, index) => emailOf(index));

describe("the admin API's contact paging", () => {
  let emulator: StartedResendEmulator;
  let segmentId: string;

  beforeAll(async () => {
    emulator = await startResendEmulator({ rateLimit: 1000 });
    ({ id: segmentId } = await callAdmin<{ id: string }>(emulator, 'POST', '/segments', {
      name: 'Paged',
    }));
    await callAdmin(emulator, 'POST', '/contacts/bulk', {
      // Every other contact in the segment, so its members are a list of their own.
      contacts: all.map((email, index) => ({
        email,
        segment_ids: index % 2 === 0 ? [segmentId] : [],
      })),
    });
  });
  afterAll(() => emulator.close());

  const page = async (query: string) => {
    const answer = await callAdmin<AdminContacts>(emulator, 'GET', `/contacts?${query}`);
    return { total: answer.total, emails: answer.data.map((contact) => contact.email) };
  };

  it('answers `limit` contacts from `offset`, anywhere in the list', async () => {
    for (const offset of [0, 1, 511, 1000, 1023, 1024, 2550]) {
      expect(await page(`offset=${offset}&limit=100`)).toEqual({
        total: COUNT,
        emails: all.slice(offset, offset + 100),
      });
    }
    expect(await page(`offset=${COUNT}&limit=10`)).toEqual({ total: COUNT, emails: [] });
  });

  it('covers every contact exactly once when paged through', async () => {
    const seen: string[] = [];
    for (let offset = 0; offset < COUNT; offset += 300) {
      const { emails } = await page(`offset=${offset}&limit=300`);
      expect(emails).toHaveLength(Math.min(300, COUNT - offset));
      seen.push(...emails);
    }
    expect(seen).toEqual(all);
  });

  it('pages a segment by its members, not by all contacts', async () => {
    const members = all.filter((_, index) => index % 2 === 0);
    expect(await page(`segment_id=${segmentId}&offset=600&limit=50`)).toEqual({
      total: members.length,
      emails: members.slice(600, 650),
    });
  });

  it('pages a lookup by email the same way', async () => {
    const email = emailOf(7);
    expect(await page(`email=${email}&offset=0&limit=1`)).toEqual({ total: 1, emails: [email] });
    expect(await page(`email=${email}&offset=1&limit=1`)).toEqual({ total: 1, emails: [] });
  });
});
