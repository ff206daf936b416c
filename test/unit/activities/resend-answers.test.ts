import { describe, expect, it } from 'vitest';
import {
  classifyAnswer,
  parseRateLimitHeaders,
  retryAfterMs,
  timestampMs,
} from '../../../activities/platforms/resend/answers.js';

const error = (statusCode: number | null, name: string) => ({
  error: { statusCode, name, message: '' },
});

describe("Resend's answers", () => {
  it.each([
    [null, 'application_error', 'transient'],
    [500, 'internal_server_error', 'transient'],
    [502, 'application_error', 'transient'],
    [503, 'application_error', 'transient'],
    [429, 'rate_limit_exceeded', 'rate_limited'],
    [400, 'validation_error', 'auth_failed'],
    [401, 'missing_api_key', 'auth_failed'],
    [403, 'invalid_api_key', 'auth_failed'],
    [403, 'restricted_api_key', 'auth_failed'],
    [404, 'not_found', 'not_found'],
    [422, 'validation_error', 'rejected'],
    [422, 'missing_required_field', 'rejected'],
    [409, 'invalid_idempotent_request', 'rejected'],
  ] as const)('%s %s is %s', (status, name, expected) => {
    expect(classifyAnswer(error(status, name))).toBe(expected);
  });

  it('an answer without an error is ok', () => {
    expect(classifyAnswer({ error: null })).toBe('ok');
  });

  it('reads retry-after in seconds, as an HTTP date, or falls back to one second', () => {
    const now = Date.parse('2026-12-01T10:00:00Z');
    expect(retryAfterMs({ 'retry-after': '2' }, now)).toBe(2000);
    expect(retryAfterMs({ 'retry-after': '0.5' }, now)).toBe(500);
    expect(retryAfterMs({ 'retry-after': 'Tue, 01 Dec 2026 10:00:03 GMT' }, now)).toBe(3000);
    expect(retryAfterMs({ 'retry-after': 'Tue, 01 Dec 2026 09:59:00 GMT' }, now)).toBe(0);
    expect(retryAfterMs({ 'retry-after': 'soon' }, now)).toBe(1000);
    expect(retryAfterMs({ 'retry-after': '' }, now)).toBe(1000);
    expect(retryAfterMs({}, now)).toBe(1000);
    expect(retryAfterMs(null, now)).toBe(1000);
  });

  it('reads the rate-limit headers and ignores what is not a whole number', () => {
    expect(
      parseRateLimitHeaders({
        'ratelimit-limit': '10',
        'ratelimit-remaining': '0',
        'ratelimit-reset': '1',
      }),
    ).toEqual({ limit: 10, remaining: 0, resetSeconds: 1 });
    expect(parseRateLimitHeaders({ 'ratelimit-limit': '0', 'ratelimit-remaining': 'x' })).toEqual(
      {},
    );
    expect(parseRateLimitHeaders({ 'ratelimit-limit': '-3', 'ratelimit-reset': '1.5' })).toEqual(
      {},
    );
    expect(parseRateLimitHeaders(null)).toEqual({});
  });

  it("reads Resend's timestamps, with or without the T and the minutes of the offset", () => {
    const expected = Date.parse('2025-11-30T20:39:59.540Z');
    expect(timestampMs('2025-11-30 20:39:59.540771+00')).toBe(expected);
    expect(timestampMs('2025-11-30 20:39:59.540771+00:00')).toBe(expected);
    expect(timestampMs('2025-11-30T20:39:59.540Z')).toBe(expected);
  });
});
