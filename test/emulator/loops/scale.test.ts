import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedLoopsEmulator } from '../../../emulator/loops/index.js';
import { callAdmin } from '../support/http.js';
import { timedRounds } from '../support/request-log.js';
import { closeAll, demoListId, sdkFor, startEmulator } from './support.js';

const CONTACTS = 1_000_000;
const CHUNK = 50_000;

describe('the Loops emulator with a million contacts', () => {
  let emulator: StartedLoopsEmulator;
  let listId: string;

  beforeAll(async () => {
    emulator = await startEmulator({ rateLimit: 1000 });
    listId = demoListId(emulator);
    const started = performance.now();
    for (let offset = 0; offset < CONTACTS; offset += CHUNK) {
      const contacts = Array.from({ length: CHUNK }, (_, index) => {
        const number = offset + index;
        return {
          email: `user${number}@example.com`,
          userId: `user-${number}`,
          ...(number % 2 === 0 ? { mailingLists: { [listId]: true } } : {}),
        };
      });
      const seeded = await callAdmin<{ created: number }>(emulator, 'POST', '/contacts/bulk', {
        contacts,
      });
      expect(seeded.created).toBe(CHUNK);
    }
    console.log(
      `[loops scale] bulk seed of ${CONTACTS} contacts: ${(performance.now() - started).toFixed(0)} ms`,
    );
    // Twenty 50 000-row seeds take minutes, not seconds, when the machine's cores are shared.
  }, 600_000);
  afterAll(closeAll);

  it('holds them all', async () => {
    expect(await callAdmin(emulator, 'GET', '/stats')).toMatchObject({
      contacts: CONTACTS,
      subscriptions: CONTACTS / 2,
    });
  });

  it('finds, updates, creates, unsubscribes and deletes through the SDK as usual, round after round', {
    timeout: 300_000,
  }, async () => {
    const loops = sdkFor(emulator);
    await timedRounds('[loops scale] findContact by email', async (round) => {
      const found = await loops.findContact({ email: `user${round * 49_999}@example.com` });
      expect(found).toEqual([expect.objectContaining({ userId: `user-${round * 49_999}` })]);
    });
    await timedRounds('[loops scale] updateContact by userId (new email)', async (round) => {
      const number = round * 50_001 + 1;
      await loops.updateContact({
        userId: `user-${number}`,
        email: `renamed${number}@example.com`,
      });
      expect(await loops.findContact({ email: `user${number}@example.com` })).toEqual([]);
    });
    await timedRounds('[loops scale] updateContact mailingLists false', async (round) => {
      await loops.updateContact({ userId: `user-${round * 2}`, mailingLists: { [listId]: false } });
    });
    await timedRounds('[loops scale] createContact', async (round) => {
      await loops.createContact({
        email: `fresh${round}@example.com`,
        mailingLists: { [listId]: true },
      });
    });
    await timedRounds('[loops scale] deleteContact by userId', async (round) => {
      await loops.deleteContact({ userId: `user-${CONTACTS - 1 - round}` });
    });
    expect(await callAdmin(emulator, 'GET', '/stats')).toMatchObject({
      contacts: CONTACTS,
      subscriptions: CONTACTS / 2 - 20 + 20 - 10,
    });
  });
});
