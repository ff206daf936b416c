import type { FaultConfig } from '../common/faults.js';

export type { FaultConfig, RateLimitStorm, RouteMatcher } from '../common/faults.js';

export interface ResendEmulatorOptions {
  /** 0 = any free port (default 0 in-process). */
  port?: number;
  /** Default '127.0.0.1'. */
  host?: string;
  /** Requests per second per team, default 10. */
  rateLimit?: number;
  /** Accepted keys; default: any key matching /^re_\w+$/. */
  apiKeys?: string[];
  /** Seed of the fault randomness, default 1. */
  seed?: number;
  /** A duplicate `POST /contacts` resets the fields it omits to their defaults. Default true. */
  resetOmittedFieldsOnDuplicateCreate?: boolean;
  /** Initial faults, default none. */
  faults?: FaultConfig;
  /** Max entries kept in the request log (a ring), default 100_000. */
  requestLogLimit?: number;
  /** Team of each key, for the per-team rate limit. Keys not listed belong to the team `default`. */
  apiKeyTeams?: Record<string, string>;
  /** Contact `properties` must name a key created through `/contact-properties`. Default true. */
  requireDefinedProperties?: boolean;
  /** How long a contact import stays `queued` before it is processed, default 25 ms. */
  importQueuedMs?: number;
  /** Largest CSV accepted by `POST /contacts/imports`, default 50 MB. */
  importMaxBytes?: number;
  /** Webhook endpoints configured at start (a secret is generated when omitted). */
  webhooks?: { url: string; secret?: string }[];
  /** Waits between delivery attempts of a webhook; see {@link DEFAULT_RETRY_DELAYS_MS}. */
  webhookRetryDelaysMs?: number[];
}

/** Options with every default applied. */
export interface ResolvedOptions {
  port: number;
  host: string;
  rateLimit: number;
  apiKeys: readonly string[] | undefined;
  seed: number;
  resetOmittedFieldsOnDuplicateCreate: boolean;
  faults: FaultConfig;
  requestLogLimit: number;
  apiKeyTeams: Readonly<Record<string, string>>;
  requireDefinedProperties: boolean;
  importQueuedMs: number;
  importMaxBytes: number;
  webhooks: readonly { url: string; secret?: string }[];
  webhookRetryDelaysMs: readonly number[] | undefined;
}

export const DEFAULT_RATE_LIMIT = 10;
export const DEFAULT_SEED = 1;

export function resolveOptions(options: ResendEmulatorOptions = {}): ResolvedOptions {
  return {
    port: options.port ?? 0,
    host: options.host ?? '127.0.0.1',
    rateLimit: options.rateLimit ?? DEFAULT_RATE_LIMIT,
    apiKeys: options.apiKeys,
    seed: options.seed ?? DEFAULT_SEED,
    resetOmittedFieldsOnDuplicateCreate: options.resetOmittedFieldsOnDuplicateCreate ?? true,
    faults: options.faults ?? {},
    requestLogLimit: options.requestLogLimit ?? 100_000,
    apiKeyTeams: options.apiKeyTeams ?? {},
    requireDefinedProperties: options.requireDefinedProperties ?? true,
    importQueuedMs: options.importQueuedMs ?? 25,
    importMaxBytes: options.importMaxBytes ?? 50 * 1024 * 1024,
    webhooks: options.webhooks ?? [],
    webhookRetryDelaysMs: options.webhookRetryDelaysMs,
  };
}
