import { setMaxListeners } from 'node:events';
import type { PlatformContext } from './platform.js';
import type { RequestGate } from './request-gate.js';

/** How a platform client sends requests: through the account's gate, for one activity attempt. */
export interface ExchangeOptions {
  gate: RequestGate;
  /** Aborts waits and requests when the activity is cancelled or the worker shuts down. */
  signal: AbortSignal;
  /** Called on every HTTP answer, whatever its status. */
  onAnswer(): void;
  /** Per request; a request without an answer by then counts as a timeout. */
  requestTimeoutMs?: number;
  /** Transient failures (5xx, timeouts) of idempotent calls are retried this many times. */
  transientRetries?: number;
}

/** A platform's settings for its requests; unset, the client's defaults apply. */
export interface ExchangeSettings {
  requestTimeoutMs?: number | undefined;
  transientRetries?: number | undefined;
}

/** A client's exchange options from the platform's settings and the activity's context. */
export const exchangeOptions = (
  settings: ExchangeSettings,
  context: Pick<PlatformContext, 'gate' | 'signal' | 'onAnswer'>,
): ExchangeOptions => ({
  gate: context.gate,
  signal: context.signal,
  onAnswer: context.onAnswer,
  ...(settings.requestTimeoutMs ? { requestTimeoutMs: settings.requestTimeoutMs } : {}),
  ...(settings.transientRetries !== undefined
    ? { transientRetries: settings.transientRetries }
    : {}),
});

/** What every exchange of one client shares: the account's gate, the attempt's signal, limits. */
export interface ExchangeContext {
  gate: RequestGate;
  signal: AbortSignal;
  onAnswer: () => void;
  timeoutMs: number;
  retries: number;
}

/** A client's exchange context, with the defaults for what its options leave out. */
export function exchangeContext(options: ExchangeOptions): ExchangeContext {
  // Every request in flight and every wait listens for the activity's cancellation.
  setMaxListeners(256, options.signal);
  return {
    gate: options.gate,
    signal: options.signal,
    onAnswer: () => options.onAnswer(),
    timeoutMs: options.requestTimeoutMs ?? 15_000,
    retries: options.transientRetries ?? 4,
  };
}
