import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { type AugmentedRequest, rateLimit } from 'express-rate-limit';
import type { Logger } from '../telemetry/logger.js';
import { ApiError } from './errors.js';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

const FAILURE_WINDOW_MS = 60_000;

export interface BearerSecretOptions {
  secret: string;
  /** Failed checks one client address may make in a minute; the next ones answer 429. */
  failuresPerMinute: number;
  logger: Logger;
  /** The limiter failed checks are counted by, when it is shared with other checks. */
  failureLimiter?: RequestHandler;
}

const unauthorized = () =>
  new ApiError(401, 'unauthorized', 'Send the marketing API secret as a Bearer token', undefined, {
    'WWW-Authenticate': 'Bearer realm="audience-sync"',
  });

export interface FailedAuthLimitOptions {
  /** Failed checks one client address may make in a minute; the next ones answer 429. */
  failuresPerMinute: number;
  logger: Logger;
}

/**
 * Counts failed authentications per client address (Express's `req.ip`: the socket's address
 * unless TRUST_PROXY says which proxies to believe), `failuresPerMinute` in a one-minute window;
 * past that, it answers 429 with Retry-After until the window ends. Only failures are given to
 * it, so the right secret is never slowed or refused, whatever others sent from its address. One
 * limiter serves every way of presenting the secret (the Bearer header, the console's sign-in),
 * so they share one count.
 */
export function createFailedAuthLimiter(options: FailedAuthLimitOptions): RequestHandler {
  const { logger } = options;
  return rateLimit({
    windowMs: FAILURE_WINDOW_MS,
    limit: options.failuresPerMinute,
    // The 401 says nothing about the count; the 429 carries Retry-After (set below).
    standardHeaders: false,
    legacyHeaders: false,
    // Everything that reaches this limiter is a failure; no answer takes a count back.
    skipSuccessfulRequests: false,
    skipFailedRequests: false,
    handler: (req, _res, next) => {
      // The limiter puts its count on the request before it calls this handler.
      const resetTime = (req as AugmentedRequest).rateLimit?.resetTime;
      const seconds = resetTime
        ? Math.max(1, Math.ceil((resetTime.getTime() - Date.now()) / 1000))
        : FAILURE_WINDOW_MS / 1000;
      next(
        new ApiError(
          429,
          'too_many_auth_failures',
          `Too many failed authentications from this address; try again in ${seconds} s`,
          undefined,
          { 'Retry-After': String(seconds) },
        ),
      );
    },
    logger: {
      error: (error, message) => logger.error({ err: error }, message ?? 'auth failure limiter'),
      warn: (error, message) => logger.warn({ err: error }, message ?? 'auth failure limiter'),
    },
  });
}

/**
 * Requires `Authorization: Bearer <MARKETING_API_SECRET>`. Both sides are hashed to equal-length
 * digests and compared in constant time, so timing says nothing about the guess. A missing
 * header, another scheme and a wrong secret all get the same 401, counted by the failed-auth
 * limiter (`failureLimiter`, or one of its own).
 */
export function requireBearerSecret(options: BearerSecretOptions): RequestHandler {
  const expected = digest(options.secret);
  const countFailure = options.failureLimiter ?? createFailedAuthLimiter(options);

  return (req, res, next) => {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    const presented = digest(match?.[1] ?? '');
    const valid = timingSafeEqual(presented, expected) && match !== null;
    if (valid) return next();
    // Counted, then 401 while the address is within its allowance (the limiter answers 429).
    void countFailure(req, res, (error?: unknown) => next(error ?? unauthorized()));
  };
}
