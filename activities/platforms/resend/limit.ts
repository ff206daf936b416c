import type { PlatformLimit } from '../platform.js';

/**
 * Resend limits requests per second per account. 2 is the lowest limit it has given an account;
 * the answers' headers teach the real one, never above RESEND_RATE_LIMIT when that is set.
 */
export const resendLimit = (bound: number | undefined): PlatformLimit => ({
  kind: 'requests_per_second',
  initial: 2,
  upperBound: bound,
});
