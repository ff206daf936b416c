import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { TimerRegistry } from './timers.js';

/**
 * Webhook endpoints and their deliveries as Standard Webhooks (and Svix, which Resend uses) send
 * them: headers `<prefix>-id` (the same on every retry of one message), `<prefix>-timestamp`
 * (seconds, of this attempt) and `<prefix>-signature` (`v1,` + base64 HMAC-SHA256 of
 * `id.timestamp.body` keyed with the secret's base64 part), retried with backoff until an
 * attempt answers 2xx.
 */

export interface WebhookEndpoint<Event extends string> {
  id: string;
  url: string;
  /** `whsec_` + base64 of the key bytes, as the platform shows it. */
  secret: string;
  /** Event types it receives; all of them when empty. */
  events: Event[];
}

export interface WebhookDelivery<Event extends string> {
  /** The message id (`<prefix>-id`). */
  id: string;
  endpointId: string;
  type: Event;
  payload: string;
  attempts: number;
  /** Status of each attempt; 0 when the request itself failed. */
  statuses: number[];
  state: 'pending' | 'delivered' | 'failed';
}

/** How one platform's deliveries look on the wire. */
export interface WebhookStyle {
  /** `svix` (svix-id, …) or `webhook` (webhook-id, …, the Standard Webhooks names). */
  headerPrefix: string;
  userAgent: string;
}

/**
 * Delays between attempts. Svix waits 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h; the emulators
 * keep the shape but shrink the waits so tests see retries within seconds.
 */
export const DEFAULT_RETRY_DELAYS_MS = [250, 1_000, 5_000, 30_000];
const ATTEMPT_TIMEOUT_MS = 15_000;
const DELIVERIES_KEPT = 10_000;

export const newWebhookSecret = (): string => `whsec_${randomBytes(24).toString('base64')}`;

/** The Standard Webhooks (Svix) signature of one attempt. */
export function signWebhook(secret: string, id: string, timestamp: number, body: string): string {
  const key = Buffer.from(secret.replace(/^whsec_/, ''), 'base64');
  const digest = createHmac('sha256', key).update(`${id}.${timestamp}.${body}`).digest('base64');
  return `v1,${digest}`;
}

export class WebhookDispatcher<Event extends string> {
  readonly endpoints: WebhookEndpoint<Event>[] = [];
  readonly deliveries: WebhookDelivery<Event>[] = [];
  retryDelaysMs: number[] = [...DEFAULT_RETRY_DELAYS_MS];
  /** First attempts start at most this many a second (queued beyond); undefined: no cap. */
  maxPerSecond: number | undefined;
  private nextStartMs = 0;

  constructor(
    protected readonly timers: TimerRegistry,
    private readonly style: WebhookStyle,
  ) {}

  addEndpoint(input: { url: string; secret?: string; events?: Event[] }): WebhookEndpoint<Event> {
    const endpoint: WebhookEndpoint<Event> = {
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

  /** Whether any endpoint wants this event, so callers can skip building its payload. */
  wants(type: Event): boolean {
    return this.endpoints.some(
      (endpoint) => endpoint.events.length === 0 || endpoint.events.includes(type),
    );
  }

  /** Sends the payload to every endpoint that wants the event; free when there are none. */
  send(type: Event, payload: () => string): void {
    const targets = this.endpoints.filter(
      (endpoint) => endpoint.events.length === 0 || endpoint.events.includes(type),
    );
    if (targets.length === 0) return;
    const body = payload();
    for (const endpoint of targets) {
      const delivery: WebhookDelivery<Event> = {
        id: `msg_${randomBytes(16).toString('base64url')}`,
        endpointId: endpoint.id,
        type,
        payload: body,
        attempts: 0,
        statuses: [],
        state: 'pending',
      };
      this.deliveries.push(delivery);
      if (this.deliveries.length > DELIVERIES_KEPT) this.deliveries.shift();
      this.startPaced(() => void this.attempt(endpoint, delivery));
    }
  }

  /** Starts `work` now, or at the next free slot when first attempts are capped per second. */
  private startPaced(work: () => void): void {
    if (this.maxPerSecond === undefined) {
      this.timers.soon(work);
      return;
    }
    const now = Date.now();
    const startAt = Math.max(now, this.nextStartMs);
    this.nextStartMs = startAt + 1000 / this.maxPerSecond;
    if (startAt <= now) this.timers.soon(work);
    else this.timers.after(startAt - now, work);
  }

  private async attempt(
    endpoint: WebhookEndpoint<Event>,
    delivery: WebhookDelivery<Event>,
  ): Promise<void> {
    const timestamp = Math.floor(Date.now() / 1000);
    const prefix = this.style.headerPrefix;
    let status = 0;
    try {
      const answer = await fetch(endpoint.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': this.style.userAgent,
          [`${prefix}-id`]: delivery.id,
          [`${prefix}-timestamp`]: String(timestamp),
          [`${prefix}-signature`]: signWebhook(
            endpoint.secret,
            delivery.id,
            timestamp,
            delivery.payload,
          ),
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

  /** Re-sends a delivery as a dashboard's "replay" does: the same id and body, signed anew. */
  replay(deliveryId: string): WebhookDelivery<Event> | undefined {
    const delivery = this.deliveries.find((candidate) => candidate.id === deliveryId);
    const endpoint = this.endpoints.find((candidate) => candidate.id === delivery?.endpointId);
    if (!delivery || !endpoint) return undefined;
    delivery.state = 'pending';
    this.timers.soon(() => void this.attempt(endpoint, delivery));
    return delivery;
  }

  /** Endpoints stay (they are configuration); deliveries and the pacing go. */
  clear(): void {
    this.deliveries.length = 0;
    this.nextStartMs = 0;
  }
}
