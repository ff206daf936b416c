import { describe, expect, it } from 'vitest';
import { DryRunWriteError, readOnlyPlatform } from '../../../activities/dry-run.js';
import type {
  ContactToSync,
  FoundContact,
  MarketingPlatform,
} from '../../../activities/platforms/platform.js';
import { buildRunPlan, type PlanRow } from '../../../common/plan.js';

const list = { id: 'seg-1', name: 'Weekly', create: false };

describe('a dry run plan', () => {
  it('puts each row in its class, samples sorted and at most 20 ids, reasons apart', () => {
    const many = Array.from({ length: 25 }, (_, index) => `u${String(index).padStart(2, '0')}`);
    const rows: PlanRow[] = [
      { kind: 'create', reason: null, count: 25, userIds: many },
      { kind: 'join', reason: null, count: 2, userIds: ['b', 'a'] },
      { kind: 'present', reason: null, count: 1, userIds: ['p'] },
      { kind: 'update', reason: null, count: 1, userIds: ['a'] },
      { kind: 'remove', reason: null, count: 2, userIds: ['l1', 'l2'] },
      { kind: 'unsubscribe', reason: null, count: 1, userIds: ['o1'] },
      { kind: 'unsubscribe_leaver', reason: null, count: 1, userIds: ['l2'] },
      { kind: 'skipped', reason: 'opted_out', count: 1, userIds: ['o1'] },
      { kind: 'skipped', reason: 'duplicate_email', count: 2, userIds: ['d1', 'd2'] },
      { kind: 'failed', reason: 'invalid_email', count: 1, userIds: ['x'] },
    ];
    const guard = { tracked: 10, wouldRemove: 2, maxRemovals: 5, tripped: false };
    expect(buildRunPlan(rows, list, ['vip'], guard)).toEqual({
      list,
      tagsToCreate: ['vip'],
      create: { count: 25, userIds: many.slice(0, 20) },
      join: { count: 2, userIds: ['a', 'b'] },
      present: { count: 1, userIds: ['p'] },
      update: { count: 1, userIds: ['a'] },
      remove: { count: 2, userIds: ['l1', 'l2'] },
      // Opted-out members in the population and opted-out leavers are one class.
      unsubscribe: { count: 2, userIds: ['l2', 'o1'] },
      skipped: {
        count: 3,
        byReason: {
          opted_out: { count: 1, userIds: ['o1'] },
          duplicate_email: { count: 2, userIds: ['d1', 'd2'] },
        },
      },
      failed: { count: 1, byReason: { invalid_email: { count: 1, userIds: ['x'] } } },
      removalGuard: guard,
    });
  });

  it('is empty, without a guard, when the run had no users', () => {
    const plan = buildRunPlan([], { id: null, name: 'New', create: true });
    expect(plan).toMatchObject({
      list: { id: null, name: 'New', create: true },
      create: { count: 0, userIds: [] },
      skipped: { count: 0, byReason: {} },
    });
    expect(plan.removalGuard).toBeUndefined();
  });
});

/** A platform whose every write fails the test, and that knows one contact. */
function fakePlatform(): MarketingPlatform & { writes: string[] } {
  const writes: string[] = [];
  const write = (name: string) => async () => {
    writes.push(name);
  };
  return {
    writes,
    name: 'fake',
    account: 'fake:1',
    getList: async (id) => ({ id, name: 'Weekly' }),
    findList: async (name) => (name === 'vip' ? { id: 'seg-vip', name } : null),
    findContacts: async (contacts: ContactToSync[]) =>
      new Map<string, FoundContact>(
        contacts
          .filter((contact) => contact.email === 'known@example.org')
          .map((contact) => [contact.userId, { contactId: 'c-1', emptyFields: ['first_name'] }]),
      ),
    createRunList: async () => {
      writes.push('createRunList');
      return { id: 'x', name: 'x' };
    },
    findOrCreateList: async () => {
      writes.push('findOrCreateList');
      return { id: 'x', name: 'x' };
    },
    defineProperties: write('defineProperties'),
    syncContacts: write('syncContacts'),
    patchContacts: write('patchContacts'),
    removeFromList: write('removeFromList'),
    markUnsubscribed: write('markUnsubscribed'),
    deleteContacts: write('deleteContacts'),
  };
}

const contact = (userId: string, email: string): ContactToSync => ({
  userId,
  email,
  firstName: 'Ada',
  lastName: null,
  properties: {},
});

describe('the platform a dry run sees', () => {
  it('answers reads from the real platform', async () => {
    const real = fakePlatform();
    const platform = readOnlyPlatform(real);
    expect(
      await platform.findContacts?.([
        contact('1', 'known@example.org'),
        contact('2', 'new@example.org'),
      ]),
    ).toEqual(new Map([['1', { contactId: 'c-1', emptyFields: ['first_name'] }]]));
    expect(await platform.findList?.('vip')).toEqual({ id: 'seg-vip', name: 'vip' });
    expect(await platform.getList('seg-1')).toEqual({ id: 'seg-1', name: 'Weekly' });
    expect(real.writes).toEqual([]);
  });

  it('refuses every write before it reaches the platform', async () => {
    const real = fakePlatform();
    const platform = readOnlyPlatform(real);
    const sink = async () => {};
    const ref = { userId: '1', email: null, contactId: 'c-1' };
    await expect(platform.createRunList('run-1', 'New')).rejects.toBeInstanceOf(DryRunWriteError);
    await expect(platform.findOrCreateList('vip')).rejects.toBeInstanceOf(DryRunWriteError);
    await expect(platform.defineProperties([])).rejects.toBeInstanceOf(DryRunWriteError);
    await expect(platform.deleteContacts([], sink)).rejects.toBeInstanceOf(DryRunWriteError);
    await expect(
      platform.syncContacts([contact('1', 'known@example.org')], ['seg-1'], sink),
    ).rejects.toBeInstanceOf(DryRunWriteError);
    await expect(
      platform.patchContacts([{ contact: ref, fields: { firstName: 'Ada' } }], sink),
    ).rejects.toBeInstanceOf(DryRunWriteError);
    await expect(platform.removeFromList([ref], 'seg-1', sink)).rejects.toBeInstanceOf(
      DryRunWriteError,
    );
    await expect(platform.markUnsubscribed([ref], sink)).rejects.toBeInstanceOf(DryRunWriteError);
    expect(platform.bulk).toBeUndefined();
    expect(real.writes).toEqual([]);
  });

  it('cannot be made for a platform that cannot answer the reads a plan needs', () => {
    const { findContacts: _reads, ...blind } = fakePlatform();
    expect(() => readOnlyPlatform(blind)).toThrow(DryRunWriteError);
  });
});
