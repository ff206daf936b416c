import type { Micros } from '../common/clock.js';
import type { TimerRegistry } from '../common/timers.js';
import {
  type WebhookDelivery as GenericDelivery,
  type WebhookEndpoint as GenericEndpoint,
  WebhookDispatcher,
} from '../common/webhooks.js';
import type { ContactStore } from './store/contact-store.js';
import type { ContactRecord } from './store/records.js';
import type { SuppressionRecord } from './store/suppression-store.js';

/**
 * Webhook deliveries the way Resend sends them through Svix: a JSON body
 * `{ type, created_at, data }` with the `svix-*` headers of {@link WebhookDispatcher}.
 */

export {
  DEFAULT_RETRY_DELAYS_MS,
  newWebhookSecret,
  signWebhook,
} from '../common/webhooks.js';

export type WebhookEventType =
  | 'contact.created'
  | 'contact.updated'
  | 'contact.deleted'
  | 'suppression.added'
  | 'suppression.removed';

export type WebhookEndpoint = GenericEndpoint<WebhookEventType>;
export type WebhookDelivery = GenericDelivery<WebhookEventType>;

const iso = (micros: Micros): string => new Date(Math.floor(micros / 1000)).toISOString();

/** `ContactEventData` as Resend's webhook reference shapes it (ISO timestamps). */
export function contactEventData(store: ContactStore, contact: ContactRecord) {
  const segmentIds = store.membershipsOfContact(contact).map((membership) => membership.segmentId);
  return {
    id: contact.id,
    ...(segmentIds[0] ? { audience_id: segmentIds[0] } : {}),
    segment_ids: segmentIds,
    created_at: iso(contact.createdAt),
    updated_at: iso(contact.updatedAt),
    email: contact.email,
    first_name: contact.firstName,
    last_name: contact.lastName,
    unsubscribed: contact.unsubscribed,
  };
}

export function suppressionEventData(suppression: SuppressionRecord) {
  return {
    id: suppression.id,
    email: suppression.email,
    origin: suppression.origin,
    source_id: suppression.sourceId,
    created_at: iso(suppression.createdAt),
  };
}

/** Resend's deliveries: Svix headers, a `{ type, created_at, data }` body. */
export class WebhookSender extends WebhookDispatcher<WebhookEventType> {
  constructor(timers: TimerRegistry) {
    super(timers, { headerPrefix: 'svix', userAgent: 'Svix-Webhooks/1.0 (emulated)' });
  }

  /** Sends the event to every endpoint that wants it; free when there are none. */
  emit(type: WebhookEventType, data: () => unknown): void {
    this.send(type, () =>
      JSON.stringify({ type, created_at: new Date().toISOString(), data: data() }),
    );
  }
}
