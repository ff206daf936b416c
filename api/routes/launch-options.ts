import type { Request } from 'express';
import { ApiError } from '../errors.js';
import type { LaunchOptions } from '../sync-launcher.js';

const IDEMPOTENCY_KEY = /^[\x21-\x7e]{1,255}$/;

/**
 * Reads `Idempotency-Key` and `Prefer: respond-async` from a sync request. `body` is the body the
 * client sent (validated), which a repeat of the key must match.
 */
export function launchOptions(req: Request, kind: string, body: unknown): LaunchOptions {
  const idempotencyKey = req.get('idempotency-key');
  if (idempotencyKey !== undefined && !IDEMPOTENCY_KEY.test(idempotencyKey)) {
    throw new ApiError(
      400,
      'invalid_request',
      'Idempotency-Key must be 1 to 255 visible ASCII characters',
      [{ field: 'Idempotency-Key', message: 'must be 1 to 255 visible ASCII characters' }],
    );
  }
  const prefer = req.get('prefer') ?? '';
  return {
    kind,
    body,
    idempotencyKey,
    respondAsync: prefer.split(',').some((token) => token.trim().toLowerCase() === 'respond-async'),
  };
}
