import { Resend } from 'resend';
import { z } from 'zod';
import { emailHash } from '../../../common/emails.js';
import type { SignatureHeaders, WebhookFacts } from '../declaration.js';

/**
 * Resend's contact and suppression events, signed by Svix (Standard Webhooks: HMAC-SHA256 of
 * `id.timestamp.body`), verified through the official SDK. Emails are hashed before anything is
 * stored or logged.
 */

const PLATFORM = 'resend';

/** The events whose facts are consent; Resend sends these when the endpoint asks for them. */
export const RESEND_CONSENT_EVENTS = [
  'contact.updated',
  'contact.deleted',
  'suppression.added',
] as const;

// The SDK's verification needs no key; the constructor wants one anyway.
let verifier: Resend | undefined;

/** The event, once its signature matches the secret; throws otherwise. */
export function verifyResendDelivery(
  payload: string,
  headers: SignatureHeaders,
  secret: string,
): unknown {
  verifier ??= new Resend('re_webhook_verification_only');
  return verifier.webhooks.verify({ payload, headers, webhookSecret: secret });
}

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

/** What an event says, as a fact about a contact; null for a body that is no Resend event. */
export function factOfEvent(event: unknown): WebhookFacts | null {
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
