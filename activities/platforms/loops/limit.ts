import type { PlatformLimit } from '../platform.js';

/**
 * Loops allows 10 requests per second per team (the baseline; LOOPS_RATE_LIMIT names a team's
 * own, never exceeded). The SDK shows `x-ratelimit-limit` only with a 429, so the gate starts at
 * the configured limit and learns a lower one from the first 429 (client.ts).
 */
export const loopsLimit = (bound: number): PlatformLimit => ({
  kind: 'requests_per_second',
  initial: bound,
  upperBound: bound,
});
