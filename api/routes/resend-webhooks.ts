import express, { type Request, type RequestHandler, type Router } from 'express';
import getRawBody from 'raw-body';
import { Resend } from 'resend';
import { z } from 'zod';
import { emailHash } from '../../common/emails.js';
import { type ConsentFact, type ConsentSubject, recordWebhookFact } from '../../db/consent.js';
import type { Sql } from '../../db/sql.js';
import type { FailedAuthLimiter } from '../auth.js';
import { ApiError } from '../errors.js';

/**
 * `POST /webhooks/resend`: Resend's contact and suppression events, signed by Svix. The raw body
 * is verified through the SDK (Standard Webhooks: HMAC-SHA256 of `id.timestamp.body`, at most 5
 * minutes off), then the delivery id and the fact it carries are recorded in one transaction and
 * answered at once: Resend retries slow endpoints and disables failing ones. Emails are hashed
 * before anything is stored or logged.
 */

const PLATFORM = 'resend';
// SPEC: the webhook routes read at most 64 KiB; Resend's contact events are far smaller.
const BODY_LIMIT = '64kb';
/** Deliveries signed further than this from now are refused (Standard Webhooks' tolerance). */
const SIGNATURE_TOLERANCE_SECONDS = 5 * 60;

/** When the event happened at Resend (`created_at`); facts apply in that order. */
const eventTime = z.iso
  .datetime({ offset: true })
  .transform((time) => new Date(time))
  .optional()
  .catch(undefined);

const contactEvent = z.object({
  type: z.enum(['contact.created', 'contact.updated', 'contact.deleted']),
  created_at: eventTime,
  data: z.object({ id: z.string(), email: z.string(), unsubscribed: z.boolean().optional() }),
});
const suppressionEvent = z.object({
  type: z.enum(['suppression.added', 'suppression.removed']),
  created_at: eventTime,
  data: z.object({ email: z.string() }),
});
const anyEvent = z.object({ type: z.string() });

/** What an event says, as a fact about a contact; null for events that change no consent. */
export function factOfEvent(
  event: unknown,
): { subject: ConsentSubject; fact: ConsentFact | null } | null {
  const contact = contactEvent.safeParse(event);
  if (contact.success) {
    const { type, data, created_at: at } = contact.data;
    const subject = { platform: PLATFORM, emailHash: emailHash(data.email), contactId: data.id };
    if (type === 'contact.deleted') return { subject, fact: { kind: 'deleted', at } };
    if (type === 'contact.updated' && data.unsubscribed !== undefined) {
      return { subject, fact: { kind: 'unsubscribed', unsubscribed: data.unsubscribed, at } };
    }
    return { subject, fact: null };
  }
  const suppression = suppressionEvent.safeParse(event);
  if (suppression.success) {
    const { type, data, created_at: at } = suppression.data;
    const subject = { platform: PLATFORM, emailHash: emailHash(data.email), contactId: null };
    // A removed suppression lets Resend send again; it does not re-subscribe anyone here.
    return { subject, fact: type === 'suppression.added' ? { kind: 'suppressed', at } : null };
  }
  return anyEvent.safeParse(event).success
    ? { subject: { platform: PLATFORM, emailHash: '', contactId: null }, fact: null }
    : null;
}

const header = (value: string | string[] | undefined): string | undefined =>
  typeof value === 'string' && value.length > 0 ? value : undefined;

const unsigned = (message: string) => new ApiError(401, 'invalid_webhook_signature', message);

/** The signature headers, present and recent, or the 401 that refuses the delivery. */
function signatureHeaders(
  req: Request,
  nowMs: number,
): { id: string; timestamp: string; signature: string } | ApiError {
  const id = header(req.headers['svix-id']);
  const timestamp = header(req.headers['svix-timestamp']);
  const signature = header(req.headers['svix-signature']);
  if (!id || !timestamp || !signature) {
    return unsigned('The delivery is not signed (svix-id, svix-timestamp and svix-signature)');
  }
  const seconds = /^\d{1,12}$/.test(timestamp) ? Number(timestamp) : Number.NaN;
  if (!(Math.abs(nowMs / 1000 - seconds) <= SIGNATURE_TOLERANCE_SECONDS)) {
    return unsigned('The delivery is more than 5 minutes old (or from the future): svix-timestamp');
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

/**
 * `POST /webhooks/resend`. Before its body is read, a delivery must be uncompressed (415), name
 * its signature and a time within 5 minutes (401), and declare at most 64 KiB (413; a longer
 * body sent without a length stops being read at 64 KiB). Every 401 counts against the same
 * per-address limit as a wrong Bearer secret.
 */
export function resendWebhooksRouter(deps: {
  sql: Sql;
  secret: string | undefined;
  limiter: FailedAuthLimiter;
  now?: () => number;
}): Router {
  const router = express.Router();
  // The SDK's verification needs no key; the constructor wants one anyway.
  const resend = new Resend('re_webhook_verification_only');
  const now = deps.now ?? Date.now;

  const checkBeforeReading: RequestHandler = (req, res, next) => {
    if (!deps.secret) {
      throw new ApiError(
        503,
        'webhooks_not_configured',
        'Resend webhooks are not set up here: set RESEND_WEBHOOK_SECRET to the endpoint signing secret (whsec_...) Resend shows',
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
    const headers = signatureHeaders(req, now());
    if (headers instanceof ApiError) {
      deps.limiter.fail(req, res, next, headers);
      return;
    }
    next();
  };

  router.post('/', checkBeforeReading, async (req, res, next) => {
    const headers = signatureHeaders(req, now());
    if (headers instanceof ApiError) throw headers;
    const payload = (await readBoundedBody(req)).toString('utf8');
    let event: unknown;
    try {
      event = resend.webhooks.verify({ payload, headers, webhookSecret: deps.secret ?? '' });
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
    const found = factOfEvent(event);
    if (!found) {
      throw new ApiError(400, 'invalid_webhook_payload', 'The event is not one Resend sends');
    }
    const recorded = await recordWebhookFact(deps.sql, headers.id, found.subject, found.fact);
    res.json({ success: true, processed: recorded.processed });
  });

  return router;
}
