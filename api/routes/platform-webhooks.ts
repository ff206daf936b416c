import express, { type Request, type RequestHandler, type Router } from 'express';
import getRawBody from 'raw-body';
import type { PlatformDeclaration, SignatureHeaders } from '../../activities/platforms/registry.js';
import { recordWebhookFact } from '../../db/consent.js';
import type { Sql } from '../../db/sql.js';
import type { FailedAuthLimiter } from '../auth.js';
import { ApiError } from '../errors.js';

/**
 * `POST /webhooks/<platform>`, one route per platform whose declaration has a webhook: its
 * deliveries are verified with the platform's signature check (Standard Webhooks: HMAC-SHA256 of
 * `id.timestamp.body`, at most 5 minutes off), then the delivery id and the fact it carries are
 * recorded in one transaction and answered at once: platforms retry slow endpoints and disable
 * failing ones. Emails are hashed (in the platform's event mapping) before anything is stored.
 */

// SPEC: the webhook routes read at most 64 KiB; the platforms' contact events are far smaller.
const BODY_LIMIT = '64kb';
/** Deliveries signed further than this from now are refused (Standard Webhooks' tolerance). */
const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

const header = (value: string | string[] | undefined): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

const unsigned = (message: string) => new ApiError(401, 'invalid_webhook_signature', message);

/** The signature headers, present and recent, or the 401 that refuses the delivery. */
function signatureHeaders(
  req: Request,
  names: SignatureHeaders,
  nowMs: number,
): SignatureHeaders | ApiError {
  const id = header(req.headers[names.id]);
  const timestamp = header(req.headers[names.timestamp]);
  const signature = header(req.headers[names.signature]);
  if (!id || !timestamp || !signature) {
    return unsigned(
      `The delivery is not signed (${names.id}, ${names.timestamp} and ${names.signature})`,
    );
  }
  const seconds = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : Number.NaN;
  if (!(Math.abs(nowMs / 1000 - seconds) <= SIGNATURE_TOLERANCE_SECONDS)) {
    return unsigned(
      `The delivery is more than 5 minutes old (or from the future): ${names.timestamp}`,
    );
  }
  return { id, timestamp, signature };
}

/**
 * The raw body, at most BODY_LIMIT bytes: a longer declared length is refused before reading, a
 * longer body without one once the limit is read. The 413 closes the connection, so the rest is
 * never read.
 */
async function readBoundedBody(req: Request): Promise<Buffer> {
  try {
    return await getRawBody(req, { length: req.get('content-length'), limit: BODY_LIMIT });
  } catch (error) {
    if (typeof error === 'object' && error !== null && 'type' in error) {
      if (error.type === 'entity.too.large') {
        throw new ApiError(
          413,
          'payload_too_large',
          'The request body is over the 64 KiB limit',
          undefined,
          {
            Connection: 'close',
          },
        );
      }
      if (error.type === 'request.size.invalid' || error.type === 'request.aborted') {
        throw new ApiError(
          400,
          'invalid_request',
          'The request body ended before its declared length',
        );
      }
    }
    throw error;
  }
}

export interface PlatformWebhookDeps {
  sql: Sql;
  platform: PlatformDeclaration;
  /**
   * The endpoint's signing secret: the one configured, else the one the platform gave when the
   * endpoint was registered (db/webhook-registrations.ts); undefined: webhooks are not set up.
   */
  secret: () => Promise<string | undefined>;
  limiter: FailedAuthLimiter;
  now?: () => number;
}

/**
 * Before its body is read, a delivery must be uncompressed (415), name its signature and a time
 * within 5 minutes (401), and declare at most 64 KiB (413; a longer body sent without a length
 * stops being read at 64 KiB). Every 401 counts against the same per-address limit as a wrong
 * Bearer secret.
 */
function checkBeforeReading(deps: PlatformWebhookDeps, now: () => number): RequestHandler {
  const webhook = requireWebhook(deps.platform);
  return async (req, res, next) => {
    if (!(await deps.secret())) {
      throw new ApiError(
        503,
        'webhooks_not_configured',
        `${deps.platform.title} webhooks are not set up here: ${webhook.secretHint}`,
      );
    }
    const encoding = (req.get('content-encoding') ?? 'identity').trim().toLowerCase();
    if (encoding !== 'identity') {
      throw new ApiError(
        415,
        'unsupported_media_type',
        'Compressed deliveries are refused: send the event without Content-Encoding',
      );
    }
    const headers = signatureHeaders(req, webhook.headers, now());
    if (headers instanceof ApiError) {
      deps.limiter.fail(req, res, next, headers);
      return;
    }
    next();
  };
}

const requireWebhook = (platform: PlatformDeclaration) => {
  if (!platform.webhook) throw new Error(`${platform.name} declares no webhook`);
  return platform.webhook;
};

/** `POST /webhooks/<platform>`: the checks before reading, then verify, map and record. */
export function platformWebhooksRouter(deps: PlatformWebhookDeps): Router {
  const router = express.Router();
  const webhook = requireWebhook(deps.platform);
  const now = deps.now ?? Date.now;

  router.post('/', checkBeforeReading(deps, now), async (req, res, next) => {
    const headers = signatureHeaders(req, webhook.headers, now());
    if (headers instanceof ApiError) throw headers;
    const payload = (await readBoundedBody(req)).toString('utf8');
    let event: unknown;
    try {
      event = webhook.verify(payload, headers, (await deps.secret()) ?? '');
    } catch {
      deps.limiter.fail(
        req,
        res,
        next,
        unsigned(
          'The signature does not match this endpoint, or the delivery is more than 5 minutes old',
        ),
      );
      return;
    }
    const found = webhook.factsOf(event);
    if (!found) {
      throw new ApiError(
        400,
        'invalid_webhook_payload',
        `The event is not one ${deps.platform.title} sends`,
      );
    }
    const recorded = await recordWebhookFact(
      deps.sql,
      headers.id,
      found.subject,
      found.fact,
      deps.platform.contactDirectory,
    );
    res.json({ success: true, processed: recorded.processed });
  });

  return router;
}
