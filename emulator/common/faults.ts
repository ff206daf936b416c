import { type RandomSource, seededStream } from './random.js';
import { compilePathPattern } from './route-pattern.js';

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

/** Faults injected into the emulated API paths. Fractions are in [0, 1]; every field is optional. */
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

/** What the injector decided for one admitted request. */
export interface FaultPlan {
  hang: boolean;
  latencyMs: number;
  serverErrorStatus: 500 | 502 | 503 | undefined;
  acceptThenFail: boolean;
}

export interface StormDecision {
  retryAfterSeconds: number;
}

type RequestMatcher = (method: string, path: string) => boolean;

function compileMatcher(route: RouteMatcher | undefined): RequestMatcher {
  if (!route) return () => true;
  const pattern = compilePathPattern(route.path);
  const method = route.method?.toUpperCase();
  return (requestMethod, path) =>
    (method === undefined || method === requestMethod) && pattern.match(path) !== undefined;
}

interface Streams {
  storm: RandomSource;
  hang: RandomSource;
  latency: RandomSource;
  serverError: RandomSource;
  acceptThenFail: RandomSource;
}

function createStreams(seed: number): Streams {
  return {
    storm: seededStream(seed, 'storm'),
    hang: seededStream(seed, 'hang'),
    latency: seededStream(seed, 'latency'),
    serverError: seededStream(seed, 'server-error'),
    acceptThenFail: seededStream(seed, 'accept-then-fail'),
  };
}

/**
 * Decides, from a seeded generator per fault kind, which requests get which fault. A draw is made
 * only for a configured fault whose route matches, in a fixed order, so the same seed and the
 * same request sequence give the same faults.
 */
export class FaultInjector {
  private config: FaultConfig = {};
  private seed: number;
  private streams: Streams;
  private setAtMs = 0;
  private matchers: Record<
    'storm' | 'hang' | 'latency' | 'serverError' | 'acceptThenFail',
    RequestMatcher
  >;

  constructor(seed: number) {
    this.seed = seed;
    this.streams = createStreams(seed);
    this.matchers = this.compile({});
  }

  set(config: FaultConfig, nowMs: number, seed?: number): void {
    this.config = structuredClone(config);
    this.setAtMs = nowMs;
    this.matchers = this.compile(config);
    if (seed !== undefined) {
      this.seed = seed;
      this.streams = createStreams(seed);
    }
  }

  describe(): FaultConfig & { seed: number } {
    return { ...structuredClone(this.config), seed: this.seed };
  }

  storm(method: string, path: string, nowMs: number): StormDecision | undefined {
    const storm = this.config.rateLimitStorm;
    if (!storm || !this.matchers.storm(method, path)) return undefined;
    const endsAt =
      storm.untilMs ??
      (storm.durationMs === undefined ? undefined : this.setAtMs + storm.durationMs);
    if (endsAt !== undefined && nowMs >= endsAt) return undefined;
    if (!this.draw(this.streams.storm, storm.rate ?? 1)) return undefined;
    return { retryAfterSeconds: storm.retryAfterSeconds ?? 1 };
  }

  plan(method: string, path: string): FaultPlan {
    const config = this.config;
    const hang =
      this.matchers.hang(method, path) && this.draw(this.streams.hang, config.hangRate ?? 0);
    let latencyMs = 0;
    if ((config.latencyMs || config.latencyJitterMs) && this.matchers.latency(method, path)) {
      const jitter = config.latencyJitterMs
        ? Math.floor(this.streams.latency() * config.latencyJitterMs)
        : 0;
      latencyMs = (config.latencyMs ?? 0) + jitter;
    }
    const serverError =
      this.matchers.serverError(method, path) &&
      this.draw(this.streams.serverError, config.serverErrorRate ?? 0);
    const acceptThenFail =
      this.matchers.acceptThenFail(method, path) &&
      this.draw(this.streams.acceptThenFail, config.acceptThenFailRate ?? 0);
    return {
      hang,
      latencyMs,
      serverErrorStatus: serverError ? (config.serverErrorStatus ?? 500) : undefined,
      acceptThenFail,
    };
  }

  /** True with probability `rate`; draws nothing when the answer is certain. */
  private draw(stream: RandomSource, rate: number): boolean {
    if (rate <= 0) return false;
    if (rate >= 1) return true;
    return stream() < rate;
  }

  private compile(config: FaultConfig) {
    return {
      storm: compileMatcher(config.rateLimitStorm?.route),
      hang: compileMatcher(config.hangRoute),
      latency: compileMatcher(config.latencyRoute),
      serverError: compileMatcher(config.serverErrorRoute),
      acceptThenFail: compileMatcher(config.acceptThenFailRoute),
    };
  }
}
