import { describe, expect, it } from 'vitest';
import { countsOf, outcomeCountsOf } from '../../../common/sync.js';

const record = {
  runId: 'run-1',
  total: 9,
  processed: 7,
  added: 3,
  failed: 1,
  skipped: 3,
  removed: 2,
  unsubscribed: 1,
  updated: 4,
};

describe('counts', () => {
  it('countsOf keeps a record’s counts and nothing else', () => {
    expect(countsOf(record)).toStrictEqual({
      processed: 7,
      added: 3,
      failed: 1,
      skipped: 3,
      removed: 2,
      unsubscribed: 1,
      updated: 4,
    });
  });

  it('outcomeCountsOf keeps the counts a run answers as its result, without processed', () => {
    expect(outcomeCountsOf(record)).toStrictEqual({
      added: 3,
      failed: 1,
      skipped: 3,
      removed: 2,
      unsubscribed: 1,
      updated: 4,
    });
  });
});
