import { describe, expect, it } from 'vitest';
import {
  type BatchFacts,
  type OldContact,
  planBatchUsers,
  plannedOutcomeOf,
  type Sendable,
  type UserPlan,
} from '../../../activities/plan/plan-batch.js';
import { emailHash } from '../../../common/emails.js';
import { type FieldHashes, hashFields } from '../../../common/field-changes.js';
import type { BatchUser } from '../../../db/users-source.js';
import { batchUser } from '../../support/batch-users.js';

const LIST = 'seg-weekly';
const TAG = 'seg-vip';

const user = (userId: string, overrides: Partial<BatchUser> = {}): BatchUser =>
  batchUser({ userId, email: `user${userId}@example.com`, ...overrides });

const hashOf = (one: BatchUser): string => emailHash((one.email ?? '').trim().toLowerCase());
const namesOf = (first: string | null, last: string | null): FieldHashes =>
  hashFields({ first_name: first, last_name: last });

/** Facts where every sendable user owns its email and nothing else is known. */
function factsOf(users: BatchUser[], overrides: Partial<BatchFacts> = {}): BatchFacts {
  const owners = new Map<string, string>();
  for (const one of users) {
    if (!owners.has(hashOf(one))) owners.set(hashOf(one), one.userId);
  }
  return {
    users,
    listIds: [LIST, TAG],
    owners,
    bulkCreated: new Map(),
    erased: new Set(),
    consent: new Map(),
    lastSent: new Map(),
    present: new Map(),
    oldContacts: new Map(),
    directory: new Map(),
    ...overrides,
  };
}

/** The user as the plan sends it, written out. */
const sendable = (
  one: BatchUser,
  sent: { lastSeen?: FieldHashes; knownContactId?: string } = {},
): Sendable => ({
  contact: {
    userId: one.userId,
    email: (one.email ?? '').trim().toLowerCase(),
    firstName: one.firstName,
    lastName: one.lastName,
    properties: one.properties,
    knownContactId: sent.knownContactId ?? null,
  },
  user: one,
  emailHash: hashOf(one),
  current: { first_name: one.firstName, last_name: one.lastName },
  lastSeen: sent.lastSeen,
});

const consentOf = (
  state: Partial<{ unsubscribed: boolean; deleted: boolean; suppressed: boolean }>,
) => ({
  unsubscribed: false,
  deleted: false,
  suppressed: false,
  ...state,
});

describe('the plan of a batch', () => {
  it('names every user exactly once, in the batch order, with one action each', () => {
    const users = [
      user('1'),
      user('2', { found: false }),
      user('3', { validEmail: false }),
      user('4', { email: 'USER1@example.com ' }),
      user('5', { active: false }),
    ];
    const plan = planBatchUsers(factsOf(users));
    expect(plan).toEqual<UserPlan[]>([
      { userId: '1', action: { kind: 'create', send: sendable(users[0] as BatchUser), patch: {} } },
      {
        userId: '2',
        action: { kind: 'record', outcome: { outcome: 'skipped', reason: 'not_found' } },
      },
      {
        userId: '3',
        action: { kind: 'record', outcome: { outcome: 'failed', reason: 'invalid_email' } },
      },
      // The same email, spaced and in capitals: the first user by id owns it.
      { userId: '4', action: { kind: 'duplicate', ownerId: '1' } },
      {
        userId: '5',
        action: { kind: 'record', outcome: { outcome: 'skipped', reason: 'inactive' } },
      },
    ]);
  });

  it('keeps a contact deleted on the platform deleted: skipped, never created or joined', () => {
    const gone = user('1');
    const known = user('2');
    const plan = planBatchUsers(
      factsOf([gone, known], {
        consent: new Map([
          [hashOf(gone), consentOf({ deleted: true })],
          [hashOf(known), consentOf({ deleted: true, unsubscribed: true })],
        ]),
        directory: new Map([['2', { contactId: 'c-2' }]]),
      }),
    );
    expect(plan).toEqual<UserPlan[]>([
      {
        userId: '1',
        action: {
          kind: 'record',
          outcome: { outcome: 'skipped', reason: 'deleted_in_platform' },
          optOut: 'deleted',
        },
      },
      {
        userId: '2',
        action: {
          kind: 'record',
          outcome: { outcome: 'skipped', reason: 'deleted_in_platform' },
          optOut: 'deleted',
        },
      },
    ]);
  });

  it('never re-subscribes: an opt-out in the app unsubscribes, one on the platform skips, a known contact joins', () => {
    const optedOutMember = user('1', {
      optedOut: true,
      inList: true,
      listContactId: 'c-1',
      listEmailHash: emailHash('user1@example.com'),
    });
    const optedOutStranger = user('2', { optedOut: true });
    const unsubscribedThere = user('3');
    const suppressed = user('4');
    const existing = user('5', { firstName: 'Grace', lastName: null });
    const plan = planBatchUsers(
      factsOf([optedOutMember, optedOutStranger, unsubscribedThere, suppressed, existing], {
        consent: new Map([
          [hashOf(unsubscribedThere), consentOf({ unsubscribed: true })],
          [hashOf(suppressed), consentOf({ suppressed: true, unsubscribed: true })],
        ]),
        directory: new Map([['5', { contactId: 'c-5', emptyFields: ['last_name'] }]]),
      }),
    );
    expect(plan).toEqual<UserPlan[]>([
      {
        userId: '1',
        action: {
          kind: 'unsubscribe',
          contact: { userId: '1', email: 'user1@example.com', contactId: 'c-1' },
          emailHash: emailHash('user1@example.com'),
        },
      },
      {
        userId: '2',
        action: { kind: 'record', outcome: { outcome: 'skipped', reason: 'opted_out' } },
      },
      {
        userId: '3',
        action: {
          kind: 'record',
          outcome: { outcome: 'skipped', reason: 'unsubscribed_in_platform' },
          optOut: 'unsubscribed',
        },
      },
      {
        userId: '4',
        action: {
          kind: 'record',
          outcome: { outcome: 'skipped', reason: 'suppressed' },
          optOut: 'suppressed',
        },
      },
      // Joined, never created; a first meeting keeps the contact's names (an empty app value
      // fills nothing).
      { userId: '5', action: { kind: 'join', send: sendable(existing), patch: {} } },
    ]);
  });

  it('moves an email change off its old contact first, whatever happens to the new address', () => {
    const oldHash = emailHash('old@example.com');
    const mover = (userId: string, email: string) =>
      user(userId, {
        email,
        inList: true,
        listContactId: `c-old-${userId}`,
        listEmailHash: oldHash,
      });
    const unsubscribedNew = mover('1', 'new1@example.com');
    const plainMove = mover('2', 'new2@example.com');
    const sharesEmail = mover('3', 'NEW2@example.com');
    const optedOut = { ...mover('4', 'new4@example.com'), optedOut: true };
    const made = (userId: string): OldContact => ({
      emailHash: oldHash,
      contactId: `c-old-${userId}`,
      memberships: [
        { listId: LIST, origin: 'made', shared: false },
        { listId: TAG, origin: 'made', shared: false },
      ],
    });
    const plan = planBatchUsers(
      factsOf([unsubscribedNew, plainMove, sharesEmail, optedOut], {
        consent: new Map([[hashOf(unsubscribedNew), consentOf({ unsubscribed: true })]]),
        oldContacts: new Map([
          ['1', made('1')],
          ['2', made('2')],
          ['3', made('3')],
        ]),
      }),
    );
    const moveOff = (userId: string) => ({
      emailHash: oldHash,
      contactId: `c-old-${userId}`,
      listIds: [LIST, TAG],
    });
    expect(plan).toEqual<UserPlan[]>([
      {
        userId: '1',
        moveOff: moveOff('1'),
        action: {
          kind: 'record',
          outcome: { outcome: 'skipped', reason: 'unsubscribed_in_platform' },
          optOut: 'unsubscribed',
        },
      },
      {
        userId: '2',
        moveOff: moveOff('2'),
        action: { kind: 'create', send: sendable(plainMove), patch: {} },
      },
      { userId: '3', moveOff: moveOff('3'), action: { kind: 'duplicate', ownerId: '2' } },
      // Opted out: its contact is unsubscribed, not moved.
      {
        userId: '4',
        action: {
          kind: 'unsubscribe',
          contact: { userId: '4', email: 'new4@example.com', contactId: 'c-old-4' },
          emailHash: oldHash,
        },
      },
    ]);
  });

  it('moves an old contact only out of lists this service made its membership in, and that no other user needs', () => {
    const oldHash = emailHash('old@example.com');
    const moving = user('1', { inList: true, listContactId: 'c-old', listEmailHash: oldHash });
    const plan = planBatchUsers(
      factsOf([moving], {
        listIds: [LIST, TAG, 'seg-other'],
        oldContacts: new Map([
          [
            '1',
            {
              emailHash: oldHash,
              contactId: 'c-old',
              memberships: [
                { listId: LIST, origin: 'found', shared: false },
                { listId: TAG, origin: 'made', shared: false },
                { listId: 'seg-other', origin: 'made', shared: true },
              ],
            },
          ],
        ]),
      }),
    );
    expect(plan[0]?.moveOff).toEqual({ emailHash: oldHash, contactId: 'c-old', listIds: [TAG] });
  });

  it('moves no contact the platform does not have, but still forgets the old email', () => {
    const oldHash = emailHash('old@example.com');
    const moving = user('1', { inList: true, listEmailHash: oldHash });
    const plan = planBatchUsers(
      factsOf([moving], {
        oldContacts: new Map([['1', { emailHash: oldHash, contactId: null, memberships: [] }]]),
      }),
    );
    expect(plan[0]?.moveOff).toEqual({ emailHash: oldHash, contactId: null, listIds: [] });
  });

  it('never creates an erased user, even one a bulk chunk noted as created', () => {
    const erased = user('1');
    const erasedBulk = user('2');
    const bulk = user('3');
    const plan = planBatchUsers(
      factsOf([erased, erasedBulk, bulk], {
        erased: new Set([hashOf(erased), hashOf(erasedBulk)]),
        bulkCreated: new Map([
          ['2', 'c-2'],
          ['3', null],
        ]),
      }),
    );
    expect(plan).toEqual<UserPlan[]>([
      {
        userId: '1',
        action: { kind: 'record', outcome: { outcome: 'skipped', reason: 'deleted_in_platform' } },
      },
      {
        userId: '2',
        action: { kind: 'record', outcome: { outcome: 'skipped', reason: 'deleted_in_platform' } },
      },
      { userId: '3', action: { kind: 'bulk_created', contactId: null, send: sendable(bulk) } },
    ]);
  });

  it('sends nothing for a present member whose fields did not change, and patches only changed ones', () => {
    const same = user('1');
    const renamed = user('2', { firstName: 'Augusta' });
    const lastSeen = namesOf('Ada', 'Lovelace');
    const plan = planBatchUsers(
      factsOf([same, renamed], {
        lastSent: new Map([
          ['1', { emailHash: hashOf(same), fields: lastSeen, contactId: 'c-1' }],
          ['2', { emailHash: hashOf(renamed), fields: lastSeen, contactId: 'c-2' }],
        ]),
        present: new Map([
          ['1', 'c-1'],
          ['2', 'c-2'],
        ]),
      }),
    );
    expect(plan).toEqual<UserPlan[]>([
      {
        userId: '1',
        action: {
          kind: 'present',
          contactId: 'c-1',
          send: sendable(same, { lastSeen, knownContactId: 'c-1' }),
        },
      },
      {
        userId: '2',
        action: {
          kind: 'patch',
          contactId: 'c-2',
          send: sendable(renamed, { lastSeen, knownContactId: 'c-2' }),
          fields: { first_name: 'Augusta' },
        },
      },
    ]);
  });

  it('is what a dry run records: how each user would be added, and the others with their reason', () => {
    const joining = user('1', { lastName: 'Byron' });
    const plan = planBatchUsers(
      factsOf([joining, user('2'), user('3', { email: 'USER2@example.com' })], {
        directory: new Map([['1', { contactId: 'c-1', emptyFields: ['last_name'] }]]),
      }),
    );
    expect(plan.map(({ userId, action }) => [userId, plannedOutcomeOf(action)])).toEqual([
      ['1', { outcome: { outcome: 'added', contactId: null, updated: true }, planned: 'join' }],
      ['2', { outcome: { outcome: 'added', contactId: null, updated: false }, planned: 'create' }],
      ['3', { outcome: { outcome: 'skipped', reason: 'duplicate_email' }, planned: null }],
    ]);
  });
});
