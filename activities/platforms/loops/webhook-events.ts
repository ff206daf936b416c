import { Webhook } from 'standardwebhooks';
import { z } from 'zod';
import { emailHash } from '../../../common/emails.js';
import type { SignatureHeaders, WebhookFacts } from '../declaration.js';

/**
 * Loops' webhook events, signed with Standard Webhooks headers (`webhook-id`,
 * `webhook-timestamp`, `webhook-signature`; Loops' OpenAPI, tag "Webhooks") and shaped
 * `{ eventName, eventTime (seconds), webhookSchemaVersion, contactIdentity, ... }`. The events
 * SPEC names become the same consent records as Resend's: an unsubscribe from everything, from
 * one mailing list (a list is a subscription in Loops: the record names the list), a deletion,
 * and a hard bounce or a spam report (the address is suppressed). Emails are hashed at once.
 */

const PLATFORM = 'loops';

export const LOOPS_CONSENT_EVENTS = [
  'contact.unsubscribed',
  'contact.mailingList.unsubscribed',
  'contact.deleted',
  'email.hardBounced',
  'email.spamReported',
] as const;

/** The event, once its signature matches the secret and its time is within 5 minutes. */
export function verifyLoopsDelivery(
  payload: string,
  headers: SignatureHeaders,
  secret: string,
): unknown {
  return new Webhook(secret).verify(payload, {
    'webhook-id': headers.id,
    'webhook-timestamp': headers.timestamp,
    'webhook-signature': headers.signature,
  });
}

/** When the event happened at Loops (`eventTime`, in seconds); facts apply in that order. */
const eventTime = z
  .number()
  .transform((seconds) => new Date(seconds * 1000))
  .optional()
  .catch(undefined);

const event = z.object({
  eventName: z.string(),
  eventTime,
  contactIdentity: z.object({ id: z.string(), email: z.string() }).optional(),
  mailingList: z.object({ id: z.string() }).optional(),
});

type LoopsEvent = z.infer<typeof event>;

/** The consent fact an event with a contact carries; null for events that change none. */
function factOf({ eventName, eventTime: at, mailingList }: LoopsEvent): WebhookFacts['fact'] {
  switch (eventName) {
    case 'contact.unsubscribed':
      return { kind: 'unsubscribed', unsubscribed: true, at };
    case 'contact.mailingList.unsubscribed':
      return mailingList
        ? { kind: 'unsubscribed', unsubscribed: true, listId: mailingList.id, at }
        : null;
    case 'contact.deleted':
      return { kind: 'deleted', at };
    case 'email.hardBounced':
    case 'email.spamReported':
      return { kind: 'suppressed', at };
    default:
      // Subscribing (again) is the person's business with Loops: it lifts nothing here.
      return null;
  }
}

/** What an event says, as a fact about a contact; null for a body that is no Loops event. */
export function factOfLoopsEvent(body: unknown): WebhookFacts | null {
  const parsed = event.safeParse(body);
  if (!parsed.success) return null;
  const identity = parsed.data.contactIdentity;
  if (!identity) {
    return { subject: { platform: PLATFORM, emailHash: '', contactId: null }, fact: null };
  }
  return {
    subject: { platform: PLATFORM, emailHash: emailHash(identity.email), contactId: identity.id },
    fact: factOf(parsed.data),
  };
}
