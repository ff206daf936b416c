import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { Micros } from './clock.js';
import type { ContactStore } from './store/contact-store.js';
import type { ContactRecord } from './store/records.js';
import type { SuppressionRecord } from './store/suppression-store.js';
import type { TimerRegistry } from './timers.js';

/**
 * Webhook endpoints and their deliveries, the way Resend sends them through Svix: a JSON body
 * `{ type, created_at, data }`, headers `svix-id` (the same on every retry of one message),
 * `svix-timestamp` (seconds, of this attempt) and `svix-signature` (`v1,` + base64 HMAC-SHA256 of
 * `id.timestamp.body` with the secret's base64 part as key), retried with backoff until an
 * attempt answers 2xx.
 */

export type WebhookEventType =
  | 'contact.created'
  | 'contact.updated'
  | 'contact.deleted'
  | 'suppression.added'
  | 'suppression.removed';

export interface WebhookEndpoint {
  id: string;
  url: string;
  /** `whsec_` + base64 of the key bytes, as Resend shows it. */
  secret: string;
  /** Event types it receives; all of them when empty. */
  events: WebhookEventType[];
}

export interface WebhookDelivery {
  /** The message id (`svix-id`). */
  id: string;
  endpointId: string;
  type: WebhookEventType;
  payload: string;
  attempts: number;
  /** Status of each attempt; 0 when the request itself failed. */
  statuses: number[];
  state: 'pending' | 'delivered' | 'failed';
}

/**
 * Delays between attempts. Svix waits 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; the emulator
 * keeps the shape but shrinks the waits so tests see retries within seconds.
 */
export const DEFAULT_RETRY_DELAYS_MS = [250, 1_000, 5_000, 30_000];
const ATTEMPT_TIMEOUT_MS = 15_000;
const DELIVERIES_KEPT = 10_000;

export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

/** The Svix signature of one attempt. */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const digest = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${digest}`;
}

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

export class WebhookSender {
  readonly endpoints: WebhookEndpoint[] = [];
  readonly deliveries: WebhookDelivery[] = [];
  retryDelaysMs: number[] = [...DEFAULT_RETRY_DELAYS_MS];

  constructor(private readonly timers: TimerRegistry) {}

  addEndpoint(input: { url: string; secret?: string; events?: WebhookEventType[] }) {
    const endpoint: WebhookEndpoint = {
      id: randomUUID(),
      url: input.url,
      secret: input.secret ?? newWebhookSecret(),
      events: input.events ?? [],
    };
    this.endpoints.push(endpoint);
    return endpoint;
  }

  removeEndpoint(id: string): boolean {
    const index = this.endpoints.findIndex((endpoint) => endpoint.id === id);
    if (index < 0) return false;
    this.endpoints.splice(index, 1);
    return true;
  }

  /** Sends the event to every endpoint that wants it; free when there are none. */
  emit(type: WebhookEventType, data: () => unknown): void {
    const targets = this.endpoints.filter(
      (endpoint) => endpoint.events.length === 0 || endpoint.events.includes(type),
    );
    if (targets.length === 0) return;
    const payload = JSON.stringify({ type, created_at: new Date().toISOString(), data: data() });
    for (const endpoint of targets) {
      const delivery: WebhookDelivery = {
        id: `msg_${randomBytes(16).toString('base64url')}`,
        endpointId: endpoint.id,
        type,
        payload,
        attempts: 0,
        statuses: [],
        state: 'pending',
      };
      this.deliveries.push(delivery);
      if (this.deliveries.length > DELIVERIES_KEPT) this.deliveries.shift();
      this.timers.soon(() => void this.attempt(endpoint, delivery));
    }
  }

  private async attempt(endpoint: WebhookEndpoint, delivery: WebhookDelivery): Promise<void> {
    const timestamp = Math.floor(Date.now() / 1000);
    let status = 0;
    try {
      const answer = await fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'Svix-Webhooks/1.0 (emulated)',
          'svix-id': delivery.id,
          'svix-timestamp': String(timestamp),
          'svix-signature': signWebhook(endpoint.secret, delivery.id, timestamp, delivery.payload),
        },
        body: delivery.payload,
        signal: AbortSignal.timeout(ATTEMPT_TIMEOUT_MS),
      });
      status = answer.status;
      await answer.body?.cancel();
    } catch {
      status = 0;
    }
    delivery.attempts += 1;
    delivery.statuses.push(status);
    if (status >= 200 && status < 300) {
      delivery.state = 'delivered';
      return;
    }
    const wait = this.retryDelaysMs[delivery.attempts - 1];
    if (wait === undefined || !this.endpoints.includes(endpoint)) {
      delivery.state = 'failed';
      return;
    }
    this.timers.after(wait, () => void this.attempt(endpoint, delivery));
  }

  /** Re-sends a delivery as Resend's dashboard "replay" does: the same id and body, signed anew. */
  replay(deliveryId: string): WebhookDelivery | undefined {
    const delivery = this.deliveries.find((candidate) => candidate.id === deliveryId);
    const endpoint = this.endpoints.find((candidate) => candidate.id === delivery?.endpointId);
    if (!delivery || !endpoint) return undefined;
    delivery.state = 'pending';
    this.timers.soon(() => void this.attempt(endpoint, delivery));
    return delivery;
  }

  /** Endpoints stay (they are configuration); deliveries go. */
  clear(): void {
    this.deliveries.length = 0;
  }
}
