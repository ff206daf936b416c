import express, { type Router } from 'express';
import { Resend } from 'resend';
import { z } from 'zod';
import { emailHash } from '../../activities/emails.js';
import { type ConsentFact, type ConsentSubject, recordWebhookFact } from '../../db/consent.js';
import type { Sql } from '../../db/sql.js';
import { ApiError } from '../errors.js';

/**
 * `POST /webhooks/resend`: Resend's contact and suppression events, signed by Svix. The raw body
 * is verified through the SDK (Standard Webhooks: HMAC-SHA256 of `id.timestamp.body`, at most 5
 * minutes off), then the delivery id and the fact it carries are recorded in one transaction and
 * answered at once: Resend retries slow endpoints and disables failing ones. Emails are hashed
 * before anything is stored or logged.
 */

const PLATFORM = 'resend';
// Resend's events are small; this leaves room for long names and many segment ids.
const BODY_LIMIT = '256kb';

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

export function resendWebhooksRouter(deps: { sql: Sql; secret: string | undefined }): Router {
  const router = express.Router();
  // The SDK's verification needs no key; the constructor wants one anyway.
  const resend = new Resend('re_webhook_verification_only');

  router.post('/', express.raw({ type: () => true, limit: BODY_LIMIT }), async (req, res) => {
    if (!deps.secret) {
      throw new ApiError(
        503,
        'webhooks_not_configured',
        'Resend webhooks are not set up here: set RESEND_WEBHOOK_SECRET to the endpoint signing secret (whsec_...) Resend shows',
      );
    }
    const id = header(req.headers['svix-id']);
    const timestamp = header(req.headers['svix-timestamp']);
    const signature = header(req.headers['svix-signature']);
    if (!id || !timestamp || !signature) {
      throw unsigned('The delivery is not signed (svix-id, svix-timestamp and svix-signature)');
    }
    const payload = Buffer.isBuffer(req.body) ? req.body.toString('utf8') : '';
    let event: unknown;
    try {
      event = resend.webhooks.verify({
        payload,
        headers: { id, timestamp, signature },
        webhookSecret: deps.secret,
      });
    } catch {
      throw unsigned(
        'The signature does not match this endpoint, or the delivery is more than 5 minutes old',
      );
    }
    const found = factOfEvent(event);
    if (!found) {
      throw new ApiError(400, 'invalid_webhook_payload', 'The event is not one Resend sends');
    }
    const recorded = await recordWebhookFact(deps.sql, id, found.subject, found.fact);
    res.json({ success: true, processed: recorded.processed });
  });

  return router;
}
