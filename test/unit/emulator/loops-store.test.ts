import { describe, expect, it } from 'vitest';
import { readContactChanges } from '../../../emulator/loops/routes/contact-fields.js';
import { LoopsStore } from '../../../emulator/loops/store/loops-store.js';

function storeWithLists(...ids: string[]): LoopsStore {
  const store = new LoopsStore();
  for (const id of ids) store.addList({ id, name: id, description: null, isPublic: true });
  return store;
}

describe('LoopsStore', () => {
  it('finds a contact by email in any case and by userId, and moves both keys when they change', () => {
    const store = storeWithLists();
    const contact = store.create({ email: 'Ada@Example.com', userId: 'u-1' });
    expect(store.find({ email: 'ada@example.com' })).toBe(contact);
    expect(store.find({ userId: 'u-1' })).toBe(contact);
    store.apply(contact, { email: 'grace@example.com', userId: 'u-2' });
    expect(store.find({ email: 'ada@example.com' })).toBeUndefined();
    expect(store.find({ userId: 'u-1' })).toBeUndefined();
    expect(store.find({ email: 'GRACE@example.com' })).toBe(contact);
    expect(store.find({ userId: 'u-2' })).toBe(contact);
  });

  it('creates contacts subscribed with Loops defaults unless told otherwise', () => {
    const store = storeWithLists();
    expect(store.create({ email: 'a@example.com' })).toMatchObject({
      subscribed: true,
      source: 'API',
      userGroup: '',
      userId: null,
      firstName: null,
      lists: undefined,
    });
    expect(store.create({ email: 'b@example.com', subscribed: false }).subscribed).toBe(false);
  });

  it('reports which lists a write joined and left, and an unsubscribe, and counts subscriptions', () => {
    const store = storeWithLists('l1', 'l2');
    const contact = store.create({ email: 'a@example.com', mailingLists: { l1: true } });
    expect(store.subscriptionCount).toBe(1);
    expect(store.apply(contact, { mailingLists: { l1: true, l2: true } })).toEqual({
      unsubscribed: false,
      listsJoined: ['l2'],
      listsLeft: [],
    });
    expect(store.apply(contact, { mailingLists: { l1: false }, subscribed: false })).toEqual({
      unsubscribed: true,
      listsJoined: [],
      listsLeft: ['l1'],
    });
    expect(contact.lists).toEqual(['l2']);
    expect(store.subscriptionCount).toBe(1);
    store.delete(contact);
    expect(store.subscriptionCount).toBe(0);
  });

  it('counts a resubscription when a write undoes an unsubscribe or a list the person left', () => {
    const store = storeWithLists('l1');
    const contact = store.create({ email: 'a@example.com', mailingLists: { l1: true } });
    store.apply(contact, { subscribed: false });
    store.apply(contact, { firstName: 'A' });
    expect(contact.resubscriptions).toBe(0);
    store.apply(contact, { subscribed: true });
    expect(contact).toMatchObject({ subscribed: true, resubscriptions: 1 });
    expect(store.personLeavesList(contact, 'l1')).toBe(true);
    expect(store.personLeavesList(contact, 'l1')).toBe(false);
    expect(contact.optedOutLists).toEqual(['l1']);
    store.apply(contact, { mailingLists: { l1: true } });
    expect(contact).toMatchObject({ lists: ['l1'], optedOutLists: undefined, resubscriptions: 2 });
  });

  it('removes a property set to null and keeps the others', () => {
    const store = storeWithLists();
    const contact = store.create({ email: 'a@example.com', properties: { plan: 'pro', seats: 2 } });
    store.apply(contact, { properties: { plan: null } });
    expect(contact.properties).toEqual({ seats: 2 });
  });

  it('clears contacts and custom properties but keeps the mailing lists', () => {
    const store = storeWithLists('l1');
    store.properties.set('plan', { key: 'plan', label: 'Plan', type: 'string' });
    store.create({ email: 'a@example.com', userId: 'u', mailingLists: { l1: true } });
    store.clear();
    expect([store.contacts.size, store.properties.size, store.subscriptionCount]).toEqual([
      0, 0, 0,
    ]);
    expect(store.find({ userId: 'u' })).toBeUndefined();
    expect(store.lists.map((list) => list.id)).toEqual(['l1']);
  });
});

describe('contact fields of a Loops write', () => {
  const rules = (store = storeWithLists('l1')) => ({ store, requireDefinedProperties: true });

  it('splits standard fields, lists and custom properties, and resets names sent as null', () => {
    const store = storeWithLists('l1');
    store.properties.set('plan', { key: 'plan', label: 'Plan', type: 'string' });
    store.properties.set('since', { key: 'since', label: 'Since', type: 'date' });
    expect(
      readContactChanges(rules(store), {
        email: 'a@example.com',
        userId: 'u-1',
        firstName: null,
        userGroup: 'vip',
        mailingLists: { l1: true },
        plan: 'pro',
        since: '2026-01-31',
        notes: 'n',
      }),
    ).toEqual({
      email: 'a@example.com',
      userId: 'u-1',
      firstName: null,
      userGroup: 'vip',
      mailingLists: { l1: true },
      properties: { plan: 'pro', since: '2026-01-31', notes: 'n' },
    });
  });

  it('refuses what Loops would: bad email, unknown list or property, wrong types, long strings', () => {
    const store = storeWithLists('l1');
    store.properties.set('seats', { key: 'seats', label: 'Seats', type: 'number' });
    const refused = (body: Record<string, unknown>) => {
      try {
        readContactChanges(rules(store), body);
        return 'accepted';
      } catch (error) {
        return (error as Error).message;
      }
    };
    expect(refused({ email: 'nope' })).toBe('Invalid email address.');
    expect(refused({ mailingLists: { l2: true } })).toBe('Mailing list `l2` does not exist.');
    expect(refused({ mailingLists: { l1: 'yes' } })).toBe('`mailingLists.l1` must be a boolean.');
    expect(refused({ mailingLists: ['l1'] })).toContain('must be an object');
    expect(refused({ plan: 'pro' })).toBe(
      'The contact property `plan` does not exist. Create it first.',
    );
    expect(refused({ seats: '2' })).toBe('`seats` must be a number.');
    expect(refused({ subscribed: 'true' })).toBe('`subscribed` must be a boolean.');
    expect(refused({ firstName: 'x'.repeat(501) })).toBe(
      '`firstName` is longer than 500 characters.',
    );
    expect(refused({ firstName: 'x'.repeat(500) })).toBe('accepted');
  });

  it('accepts an undefined property when the switch is off', () => {
    expect(
      readContactChanges(
        { store: storeWithLists(), requireDefinedProperties: false },
        { plan: 'pro' },
      ),
    ).toEqual({ properties: { plan: 'pro' } });
  });
});
