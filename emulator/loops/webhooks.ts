import { randomBytes } from 'node:crypto';
import type { TimerRegistry } from '../common/timers.js';
import { WebhookDispatcher } from '../common/webhooks.js';
import { contactBody, contactIdentity, mailingListBody } from './serialize.js';
import type { ContactEvents, LoopsStore } from './store/loops-store.js';
import type { LoopsContact } from './store/records.js';

/** The events the emulator sends (Loops' OpenAPI `webhooks:` section names more). */
export const LOOPS_EVENTS = [
  'contact.created',
  'contact.unsubscribed',
  'contact.deleted',
  'contact.mailingList.subscribed',
  'contact.mailingList.unsubscribed',
  'email.hardBounced',
  'email.spamReported',
] as const;
export type LoopsEventName = (typeof LOOPS_EVENTS)[number];

/** Loops documents deliveries "at a maximum rate of 10 per second". */
export const DEFAULT_WEBHOOK_MAX_PER_SECOND = 10;

/**
 * Loops' deliveries: Standard Webhooks headers (`webhook-id`, `webhook-timestamp`,
 * `webhook-signature`) and a body `{ eventName, eventTime (seconds), webhookSchemaVersion,
 * contactIdentity, … }` as the OpenAPI's `webhooks:` section shapes it. One endpoint per account.
 */
export class LoopsWebhooks extends WebhookDispatcher<LoopsEventName> {
  constructor(timers: TimerRegistry) {
    super(timers, { headerPrefix: 'webhook', userAgent: 'Loops-Webhooks/1.0 (emulated)' });
    this.maxPerSecond = DEFAULT_WEBHOOK_MAX_PER_SECOND;
  }

  /** Sends one event about `contact`, its identity taken now (before a deletion goes on). */
  emit(
    eventName: LoopsEventName,
    contact: LoopsContact,
    extra: () => Record<string, unknown> = () => ({}),
  ): void {
    this.send(eventName, () =>
      JSON.stringify({
        eventName,
        eventTime: Math.floor(Date.now() / 1000),
        webhookSchemaVersion: '1.0.0',
        contactIdentity: contactIdentity(contact),
        ...extra(),
      }),
    );
  }

  /** The events of one contact write: created, left or joined lists, unsubscribed. */
  reportWrite(
    store: LoopsStore,
    contact: LoopsContact,
    events: ContactEvents,
    created: boolean,
  ): void {
    if (created) this.emit('contact.created', contact, () => ({ contact: contactBody(contact) }));
    for (const listId of events.listsJoined) {
      this.emitListEvent(store, 'contact.mailingList.subscribed', contact, listId);
    }
    for (const listId of events.listsLeft) {
      this.emitListEvent(store, 'contact.mailingList.unsubscribed', contact, listId);
    }
    if (events.unsubscribed) this.emit('contact.unsubscribed', contact);
  }

  emitListEvent(
    store: LoopsStore,
    eventName: 'contact.mailingList.subscribed' | 'contact.mailingList.unsubscribed',
    contact: LoopsContact,
    listId: string,
  ): void {
    const list = store.listsById.get(listId);
    if (list) this.emit(eventName, contact, () => ({ mailingList: mailingListBody(list) }));
  }

  /** An email event (`email.hardBounced`, `email.spamReported`) of a campaign send. */
  emitEmailEvent(
    eventName: 'email.hardBounced' | 'email.spamReported',
    contact: LoopsContact,
    subject: string,
  ): void {
    const id = () => `c${randomBytes(12).toString('hex').slice(0, 24)}`;
    this.emit(eventName, contact, () => ({
      sourceType: 'campaign',
      campaignId: id(),
      email: { id: id(), emailMessageId: id(), subject },
    }));
  }
}
