import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupWhileBusy } from '../../db/grouped-calls.js';
import { type ListRef, recordOutcomes, type UserOutcome } from '../../db/outcomes.js';
import { createTestDatabase, type TestDatabase } from '../support/stack.js';

/**
 * A batch's outcomes reported while the ones before them are being written go together in one
 * statement: each user's outcome and ledger rows are what one statement per user wrote, a user
 * erased meanwhile is not added, a user named twice is written as if one after the other (its
 * first outcome stays, its ledger rows follow the second), and writing the same outcomes again
 * (a retried batch) changes nothing.
 */

let db: TestDatabase;
const RUN = 'grouped-outcomes';
const LIST: ListRef = { platform: 'resend', listId: 'list-grouped', tagListIds: ['tag-grouped'] };
const ACCOUNT = 'resend:grouped';

beforeAll(async () => {
  db = await createTestDatabase();
  await db.sql`
    insert into audience_sync.runs (run_id, platform, sync_type, trigger, filter_active,
      active_days, active_since)
    values (${RUN}, 'resend', 'all', 'api', false, 30, now())`;
  // u3 is a member already: its opt-out marks that membership unsubscribed.
  await db.sql`
    insert into audience_sync.list_members
      (platform, list_id, user_id, contact_id, email_hash, origin)
    values ('resend', 'list-grouped', 'u3', 'c3', 'h3', 'made')`;
  // u2 was erased while its contact was on its way.
  await db.sql`
    insert into audience_sync.erasure_tombstones (user_id, email_hash) values ('u2', 'h2')`;
});

afterAll(async () => {
  await db?.drop();
});

const added = (n: number, extra: Partial<Extract<UserOutcome, { outcome: 'added' }>> = {}) =>
  ({
    outcome: 'added',
    contactId: `c${n}`,
    emailHash: `h${n}`,
    fields: { account: ACCOUNT, hashes: { first_name: `f${n}` } },
    ...extra,
  }) as const;

const BATCH: { userId: string; result: UserOutcome }[] = [
  { userId: 'u1', result: added(1, { updated: true, foundIn: ['tag-grouped'] }) },
  { userId: 'u2', result: added(2) },
  { userId: 'u3', result: { outcome: 'skipped', reason: 'opted_out', unsubscribed: true } },
  {
    userId: 'u4',
    result: { outcome: 'failed', reason: 'rejected_by_platform:x', platformMessage: 'no' },
  },
  // Named again with another email: written after the first, as one statement per user did.
  { userId: 'u1', result: added(1, { contactId: 'c1b', emailHash: 'h1b' }) },
];

const outcomes = () => db.sql`
  select user_id, outcome, reason, unsubscribed, updated, platform_message
  from audience_sync.run_users where run_id = ${RUN} order by user_id`;
const members = () => db.sql`
  select list_id, user_id, contact_id, email_hash, origin, unsubscribed_at is not null as unsubscribed
  from audience_sync.list_members order by user_id, list_id`;
const sentFields = () => db.sql`
  select account, user_id, email_hash, contact_id, fields from audience_sync.contact_fields
  order by user_id`;

describe('outcomes written in groups', () => {
  it('record each user once, as one statement per user did, and a repeat changes nothing', async () => {
    const groups: number[] = [];
    const write = groupWhileBusy(async (group: typeof BATCH) => {
      groups.push(group.length);
      await recordOutcomes(db.sql, RUN, LIST, group);
      return group;
    });
    await Promise.all(BATCH.map((one) => write(one)));
    // The first went alone; the others came while it was written, and went together.
    expect(groups).toEqual([1, 4]);

    const expected = {
      outcomes: [
        {
          user_id: 'u1',
          outcome: 'added',
          reason: null,
          unsubscribed: false,
          updated: true,
          platform_message: null,
        },
        {
          user_id: 'u2',
          outcome: 'skipped',
          reason: 'deleted_in_platform',
          unsubscribed: false,
          updated: false,
          platform_message: null,
        },
        {
          user_id: 'u3',
          outcome: 'skipped',
          reason: 'opted_out',
          unsubscribed: true,
          updated: false,
          platform_message: null,
        },
        {
          user_id: 'u4',
          outcome: 'failed',
          reason: 'rejected_by_platform:x',
          unsubscribed: false,
          updated: false,
          platform_message: 'no',
        },
      ],
      members: [
        {
          list_id: 'list-grouped',
          user_id: 'u1',
          contact_id: 'c1b',
          email_hash: 'h1b',
          origin: 'made',
          unsubscribed: false,
        },
        {
          list_id: 'tag-grouped',
          user_id: 'u1',
          contact_id: 'c1b',
          email_hash: 'h1b',
          origin: 'made',
          unsubscribed: false,
        },
        {
          list_id: 'list-grouped',
          user_id: 'u3',
          contact_id: 'c3',
          email_hash: 'h3',
          origin: 'made',
          unsubscribed: true,
        },
      ],
      sentFields: [
        {
          account: ACCOUNT,
          user_id: 'u1',
          email_hash: 'h1b',
          contact_id: 'c1b',
          fields: { first_name: 'f1' },
        },
      ],
    };
    const state = async () => ({
      outcomes: [...(await outcomes())],
      members: [...(await members())],
      sentFields: [...(await sentFields())],
    });
    expect(await state()).toEqual(expected);

    // A retried batch writes them again, all in one statement: nothing changes.
    await recordOutcomes(db.sql, RUN, LIST, BATCH);
    expect(await state()).toEqual(expected);
  });
});
