import type { z } from 'zod';
import type { ConsentFact, ConsentSubject, ContactDirectoryHooks } from '../../db/consent.js';
import type { Migration } from '../../db/migrations.js';
import type { PlatformLimit, PlatformModule } from './platform.js';
import type { RequestGate } from './request-gate.js';

/**
 * What a platform declares about itself, for every process: the registry
 * (activities/platforms/registry.ts) lists these, and the configuration, request validation,
 * `/openapi.json`, the webhook routes, the migrations, `npm run dev`, `.env.example` and
 * docker-compose.yml derive from them. A declaration is light (no SDK, no client): the API and
 * the configuration load it. The sync client (`MarketingPlatform`) is loaded by workers only.
 */
export interface PlatformDeclaration<Fields extends z.ZodRawShape = z.ZodRawShape> {
  /** The `platform` value of a sync request, and the folder's name. */
  readonly name: string;
  /** How people write it ("Resend"). */
  readonly title: string;
  /**
   * Its environment variables, validated with the rest of the configuration by the API and the
   * worker alike (both read them: the API to know whether the platform is configured and for its
   * webhook secret, the worker to reach it).
   */
  readonly settings: Fields;
  /** The variable holding the credentials: set means the platform is configured. */
  readonly credential: keyof Fields & string;
  /** The variable of the API's address (an emulator's, or the platform's own by default). */
  readonly endpointSetting: keyof Fields & string;
  /** How the platform limits an account, from its settings. */
  limit(settings: z.infer<z.ZodObject<Fields>>): PlatformLimit;
  readonly capabilities: PlatformCapabilities;
  /** Its webhook route, when the platform sends signed events. */
  readonly webhook?: WebhookDeclaration<Fields>;
  /** Its own tables, applied after the service's migrations (see db/migrate.ts). */
  readonly migrations: readonly Migration[];
  /** Its contact directory, when it keeps one, as consent records need it. */
  readonly contactDirectory?: ContactDirectoryHooks;
  /** Its emulator, which `npm run dev` starts unless the credentials are set. */
  readonly emulator?: EmulatorDeclaration;
  /**
   * The sync client for the worker, loaded on demand. Absent: the platform is declared
   * (settings, webhooks, emulator) but this version cannot sync with it yet; `POST /sync`
   * naming it answers `501 platform_not_available`.
   */
  client?(settings: z.infer<z.ZodObject<Fields>>): Promise<PlatformModule>;
}

/** What a platform can do; request validation and the documentation follow it. */
export interface PlatformCapabilities {
  /** Lists can be created through its API: a sync without `list_id` creates one. */
  readonly createsLists: boolean;
  /** `tags` are lists of that name on it (found or created once). */
  readonly tagsAsLists: boolean;
  /** It creates many new contacts in one job (bulk creation). */
  readonly bulkCreation: boolean;
  /** The types its contact properties take. */
  readonly propertyTypes: readonly ('string' | 'number' | 'boolean' | 'date')[];
  /** Its rule for property keys, in the words of `properties` errors. */
  readonly propertyKey: { pattern: RegExp; description: string };
  /**
   * Joining a list subscribes the contact to it, and leaving it unsubscribes: a contact that left
   * a list is not put back (Loops' mailing lists). False: a list is a group (Resend's segments).
   */
  readonly listIsSubscription: boolean;
  /** What its lists are called, for messages ("segment", "mailing list"). */
  readonly listWord: string;
}

/** The facts one webhook event carries; `fact` null: an event that changes no consent. */
export interface WebhookFacts {
  subject: ConsentSubject;
  fact: ConsentFact | null;
}

/** The signature headers of a delivery (Standard Webhooks: id, timestamp, signature). */
export interface SignatureHeaders {
  id: string;
  timestamp: string;
  signature: string;
}

export interface WebhookDeclaration<Fields extends z.ZodRawShape = z.ZodRawShape> {
  /** The setting holding the endpoint's signing secret (unset: the route answers 503). */
  readonly secretSetting: keyof Fields & string;
  /** Where the platform's dashboard shows the secret, for the 503's message. */
  readonly secretHint: string;
  /** Names of the signature headers, in the order id, timestamp, signature. */
  readonly headers: SignatureHeaders;
  /** Events that carry consent, for the documentation. */
  readonly consentEvents: readonly string[];
  /** Verifies the raw body against the secret; throws when the signature does not match. */
  verify(payload: string, headers: SignatureHeaders, secret: string): unknown;
  /** What a verified event says; null for a body that is not an event of this platform. */
  factsOf(event: unknown): WebhookFacts | null;
  /**
   * Registers the endpoint with the platform, where its API allows it (the worker calls it at
   * start when PUBLIC_URL is set and no secret is configured); answers the endpoint's id and
   * signing secret. `previous`: what this account registered before, reused when the url is the
   * same and replaced otherwise. Every request goes through `gate`, the account's request gate.
   */
  register?(
    settings: Record<string, unknown>,
    request: { url: string; previous?: RegisteredWebhook; gate: RequestGate },
  ): Promise<RegisteredWebhook>;
}

export interface RegisteredWebhook {
  endpointId: string;
  url: string;
  events: readonly string[];
  secret: string;
}

/** The platform's emulator for `npm run dev`, tests and the bench. */
export interface EmulatorDeclaration {
  /** Dev-only variables: the port and the requests per second it allows, with defaults. */
  readonly port: { variable: string; default: number };
  readonly rateLimit: { variable: string; default: number };
  /** The credentials the local stack gives the service while the emulator runs. */
  readonly devCredential: string;
  /** Starts it on this machine; the stack configures the service with `settings`. */
  start(options: {
    port: number;
    rateLimit: number;
    webhookSecret?: string;
  }): Promise<StartedPlatformEmulator>;
}

export interface StartedPlatformEmulator {
  url: string;
  /** The platform's settings pointing at the emulator (credentials, base URL, webhook secret). */
  settings: Record<string, string>;
  /** Sends the emulator's signed events to this URL (the local API's webhook route). */
  sendWebhooksTo(url: string): Promise<void>;
  /** For the banner: what runs, and a list a sync may use (a demo list), when it has one. */
  describe(): { summary: string; webhooks?: string; demoList?: { id: string; name: string } };
  close(): Promise<void>;
}
