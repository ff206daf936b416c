import type { RateLimitWindow } from '../common/rate-limiter.js';

/** Resend's IETF-draft headers: `ratelimit-limit`, `-remaining`, `-reset` and `-policy`. */
export function rateLimitHeaders(window: RateLimitWindow): Record<string, string> {
  return {
    'ratelimit-limit': String(window.limit),
    'ratelimit-remaining': String(window.remaining),
    'ratelimit-reset': String(window.resetSeconds),
    'ratelimit-policy': `${window.limit};w=1`,
  };
}
