import type { IncomingMessage } from 'node:http';
import type { Admission } from '../common/pipeline.js';
import type { RequestOutcome } from '../common/request-log.js';
import { authenticate, DEFAULT_TEAM } from './auth.js';
import type { EmulatorCore } from './core.js';
import { ApiError, MESSAGES } from './errors.js';
import { rateLimitHeaders } from './rate-limit-headers.js';

const rateLimitedBody = JSON.stringify(
  new ApiError(429, 'rate_limit_exceeded', MESSAGES.rateLimited).toBody(),
);

/**
 * Decided synchronously on arrival, before the body is read, so concurrent requests are counted
 * in arrival order and the log's `at` is the instant the limiter used.
 */
export function admit(
  core: EmulatorCore,
  request: IncomingMessage,
  method: string,
  path: string,
  nowMs: number,
): Admission {
  const reject = (
    status: number,
    body: string,
    headers: Record<string, string>,
    outcome: RequestOutcome,
    team?: string,
  ): Admission => ({ admitted: false, team, rejection: { status, body, headers, outcome } });
  if (!request.headers['user-agent']) {
    // The API's edge refuses requests without a User-Agent with a plain-text 403.
    const headers = {
      ...rateLimitHeaders(core.rateLimiter.peek(DEFAULT_TEAM, nowMs)),
      'content-type': 'text/plain; charset=UTF-8',
    };
    return reject(403, 'error code: 1010', headers, 'client_error');
  }
  const auth = authenticate(request.headers.authorization, core.keyPolicy);
  if (!auth.ok) {
    const headers = rateLimitHeaders(core.rateLimiter.peek(DEFAULT_TEAM, nowMs));
    return reject(
      auth.error.statusCode,
      JSON.stringify(auth.error.toBody()),
      headers,
      'unauthorized',
    );
  }
  const storm = core.faults.storm(method, path, nowMs);
  if (storm) {
    const window = { ...core.rateLimiter.peek(auth.team, nowMs), remaining: 0 };
    const headers = { ...rateLimitHeaders(window), 'retry-after': String(storm.retryAfterSeconds) };
    return reject(429, rateLimitedBody, headers, 'storm_rate_limited', auth.team);
  }
  const window = core.rateLimiter.take(auth.team, nowMs);
  if (!window.allowed) {
    const headers = { ...rateLimitHeaders(window), 'retry-after': String(window.resetSeconds) };
    return reject(429, rateLimitedBody, headers, 'rate_limited', auth.team);
  }
  return { admitted: true, team: auth.team, window };
}
