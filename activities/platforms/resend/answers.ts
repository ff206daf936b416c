/**
 * How Resend's answers are read: which are outages, which say the account is refused, what the
 * rate-limit headers say. Pure functions, so the rules are tested without a server.
 */

/** The shape every `resend` SDK call resolves to. */
export interface SdkAnswer<T> {
  data: T | null;
  error: SdkError | null;
  headers: Record<string, string> | null;
}

export interface SdkError {
  name: string;
  /** Null when no HTTP answer came (a network error or our own timeout). */
  statusCode: number | null;
  message: string;
}

export type AnswerClass =
  | 'ok'
  | 'rate_limited'
  /** 5xx, no answer, or a timeout: may heal by itself. */
  | 'transient'
  /** The key is invalid, revoked or restricted: nothing heals it but a new key. */
  | 'auth_failed'
  | 'not_found'
  /** Any other 4xx: final for this request. */
  | 'rejected';

/** Names Resend uses for a key it refuses, whatever the status it sends them with. */
const AUTH_ERROR_NAMES = new Set(['invalid_api_key', 'restricted_api_key', 'missing_api_key']);

export function classifyAnswer(answer: Pick<SdkAnswer<unknown>, 'error'>): AnswerClass {
  const error = answer.error;
  if (!error) return 'ok';
  const status = error.statusCode;
  // No status at all (no answer, or an error body without one) may be an outage: never final.
  if (typeof status !== 'number' || status >= 500) return 'transient';
  if (status === 429) return 'rate_limited';
  // Resend answers an invalid key on the contacts and segments API with 400 validation_error;
  // field errors come as 422, so a 400 of that name is about the key.
  if (
    status === 401 ||
    status === 403 ||
    AUTH_ERROR_NAMES.has(error.name) ||
    (status === 400 && error.name === 'validation_error')
  ) {
    return 'auth_failed';
  }
  if (status === 404) return 'not_found';
  return 'rejected';
}

/** How long a 429 asks us to wait: `retry-after` in seconds or as an HTTP date; 1 s if absent. */
export function retryAfterMs(
  headers: Record<string, string> | null,
  now: number = Date.now(),
): number {
  const value = headers?.['retry-after'];
  if (value === undefined) return 1000;
  const seconds = Number(value);
  if (value.trim() !== '' && Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - now) : 1000;
}

export interface RateLimitHeaders {
  limit?: number;
  remaining?: number;
  resetSeconds?: number;
}

const headerNumber = (headers: Record<string, string>, name: string): number | undefined => {
  const raw = headers[name];
  if (raw === undefined || !/^\s*\d+\s*$/.test(raw)) return undefined;
  return Number.parseInt(raw, 10);
};

/** Resend's `ratelimit-limit`, `ratelimit-remaining` and `ratelimit-reset` (seconds). */
export function parseRateLimitHeaders(headers: Record<string, string> | null): RateLimitHeaders {
  if (!headers) return {};
  const limit = headerNumber(headers, 'ratelimit-limit');
  const remaining = headerNumber(headers, 'ratelimit-remaining');
  const resetSeconds = headerNumber(headers, 'ratelimit-reset');
  return {
    ...(limit !== undefined && limit > 0 ? { limit } : {}),
    ...(remaining !== undefined ? { remaining } : {}),
    ...(resetSeconds !== undefined ? { resetSeconds } : {}),
  };
}

/** Resend's timestamps look like `2025-11-30 20:39:59.540771+00`. */
export function timestampMs(createdAt: string): number {
  const iso = createdAt.replace(' ', 'T').replace(/\+00(:00)?$/, 'Z');
  const ms = Date.parse(iso);
  return Number.isFinite(ms) ? ms : Date.parse(createdAt);
}
