import { afterAll, describe, expect, it } from 'vitest';
import type {
  ChangeOutcome,
  ContactOutcome,
  ContactToSync,
  MarketingPlatform,
} from '../../../activities/platforms/platform.js';
import { PlatformError } from '../../../activities/platforms/platform.js';
import { createConnectionGate } from '../../../activities/platforms/request-gate.js';
import { createSql } from '../../../db/sql.js';
import {
  chunks,
  contactOutcome,
  memberIdOf,
  memoryPlatformModule,
  mergeFieldsOf,
} from '../../support/memory-platform.js';
import { BULK_LIMIT, MemoryStore, memberId, seededRandom } from '../../support/memory-store.js';

// The memory platform keeps no state in Postgres: a pool that never connects stands in for it.
const sql = createSql('postgres://unused@127.0.0.1:9/unused', { max: 1 });
afterAll(() => sql.end({ timeout: 0 }));

function connect(store: MemoryStore, options: { attempts?: number } = {}) {
  const module = memoryPlatformModule(store, { backoffMs: 1, ...options });
  if (module.limit.kind !== 'concurrent_connections')
    throw new Error('expected a connection limit');
  const platform = module.connect({
    sql,
    signal: new AbortController().signal,
    onAnswer: () => {},
    isErased: async () => false,
    gate: createConnectionGate(module.limit.connections),
  });
  return { module, platform };
}

const contactsNumbered = (count: number, from = 1): ContactToSync[] =>
  Array.from({ length: count }, (_, index) => ({
    userId: String(from + index),
    email: `user.${from + index}@example.org`,
    firstName: `First ${from + index}`,
    lastName: `Last ${from + index}`,
    properties: {},
  }));

async function sync(
  platform: MarketingPlatform,
  contacts: ContactToSync[],
  listIds: string[],
): Promise<Map<string, ContactOutcome>> {
  const outcomes = new Map<string, ContactOutcome>();
  await platform.syncContacts(contacts, listIds, async (userId, outcome) => {
    expect(outcomes.has(userId)).toBe(false);
    outcomes.set(userId, outcome);
  });
  return outcomes;
}

const collect = () => {
  const outcomes = new Map<string, ChangeOutcome>();
  const sink = async (userId: string, outcome: ChangeOutcome) => {
    outcomes.set(userId, outcome);
  };
  return { outcomes, sink };
};

describe('pure pieces of the memory platform', () => {
  it('cuts items into chunks of at most the given size, in order', () => {
    expect(chunks([1, 2, 3, 4, 5], 2)).toEqual([[1, 2], [3, 4], [5]]);
    expect(chunks([], 500)).toEqual([]);
    expect(
      chunks(
        Array.from({ length: 1001 }, (_, i) => i),
        BULK_LIMIT,
      ).map((c) => c.length),
    ).toEqual([500, 500, 1]);
  });

  it('derives a contact outcome from its upsert and each list’s bulk answer', () => {
    const id = 'abc';
    expect(contactOutcome({ id, created: true }, ['added', 'added'])).toEqual({
      kind: 'created',
      contactId: id,
    });
    expect(contactOutcome({ id, created: false }, ['already_member', 'added'])).toEqual({
      kind: 'joined',
      contactId: id,
    });
    expect(contactOutcome({ id, created: false }, ['already_member'])).toEqual({
      kind: 'already_there',
      contactId: id,
    });
    expect(contactOutcome({ id, created: true }, ['added', 'list_gone'])).toEqual({
      kind: 'rejected',
      reason: 'rejected_by_platform:list_not_found',
    });
    expect(contactOutcome({ id, created: false }, ['not_in_audience'])).toEqual({
      kind: 'rejected',
      reason: 'rejected_by_platform:member_not_in_audience',
    });
    // A member this service knew, joined by its id, that the audience no longer has.
    expect(contactOutcome({ id, created: false, known: true }, ['not_in_audience'])).toEqual({
      kind: 'deleted',
      contactId: id,
    });
  });

  it('sends only the merge fields it has, and clears a field set to null', () => {
    expect(mergeFieldsOf({ firstName: 'Ada', lastName: undefined })).toEqual({ FNAME: 'Ada' });
    expect(mergeFieldsOf({ lastName: null })).toEqual({ LNAME: '' });
  });

  it('names a member by its id, else by the hash of its lowercased, trimmed email', () => {
    expect(memberId(' Ada@Example.ORG ')).toBe(memberId('ada@example.org'));
    expect(memberId('ada@example.org')).toMatch(/^[0-9a-f]{32}$/);
    expect(memberIdOf({ userId: '1', email: 'x@y.z', contactId: 'given' })).toBe('given');
    expect(memberIdOf({ userId: '1', email: 'X@Y.Z', contactId: null })).toBe(memberId('x@y.z'));
    expect(memberIdOf({ userId: '1', email: null, contactId: null })).toBeNull();
  });

  it('draws the same faults from the same seed', () => {
    const draw = (seed: number) => Array.from({ length: 5 }, seededRandom(seed));
    expect(draw(7)).toEqual(draw(7));
    expect(draw(7)).not.toEqual(draw(8));
    for (const value of draw(3)) expect(value).toBeGreaterThanOrEqual(0);
  });
});

describe('the memory store', () => {
  it('upserts by email: a new member is subscribed, an existing one keeps its status and fields', async () => {
    const store = new MemoryStore();
    store.seed([{ email: 'Gone@Example.org', firstName: 'Kept', status: 'unsubscribed' }]);
    const existing = await store.putMember('gone@example.org', {
      status_if_new: 'subscribed',
      merge_fields: { FNAME: 'Other', LNAME: 'Name' },
    });
    const fresh = await store.putMember('new@example.org', {
      status_if_new: 'subscribed',
      merge_fields: { FNAME: 'New' },
    });
    const again = await store.putMember('NEW@example.org', { status_if_new: 'subscribed' });
    expect(existing).toMatchObject({
      status: 200,
      data: { created: false, status: 'unsubscribed' },
    });
    expect(fresh).toMatchObject({ status: 200, data: { created: true, status: 'subscribed' } });
    expect(again).toMatchObject({ status: 200, data: { created: false } });
    expect(store.member('gone@example.org')).toMatchObject({
      email: 'Gone@Example.org',
      status: 'unsubscribed',
      firstName: 'Kept',
      lastName: null,
    });
    expect(store.member('new@example.org')).toMatchObject({ firstName: 'New', lastName: null });
    expect(store.upserts().created).toEqual(new Map([['new@example.org', 1]]));
    expect(store.upserts().sent.get('new@example.org')).toBe(2);
  });

  it('refuses malformed emails and the ones it is told to refuse', async () => {
    const store = new MemoryStore({ refuse: (email) => email.endsWith('@fake.test') });
    for (const email of ['not-an-email', 'a@b', 'someone@fake.test']) {
      expect(await store.putMember(email, { status_if_new: 'subscribed' })).toMatchObject({
        status: 400,
      });
    }
    expect(store.allMembers()).toEqual([]);
  });

  it('creates a list once per idempotency key, and one per call without a key', async () => {
    const store = new MemoryStore();
    const first = await store.createList({ name: 'Weekly', idempotencyKey: 'k1' });
    const repeat = await store.createList({ name: 'Weekly', idempotencyKey: 'k1' });
    await store.createList({ name: 'Weekly' });
    expect(repeat).toEqual(first);
    expect(store.listsNamed('Weekly')).toHaveLength(2);
    expect(store.calls.map((call) => call.wrote)).toEqual([true, false, true]);
  });

  it('changes list membership and statuses 500 members a call at most', async () => {
    const store = new MemoryStore();
    const list = await store.createList({ name: 'L' });
    if (list.status !== 200) throw new Error('no list');
    const ids = store.seed(Array.from({ length: 501 }, (_, i) => ({ email: `m${i}@example.org` })));
    expect(await store.addToList(list.data.id, ids)).toMatchObject({ status: 400 });
    expect(await store.updateStatuses(ids, 'unsubscribed')).toMatchObject({ status: 400 });
    const added = await store.addToList(list.data.id, [...ids.slice(0, 2), 'nobody']);
    expect(added).toEqual({
      status: 200,
      data: { added: ids.slice(0, 2), already_members: [], not_in_audience: ['nobody'] },
    });
    expect(await store.addToList(list.data.id, ids.slice(0, 1))).toMatchObject({
      data: { added: [], already_members: ids.slice(0, 1) },
    });
    expect(await store.addToList('no-such-list', ids.slice(0, 1))).toMatchObject({ status: 404 });
    expect(store.membersOf(list.data.id).map((member) => member.email)).toEqual([
      'm0@example.org',
      'm1@example.org',
    ]);
  });

  it('applies a write whose answer is lost, and answers the repeat without writing again', async () => {
    const store = new MemoryStore();
    store.setFaults({ lostAnswerRate: { putMember: 1 } }, 5);
    await expect(
      store.putMember('lost@example.org', { status_if_new: 'subscribed' }),
    ).rejects.toThrow('lost');
    expect(store.member('lost@example.org')?.status).toBe('subscribed');
    expect(
      await store.putMember('lost@example.org', { status_if_new: 'subscribed' }),
    ).toMatchObject({
      status: 200,
      data: { created: false },
    });
    expect(store.upserts().created.get('lost@example.org')).toBe(1);
    expect(store.calls.map((call) => call.outcome)).toEqual(['lost_answer', 'ok']);
  });

  it('answers 503 during an outage burst and for a seeded share of calls, writing nothing', async () => {
    const store = new MemoryStore({ latencyMs: 0 });
    store.setFaults({ outageBurst: { fromCall: 2, calls: 2 } });
    const answers = [];
    for (let i = 0; i < 4; i += 1) answers.push((await store.findLists('x')).status);
    expect(answers).toEqual([200, 503, 503, 200]);

    const rate = async (seed: number) => {
      store.setFaults({ outageRate: 0.3 }, seed);
      const statuses: number[] = [];
      for (let i = 0; i < 200; i += 1) {
        statuses.push(
          (await store.putMember(`s${seed}.${i}@example.org`, { status_if_new: 'subscribed' }))
            .status,
        );
      }
      return statuses;
    };
    const first = await rate(9);
    const outages = first.filter((status) => status === 503).length;
    expect(outages).toBeGreaterThan(30);
    expect(outages).toBeLessThan(90);
    expect(store.allMembers()).toHaveLength(200 - outages);
  });

  it('answers 429 to a call beyond its connections, and counts the most open at once', async () => {
    const store = new MemoryStore({ maxConnections: 3, latencyMs: 5 });
    const answers = await Promise.all(
      Array.from({ length: 5 }, (_, i) => store.findLists(`n${i}`)),
    );
    expect(answers.map((answer) => answer.status)).toEqual([200, 200, 200, 429, 429]);
    expect(store.peakConnections).toBe(3);
    expect(store.openConnections).toBe(0);
  });
});

describe('the memory platform', () => {
  it('upserts each contact once and adds them to every list in bulk, 500 a call', async () => {
    const store = new MemoryStore();
    const { platform } = connect(store);
    const main = await platform.createRunList('run-1', 'Main');
    const tag = await platform.findOrCreateList('vip');
    store.seed([{ email: 'user.3@example.org', firstName: 'Before', status: 'unsubscribed' }]);
    const mark = store.mark();
    const contacts = contactsNumbered(1200);
    const outcomes = await sync(platform, contacts, [main.id, tag.id]);

    expect(outcomes.size).toBe(1200);
    expect(outcomes.get('1')).toEqual({
      kind: 'created',
      contactId: memberId('user.1@example.org'),
    });
    expect(outcomes.get('3')).toEqual({
      kind: 'joined',
      contactId: memberId('user.3@example.org'),
    });
    const calls = store.callsSince(mark);
    expect(calls.filter((call) => call.op === 'putMember')).toHaveLength(1200);
    const bulk = calls.filter((call) => call.op === 'addToList');
    expect(bulk.map((call) => call.emails.length)).toEqual([500, 500, 500, 500, 200, 200]);
    for (const list of [main.id, tag.id]) expect(store.membersOf(list)).toHaveLength(1200);
    expect(store.member('user.3@example.org')).toMatchObject({
      status: 'unsubscribed',
      firstName: 'Before',
      lastName: null,
    });
    expect(store.member('user.4@example.org')).toMatchObject({
      status: 'subscribed',
      firstName: 'First 4',
      lastName: 'Last 4',
    });
    expect(store.peakConnections).toBeLessThanOrEqual(10);
    expect(store.peakConnections).toBeGreaterThan(1);
    expect(calls.some((call) => call.outcome === 'too_many_connections')).toBe(false);

    const again = await sync(platform, contacts.slice(0, 2), [main.id]);
    expect([...again.values()].map((outcome) => outcome.kind)).toEqual([
      'already_there',
      'already_there',
    ]);
  });

  it('says which lists a joining contact was in already (memberships it found)', async () => {
    const store = new MemoryStore();
    const { platform } = connect(store);
    const main = await platform.createRunList('run-1', 'Main');
    const tag = await platform.findOrCreateList('Tag');
    const contacts = contactsNumbered(2);
    await sync(platform, contacts.slice(0, 1), [main.id]);
    const outcomes = await sync(platform, contacts, [main.id, tag.id]);
    expect(outcomes.get('1')).toEqual({
      kind: 'joined',
      contactId: expect.any(String),
      foundIn: [main.id],
    });
    expect(outcomes.get('2')).toEqual({ kind: 'created', contactId: expect.any(String) });
  });

  it('reports a contact the platform refuses as rejected, and the others as usual', async () => {
    const store = new MemoryStore({ refuse: (email) => email.startsWith('user.2@') });
    const { platform } = connect(store);
    const list = await platform.createRunList('run-1', 'L');
    const outcomes = await sync(platform, contactsNumbered(3), [list.id]);
    expect(outcomes.get('2')).toEqual({
      kind: 'rejected',
      reason: 'rejected_by_platform:invalid_resource',
    });
    expect([outcomes.get('1')?.kind, outcomes.get('3')?.kind]).toEqual(['created', 'created']);
  });

  it('rides out outages and lost answers without creating anything twice', async () => {
    const store = new MemoryStore();
    // A try fails here with a chance of 0.2 + 0.8 × 0.3 (an upsert) or 0.2 + 0.8 × 0.5 (a
    // membership call): with 8 tries one of the 300 contacts ran out of them in about one run in
    // seven (the seeded draws are taken in the order calls arrive, which timing decides); with 20
    // tries that is about one run in 10,000.
    const { platform, module } = connect(store, { attempts: 20 });
    store.setFaults(
      { outageRate: 0.2, lostAnswerRate: { putMember: 0.3, addToList: 0.5, createList: 1 } },
      17,
    );
    const list = await platform.createRunList('run-1', 'Faulty');
    const again = await platform.createRunList('run-1', 'Faulty');
    const outcomes = await sync(platform, contactsNumbered(300), [list.id]);
    expect(again).toEqual(list);
    expect(store.listsNamed('Faulty')).toHaveLength(1);
    expect([...outcomes.values()].every((outcome) => outcome.kind !== 'rejected')).toBe(true);
    expect(store.membersOf(list.id)).toHaveLength(300);
    expect([...store.upserts().created.values()].every((count) => count === 1)).toBe(true);
    expect(store.upserts().created.size).toBe(300);
    const kinds = new Set(store.calls.map((call) => call.outcome));
    expect(kinds).toContain('outage');
    expect(kinds).toContain('lost_answer');
    expect(module.stats.unavailable).toBe(0);
  });

  it('gives up with a retryable outage after its tries, with no call left open', async () => {
    const store = new MemoryStore();
    const { platform, module } = connect(store, { attempts: 3 });
    const list = await platform.createRunList('run-1', 'Down');
    store.setFaults({ outageBurst: { fromCall: 1, calls: 1000 } });
    const reported: string[] = [];
    const failure = await platform
      .syncContacts(contactsNumbered(50), [list.id], async (userId) => {
        reported.push(userId);
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeInstanceOf(PlatformError);
    expect(failure).toMatchObject({ code: 'platform_unavailable', retryable: true });
    expect(reported).toEqual([]);
    expect(store.openConnections).toBe(0);
    expect(module.stats.unavailable).toBeGreaterThan(0);
    // No call starts after the failure is known: at most the ones in flight then finish.
    expect(store.calls.length).toBeLessThan(50 * 3);
  });

  it('finds a list by name, or creates it once when runs ask at the same time', async () => {
    const store = new MemoryStore();
    const { platform } = connect(store);
    const [a, b] = await Promise.all([
      platform.findOrCreateList('launch'),
      platform.findOrCreateList('launch'),
    ]);
    expect(a).toEqual(b);
    expect(store.listsNamed('launch')).toHaveLength(1);
    expect(await platform.findOrCreateList('launch')).toEqual(a);
    const run = await platform.createRunList('run-2', 'launch');
    expect(run.id).not.toBe(a.id);
    expect(await platform.getList(run.id)).toEqual(run);
    expect(await platform.getList('missing')).toBeNull();
  });

  it('unsubscribes, patches, removes from a list and deletes, by id or by email', async () => {
    const store = new MemoryStore();
    const { platform } = connect(store);
    const list = await platform.createRunList('run-1', 'L');
    const [one, two] = store.seed([
      { email: 'one@example.org', firstName: 'One', lists: [list.id] },
      { email: 'two@example.org', firstName: 'Two', lists: [list.id] },
    ]);
    const byId = { userId: '1', email: null, contactId: one ?? '' };
    const byEmail = { userId: '2', email: 'TWO@example.org', contactId: null };
    const unknown = { userId: '3', email: 'nobody@example.org', contactId: null };
    const unnamed = { userId: '4', email: null, contactId: null };
    const refs = [byId, byEmail, unknown, unnamed];

    // The audience has no member `nobody`: deleted (a contact that cannot be named: not found).
    const unsubscribed = collect();
    await platform.markUnsubscribed(refs, unsubscribed.sink);
    expect(Object.fromEntries(unsubscribed.outcomes)).toEqual({
      1: { kind: 'done' },
      2: { kind: 'done' },
      3: { kind: 'deleted' },
      4: { kind: 'not_found' },
    });
    expect(store.allMembers().map((member) => member.status)).toEqual([
      'unsubscribed',
      'unsubscribed',
    ]);

    const patched = collect();
    await platform.patchContacts(
      [
        { contact: byId, fields: { lastName: 'Patched' } },
        { contact: unknown, fields: { firstName: 'X' } },
      ],
      patched.sink,
    );
    expect(Object.fromEntries(patched.outcomes)).toEqual({
      1: { kind: 'done' },
      3: { kind: 'deleted' },
    });
    expect(store.member('one@example.org')).toMatchObject({
      firstName: 'One',
      lastName: 'Patched',
      status: 'unsubscribed',
    });

    const removed = collect();
    await platform.removeFromList([byId, byEmail, unknown], list.id, removed.sink);
    expect(Object.fromEntries(removed.outcomes)).toEqual({
      1: { kind: 'done' },
      2: { kind: 'done' },
      3: { kind: 'deleted' },
    });
    expect(store.membersOf(list.id)).toEqual([]);
    expect(store.member('two@example.org')?.id).toBe(two);

    const deleted = collect();
    await platform.deleteContacts([byId, byEmail, unknown], deleted.sink);
    expect(Object.fromEntries(deleted.outcomes)).toEqual({
      1: { kind: 'done' },
      2: { kind: 'done' },
      3: { kind: 'not_found' },
    });
    expect(store.allMembers()).toEqual([]);
  });

  it('has no preparation step and limits connections, not a request rate', () => {
    const { module, platform } = connect(new MemoryStore());
    expect(platform.prepare).toBeUndefined();
    expect(module.limit).toEqual({ kind: 'concurrent_connections', connections: 10 });
    expect(module.account).toMatch(/^memory:[0-9a-f]{8}$/);
  });
});
