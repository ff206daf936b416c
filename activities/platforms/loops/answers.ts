import { APIError, RateLimitExceededError, ValidationError } from 'loops';

/**
 * How the `loops` SDK's outcomes are read: it resolves with the body on a 2xx, throws
 * `RateLimitExceededError` on a 429 (with `x-ratelimit-limit`) and `APIError(statusCode, json)`
 * on any other error answer; a network failure is a plain error. Pure, so the rules are tested
 * without a server.
 */
export type LoopsFailure =
  | { kind: 'rate_limited'; limit: number | undefined }
  /** 5xx, no answer, or our own timeout: may heal by itself. */
  | { kind: 'transient'; code: string }
  /** The key is invalid or revoked: nothing heals it but a new key. */
  | { kind: 'auth_failed'; status: number }
  | { kind: 'not_found'; message: string | undefined }
  /** 409: the email or the userId of a create exists. */
  | { kind: 'conflict'; message: string | undefined }
  /** Any other 4xx (or a request the SDK refused to send): final for this request. */
  | { kind: 'rejected'; status: number; message: string | undefined };

/** Loops' `{ success: false, message }` (the 401 also carries a deprecated `error`). */
const messageOf = (json: unknown): string | undefined => {
  if (typeof json !== 'object' || json === null) return undefined;
  const { message, error } = json as { message?: unknown; error?: unknown };
  if (typeof message === 'string') return message;
  return typeof error === 'string' ? error : undefined;
};

export function classifyLoopsError(error: unknown): LoopsFailure {
  if (error instanceof RateLimitExceededError) {
    return { kind: 'rate_limited', limit: error.limit > 0 ? error.limit : undefined };
  }
  if (error instanceof ValidationError) {
    return { kind: 'rejected', status: 0, message: error.message };
  }
  if (!(error instanceof APIError)) {
    return { kind: 'transient', code: error instanceof Error ? error.name : 'unknown' };
  }
  const status = error.statusCode;
  const message = messageOf(error.json);
  if (status >= 500) return { kind: 'transient', code: `http_${status}` };
  if (status === 401 || status === 403) return { kind: 'auth_failed', status };
  if (status === 404) return { kind: 'not_found', message };
  if (status === 409) return { kind: 'conflict', message };
  return { kind: 'rejected', status, message };
}

/** The reason code of a refusal, as a run's outcome names it. */
export const refusalReason = (failure: { kind: string; status?: number }): string =>
  `rejected_by_platform:${failure.kind === 'rejected' ? `http_${failure.status ?? 0}` : failure.kind}`;

/**
 * How long to hold the team's requests after the `n`th 429 in a row (from 0): Loops sends no
 * `Retry-After`, so one second (its window), doubled each time up to eight.
 */
export const backoffMs = (consecutive: number): number => Math.min(8000, 1000 * 2 ** consecutive);
