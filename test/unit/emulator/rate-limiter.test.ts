import { describe, expect, it } from 'vitest';
import { FixedWindowRateLimiter } from '../../../emulator/common/rate-limiter.js';
import { rateLimitHeaders } from '../../../emulator/resend/rate-limit-headers.js';

describe('FixedWindowRateLimiter', () => {
  it('admits the limit within one wall-clock second and refuses the rest', () => {
    const limiter = new FixedWindowRateLimiter(2);
    expect(limiter.take('team', 5_000)).toEqual({
      allowed: true,
      limit: 2,
      remaining: 1,
      resetSeconds: 1,
    });
    expect(limiter.take('team', 5_400)).toEqual({
      allowed: true,
      limit: 2,
      remaining: 0,
      resetSeconds: 1,
    });
    expect(limiter.take('team', 5_999)).toEqual({
      allowed: false,
      limit: 2,
      remaining: 0,
      resetSeconds: 1,
    });
  });

  it('starts a fresh window on the next second, however close the requests are', () => {
    const limiter = new FixedWindowRateLimiter(1);
    expect(limiter.take('team', 6_999).allowed).toBe(true);
    expect(limiter.take('team', 6_999).allowed).toBe(false);
    expect(limiter.take('team', 7_000)).toEqual({
      allowed: true,
      limit: 1,
      remaining: 0,
      resetSeconds: 1,
    });
  });

  it('does not count refused requests against the next ones', () => {
    const limiter = new FixedWindowRateLimiter(3);
    const outcomes = Array.from({ length: 9 }, (_, index) => limiter.take('team', 1_000 + index));
    expect(outcomes.map((window) => window.allowed)).toEqual([
      true,
      true,
      true,
      false,
      false,
      false,
      false,
      false,
      false,
    ]);
    expect(outcomes.map((window) => window.remaining)).toEqual([2, 1, 0, 0, 0, 0, 0, 0, 0]);
    expect(limiter.take('team', 2_000).remaining).toBe(2);
  });

  it('keeps one window per team', () => {
    const limiter = new FixedWindowRateLimiter(1);
    expect(limiter.take('a', 10_000).allowed).toBe(true);
    expect(limiter.take('a', 10_001).allowed).toBe(false);
    expect(limiter.take('b', 10_002).allowed).toBe(true);
    expect(limiter.take('b', 10_003).allowed).toBe(false);
  });

  it('peeks without counting', () => {
    const limiter = new FixedWindowRateLimiter(2);
    limiter.take('team', 3_100);
    expect(limiter.peek('team', 3_200)).toEqual({
      allowed: true,
      limit: 2,
      remaining: 1,
      resetSeconds: 1,
    });
    expect(limiter.peek('team', 3_300).remaining).toBe(1);
    expect(limiter.peek('other', 3_300).remaining).toBe(2);
    expect(limiter.take('team', 3_400).remaining).toBe(0);
  });

  it('applies a new limit at once, to the window under way', () => {
    const limiter = new FixedWindowRateLimiter(1);
    limiter.take('team', 1_000);
    expect(limiter.take('team', 1_100).allowed).toBe(false);
    limiter.setLimit(3);
    expect(limiter.requestsPerSecond).toBe(3);
    expect(limiter.take('team', 1_200)).toEqual({
      allowed: true,
      limit: 3,
      remaining: 1,
      resetSeconds: 1,
    });
  });

  it('forgets every window on reset', () => {
    const limiter = new FixedWindowRateLimiter(1);
    limiter.take('team', 1_000);
    limiter.reset();
    expect(limiter.take('team', 1_500).allowed).toBe(true);
  });
});

describe('rateLimitHeaders', () => {
  it('answers the window as the ratelimit-* headers Resend sends', () => {
    expect(rateLimitHeaders({ allowed: false, limit: 10, remaining: 0, resetSeconds: 1 })).toEqual({
      'ratelimit-limit': '10',
      'ratelimit-remaining': '0',
      'ratelimit-reset': '1',
      'ratelimit-policy': '10;w=1',
    });
  });
});
