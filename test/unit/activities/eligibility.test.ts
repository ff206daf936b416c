import { describe, expect, it } from 'vitest';
import { decideLocally } from '../../../activities/eligibility.js';
import {
  foundListsOf,
  outcomeOfContact,
  outcomeOfUnsubscribe,
} from '../../../activities/plan/apply-plan.js';
import { batchUser } from '../../support/batch-users.js';

const user = batchUser;

describe('what a run decides from the users relation and the ledger alone', () => {
  it.each([
    ['an eligible user is sent', user(), { action: 'send' }],
    [
      'an unknown id is skipped',
      user({ found: false }),
      { action: 'record', outcome: { outcome: 'skipped', reason: 'not_found' } },
    ],
    [
      'a deleted user is skipped, before anything else is looked at',
      user({ deleted: true, optedOut: true, validEmail: false }),
      { action: 'record', outcome: { outcome: 'skipped', reason: 'deleted' } },
    ],
    [
      'an inactive user is skipped',
      user({ active: false }),
      { action: 'record', outcome: { outcome: 'skipped', reason: 'inactive' } },
    ],
    [
      'an opted-out user never synced is skipped',
      user({ optedOut: true }),
      { action: 'record', outcome: { outcome: 'skipped', reason: 'opted_out' } },
    ],
    [
      'an opted-out user this service put into the list is unsubscribed',
      user({ optedOut: true, inList: true, listContactId: 'c1' }),
      { action: 'unsubscribe' },
    ],
    [
      'an opted-out user already unsubscribed there is only skipped',
      user({ optedOut: true, inList: true, listUnsubscribed: true }),
      { action: 'record', outcome: { outcome: 'skipped', reason: 'opted_out' } },
    ],
    [
      'an invalid email fails',
      user({ validEmail: false }),
      { action: 'record', outcome: { outcome: 'failed', reason: 'invalid_email' } },
    ],
    [
      'a missing email fails',
      user({ email: null }),
      { action: 'record', outcome: { outcome: 'failed', reason: 'invalid_email' } },
    ],
  ])('%s', (_name, input, expected) => {
    expect(decideLocally(input)).toEqual(expected);
  });
});

describe("what the platform's word means for a user", () => {
  it('a created, joined or already present contact is added; a rejected one failed', () => {
    expect(outcomeOfContact({ kind: 'created', contactId: 'c1' })).toEqual({
      outcome: 'added',
      contactId: 'c1',
    });
    expect(outcomeOfContact({ kind: 'joined', contactId: null })).toEqual({
      outcome: 'added',
      contactId: null,
    });
    expect(outcomeOfContact({ kind: 'already_there', contactId: 'c2' })).toEqual({
      outcome: 'added',
      contactId: 'c2',
    });
    expect(outcomeOfContact({ kind: 'rejected', reason: 'rejected_by_platform:x' })).toEqual({
      outcome: 'failed',
      reason: 'rejected_by_platform:x',
    });
  });

  it('a membership the contact had before the call was found, not made, list by list', () => {
    const lists = ['list', 'tag'];
    expect(foundListsOf({ kind: 'already_there', contactId: 'c' }, lists)).toEqual(lists);
    expect(foundListsOf({ kind: 'joined', contactId: 'c', foundIn: ['tag'] }, lists)).toEqual([
      'tag',
    ]);
    expect(foundListsOf({ kind: 'joined', contactId: 'c' }, lists)).toEqual([]);
    expect(foundListsOf({ kind: 'created', contactId: 'c' }, lists)).toEqual([]);
    // Only the call's own lists count.
    expect(foundListsOf({ kind: 'joined', contactId: 'c', foundIn: ['other'] }, lists)).toEqual([]);
  });

  it('a contact the platform no longer has skips the user as deleted there', () => {
    expect(outcomeOfContact({ kind: 'deleted', contactId: 'c3' })).toEqual({
      outcome: 'skipped',
      reason: 'deleted_in_platform',
    });
  });

  it('an ambiguous answer is no outcome: the batch asks again', () => {
    expect(outcomeOfContact({ kind: 'ambiguous', reason: 'timeout' })).toBeUndefined();
  });

  it('an unsubscribe that is done or finds no contact skips the user as opted out', () => {
    const unsubscribed = { outcome: 'skipped', reason: 'opted_out', unsubscribed: true };
    expect(outcomeOfUnsubscribe({ kind: 'done' })).toEqual(unsubscribed);
    expect(outcomeOfUnsubscribe({ kind: 'not_found' })).toEqual(unsubscribed);
    expect(outcomeOfUnsubscribe({ kind: 'deleted' })).toEqual(unsubscribed);
    expect(outcomeOfUnsubscribe({ kind: 'rejected', reason: 'r' })).toEqual({
      outcome: 'failed',
      reason: 'r',
    });
  });
});
