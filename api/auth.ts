import { createHash, timingSafeEqual } from 'node:crypto';
import type { RequestHandler } from 'express';
import { ApiError } from './errors.js';

const digest = (value: string): Buffer => createHash('sha256').update(value).digest();

/**
 * Requires `Authorization: Bearer <MARKETING_API_SECRET>`. Both sides are hashed to equal-length
 * digests and compared in constant time, so timing says nothing about the guess. A missing
 * header, another scheme and a wrong secret all get the same 401.
 */
export function requireBearerSecret(secret: string): RequestHandler {
  const expected = digest(secret);
  return (req, _res, next) => {
    const match = /^Bearer[ ]+(\S+)\s*$/i.exec(req.get('authorization') ?? '');
    const presented = digest(match?.[1] ?? '');
    const valid = timingSafeEqual(presented, expected) && match !== null;
    if (valid) return next();
    next(
      new ApiError(
        401,
        'unauthorized',
        'Send the marketing API secret as a Bearer token',
        undefined,
        {
          'WWW-Authenticate': 'Bearer realm="audience-sync"',
        },
      ),
    );
  };
}
