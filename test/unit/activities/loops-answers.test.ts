import { APIError, RateLimitExceededError, ValidationError } from 'loops';
import { describe, expect, it } from 'vitest';
import {
  backoffMs,
  classifyLoopsError,
  refusalReason,
} from '../../../activities/platforms/loops/answers.js';

describe("reading the loops SDK's errors", () => {
  it.each([
    ['a 429', new RateLimitExceededError(10, 0), { kind: 'rate_limited', limit: 10 }],
    [
      'a 500',
      new APIError(500, { success: false, message: 'boom' }),
      { kind: 'transient', code: 'http_500' },
    ],
    ['a 502 page', new APIError(502, null, '<html>'), { kind: 'transient', code: 'http_502' }],
    ['no answer', new TypeError('fetch failed'), { kind: 'transient', code: 'TypeError' }],
    [
      'a refused key',
      new APIError(401, { success: false, message: 'Invalid API key' }),
      { kind: 'auth_failed', status: 401 },
    ],
    [
      'a missing contact',
      new APIError(404, { success: false, message: 'Contact not found.' }),
      { kind: 'not_found', message: 'Contact not found.' },
    ],
    [
      'a taken email',
      new APIError(409, { success: false, message: 'Email or userId already exists.' }),
      { kind: 'conflict', message: 'Email or userId already exists.' },
    ],
    [
      'an invalid email',
      new APIError(400, { success: false, message: 'Invalid email address.' }),
      { kind: 'rejected', status: 400, message: 'Invalid email address.' },
    ],
    [
      'a request the SDK refused to send',
      new ValidationError('Only one parameter is permitted.'),
      { kind: 'rejected', status: 0, message: 'Only one parameter is permitted.' },
    ],
  ])('classifies %s', (_case, error, expected) => {
    expect(classifyLoopsError(error)).toEqual(expected);
  });

  it('names a refusal by its status', () => {
    expect(refusalReason({ kind: 'rejected', status: 400 })).toBe('rejected_by_platform:http_400');
    expect(refusalReason({ kind: 'not_found' })).toBe('rejected_by_platform:not_found');
  });

  it('backs off from one second, doubling up to eight, as Loops sends no Retry-After', () => {
    expect([0, 1, 2, 3, 4, 10].map(backoffMs)).toEqual([1000, 2000, 4000, 8000, 8000, 8000]);
  });
});
