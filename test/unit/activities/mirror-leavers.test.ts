import { describe, expect, it } from 'vitest';
import {
  guardMessage,
  guardTrips,
  leaverOutcome,
  removalLimit,
} from '../../../activities/mirror-leavers.js';

describe('the removal limit of a mirror run', () => {
  it.each([
    [250, 1000, 250],
    [0, 1000, 0],
    ['50%', 1000, 500],
    ['50%', 7, 3],
    ['20%', 99, 19],
    ['100%', 12, 12],
    ['0%', 12, 0],
    ['50%', 0, 0],
  ] as const)('max_removals %j of %i tracked members is %i', (max, tracked, limit) => {
    expect(removalLimit(max, tracked)).toBe(limit);
  });

  it('trips only when the run would remove more than the limit', () => {
    const plan = { tracked: 10, wouldRemove: 5, wouldUnsubscribe: 0, maxRemovals: 5 };
    expect(guardTrips(plan)).toBe(false);
    expect(guardTrips({ ...plan, wouldRemove: 6 })).toBe(true);
    expect(guardMessage({ ...plan, wouldRemove: 6 })).toBe(
      'The run would remove 6 contacts from the list, more than max_removals allows (5 of 10 tracked members); it removed none',
    );
  });
});

describe("a leaver's outcome", () => {
  it('is removed when the platform took it out, unsubscribed too when that was asked and done', () => {
    expect(leaverOutcome({ kind: 'done' }, undefined)).toEqual({
      outcome: 'removed',
      unsubscribed: false,
    });
    expect(leaverOutcome({ kind: 'done' }, { kind: 'done' })).toEqual({
      outcome: 'removed',
      unsubscribed: true,
    });
  });

  it('is gone when the platform no longer has the contact', () => {
    expect(leaverOutcome({ kind: 'not_found' }, undefined)).toEqual({ outcome: 'gone' });
    expect(leaverOutcome({ kind: 'deleted' }, undefined)).toEqual({ outcome: 'gone' });
  });

  it('fails with the reason of the refused removal or unsubscribe', () => {
    expect(leaverOutcome({ kind: 'rejected', reason: 'r1' }, undefined)).toEqual({
      outcome: 'failed',
      reason: 'r1',
    });
    expect(leaverOutcome({ kind: 'done' }, { kind: 'rejected', reason: 'r2' })).toEqual({
      outcome: 'failed',
      reason: 'r2',
    });
  });
});
