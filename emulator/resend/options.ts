/** Selects requests by method and path, e.g. `{ method: 'POST', path: '/contacts/:id/segments/:segmentId' }`. */
export interface RouteMatcher {
  /** HTTP method; any method when omitted. */
  method?: string;
  /** An exact path, or a pattern whose `:name` segments match any single path segment. */
  path: string;
}

/** A period during which requests are answered 429 whatever the rate limit says. */
export interface RateLimitStorm {
  /** The storm ends at this epoch millisecond. */
  untilMs?: number;
  /** The storm ends this long after the faults were set (ignored when `untilMs` is given). */
  durationMs?: number;
  /** Fraction of matching requests answered 429, default 1. */
  rate?: number;
  /** Value of the `retry-after` header, default 1. */
  retryAfterSeconds?: number;
  route?: RouteMatcher;
}

/** Faults injected into the Resend paths. Fractions are in [0, 1]; every field is optional. */
export interface FaultConfig {
  /** Fraction of requests answered with a 5xx before anything is written. */
  serverErrorRate?: number;
  serverErrorStatus?: 500 | 502 | 503;
  serverErrorRoute?: RouteMatcher;
  /** Fraction of successful writes that are applied but answered with a 500. */
  acceptThenFailRate?: number;
  acceptThenFailRoute?: RouteMatcher;
  /** Fixed delay added before a request is handled. */
  latencyMs?: number;
  /** Extra delay drawn uniformly from [0, latencyJitterMs). */
  latencyJitterMs?: number;
  latencyRoute?: RouteMatcher;
  /** Fraction of requests that are never answered (until the client or the emulator closes). */
  hangRate?: number;
  hangRoute?: RouteMatcher;
  rateLimitStorm?: RateLimitStorm;
}

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
