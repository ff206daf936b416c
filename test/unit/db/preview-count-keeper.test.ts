import { describe, expect, it } from 'vitest';
import { apiConfigSchema, ConfigError, parseConfig } from '../../../config/env.js';
import {
  keptCountFromBuckets,
  PREVIEW_COUNT_MAX_AGE_MS,
  useKeptCount,
} from '../../../db/preview-count-keeper.js';
import { MAX_ACTIVE_DAYS } from '../../../db/preview-counts.js';

const countedAt = new Date('2026-12-01T10:00:00.000Z');

describe('the kept preview count', () => {
  it('sums the emails active within each window from their latest-activity buckets', () => {
    const kept = keptCountFromBuckets(
      'users',
      countedAt,
      [
        { daysAgo: 1, emails: 3, users: 4 },
        { daysAgo: 7, emails: 5, users: 5 },
        { daysAgo: 8, emails: 2, users: 2 },
        { daysAgo: MAX_ACTIVE_DAYS, emails: 1, users: 1 },
        { daysAgo: MAX_ACTIVE_DAYS + 1, emails: 10, users: 12 },
        { daysAgo: null, emails: 6, users: 7 },
      ],
      12,
    );
    expect(kept.activeWithin).toHaveLength(MAX_ACTIVE_DAYS);
    expect(kept.activeWithin.slice(0, 9)).toEqual([3, 3, 3, 3, 3, 3, 8, 10, 10]);
    expect(kept.activeWithin[MAX_ACTIVE_DAYS - 2]).toBe(10);
    expect(kept.activeWithin[MAX_ACTIVE_DAYS - 1]).toBe(11);
    // Older than any window and never active count only without the activity filter.
    expect(kept.allEmails).toBe(27);
    expect(kept.eligibleUsers).toBe(31);
    expect(kept).toMatchObject({ relation: 'users', countedAt, durationMs: 12 });
  });

  it('is all zeros for a relation without eligible users', () => {
    const kept = keptCountFromBuckets('users', countedAt, [], 0);
    expect(kept.allEmails).toBe(0);
    expect(new Set(kept.activeWithin)).toEqual(new Set([0]));
  });
});

describe('whether a preview answers with the kept count', () => {
  const kept = { countedAt, eligibleUsers: 20_000, count: 5 };
  const later = (ms: number) => new Date(countedAt.getTime() + ms);

  it('answers with it for a large relation while it is at most 60 s old', () => {
    expect(PREVIEW_COUNT_MAX_AGE_MS).toBe(60_000);
    expect(useKeptCount(kept, later(0), 10_000)).toBe(true);
    expect(useKeptCount(kept, later(60_000), 10_000)).toBe(true);
    expect(useKeptCount(kept, later(60_001), 10_000)).toBe(false);
  });

  it('counts exactly when an exact count would read few users, or none is kept', () => {
    expect(useKeptCount(kept, later(1000), 20_000)).toBe(false);
    expect(useKeptCount(kept, later(1000), 19_999)).toBe(true);
    expect(useKeptCount({ ...kept, eligibleUsers: 0 }, later(1000), 0)).toBe(false);
    expect(useKeptCount(undefined, later(1000), 0)).toBe(false);
  });
});

describe('how often the count is kept', () => {
  const minimum = {
    MARKETING_API_SECRET: 'a'.repeat(32),
    DATABASE_URL: 'postgres://db/app',
    RESEND_API_KEY: 're_abc123',
  };

  it('refreshes every 30 s by default, well inside the 60 s a kept count may be old', () => {
    const config = parseConfig(apiConfigSchema, minimum);
    expect(config.PREVIEW_COUNT_REFRESH_SECONDS).toBe(30);
    expect(config.PREVIEW_COUNT_REFRESH_SECONDS * 1000).toBeLessThan(PREVIEW_COUNT_MAX_AGE_MS);
  });

  it('refuses an interval after which a kept count could be older than 60 s', () => {
    expect(() =>
      parseConfig(apiConfigSchema, { ...minimum, PREVIEW_COUNT_REFRESH_SECONDS: '56' }),
    ).toThrow(ConfigError);
    expect(
      parseConfig(apiConfigSchema, { ...minimum, PREVIEW_COUNT_REFRESH_SECONDS: '0' })
        .PREVIEW_COUNT_REFRESH_SECONDS,
    ).toBe(0);
  });
});
