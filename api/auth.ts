import { createHash, timingSafeEqual } from 'node:crypto';
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { type AugmentedRequest, rateLimit } from 'express-rate-limit';
import type { Logger } from '../telemetry/logger.js';
import { ApiError } from './errors.js';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

const FAILURE_WINDOW_MS = 60_000;

/**
 * Failed authentications (a wrong Bearer secret, a webhook signature that does not verify, a
 * failed sign-in), counted per client address across every check that uses one limiter.
 */
export interface FailedAuthLimiter {
  /**
   * Counts a failure of this request's address, then answers `refusal` while the address is
   * within its allowance, and `429 too_many_auth_failures` with Retry-After past it.
   */
  fail(req: Request, res: Response, next: NextFunction, refusal: ApiError): void;
}

export interface FailedAuthLimiterOptions {
  /** Failed checks one client address may make in a minute; the next ones answer 429. */
  failuresPerMinute: number;
  logger: Logger;
}

/**
 * Failures are counted per client address (Express's `req.ip`: the socket's address unless
 * TRUST_PROXY says which proxies to believe), `failuresPerMinute` in a one-minute window; past
 * that, failures answer 429 with Retry-After until the window ends. Only failures reach the
 * counter, so a right secret or signature is never slowed or refused, whatever others sent from
 * its address.
 */
export function createFailedAuthLimiter(options: FailedAuthLimiterOptions): FailedAuthLimiter {
  const { logger } = options;
  const countFailure = rateLimit({
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
  return {
    fail(req, res, next, refusal) {
      void countFailure(req, res, (error?: unknown) => next(error ?? refusal));
    },
  };
}

const unauthorized = () =>
  new ApiError(401, 'unauthorized', 'Send the marketing API secret as a Bearer token', undefined, {
    'WWW-Authenticate': 'Bearer realm="audience-sync"',
  });

export interface BearerSecretOptions {
  secret: string;
  /** Where failed checks are counted (shared with the other checks of the API). */
  limiter: FailedAuthLimiter;
}

/**
 * Requires `Authorization: Bearer <MARKETING_API_SECRET>`. Both sides are hashed to equal-length
 * digests and compared in constant time, so timing says nothing about the guess. A missing
 * header, another scheme and a wrong secret all get the same 401, and count as a failure.
 */
export function requireBearerSecret(options: BearerSecretOptions): RequestHandler {
  const expected = digest(options.secret);
  return (req, res, next) => {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    const presented = digest(match?.[1] ?? '');
    const valid = timingSafeEqual(presented, expected) && match !== null;
    if (valid) return next();
    options.limiter.fail(req, res, next, unauthorized());
  };
}
