import { LoopsClient } from 'loops';
import { metrics } from '../../../telemetry/metrics.js';
import { type ExchangeContext, type ExchangeOptions, exchangeContext } from '../client-options.js';
import { platformAuthFailed } from '../platform.js';
import { retryTransient, TransientAnswer } from '../retry.js';
import { backoffMs, classifyLoopsError, type LoopsFailure } from './answers.js';

export interface LoopsClientOptions extends ExchangeOptions {
  apiKey: string;
  /** The SDK's apiRoot: Loops' own, or an emulator's. */
  apiRoot: string;
}

/** What a call came to once it was not an outage, a 429 or a refused key. */
export type LoopsAnswer<T> =
  | { kind: 'ok'; data: T }
  | Exclude<LoopsFailure, { kind: 'rate_limited' | 'transient' | 'auth_failed' }>;

interface LoopsExchange extends ExchangeContext {
  sdk: LoopsClient;
}

/**
 * Waits for a call at most `timeoutMs`. The SDK takes no signal, so a request without an answer
 * by then is left behind and counts as a timeout.
 */
async function withTimeout<T>(call: () => Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new TransientAnswer('request_timeout')), timeoutMs);
  });
  try {
    return await Promise.race([call(), expired]);
  } finally {
    clearTimeout(timer);
  }
}

const statusOf = (failure: LoopsFailure | null): string => {
  if (!failure) return '200';
  if (failure.kind === 'rate_limited') return '429';
  // No answer at all (a network failure, our timeout) is status 0, as the metric's help says.
  if (failure.kind === 'transient') {
    return failure.code.startsWith('http_') ? failure.code.slice(5) : '0';
  }
  if (failure.kind === 'auth_failed' || failure.kind === 'rejected') return String(failure.status);
  return failure.kind === 'not_found' ? '404' : '409';
};

/**
 * One exchange through the team's gate: a 429 teaches the gate the limit its headers name and
 * holds every worker, longer after each 429 in a row (Loops sends no Retry-After); a refused key
 * ends the work at once. Answers the data, or the failure that was not a 429.
 */
async function exchange<T>(
  context: LoopsExchange,
  operation: string,
  call: (sdk: LoopsClient) => Promise<T>,
): Promise<{ kind: 'ok'; data: T } | LoopsFailure> {
  for (let limited = 0; ; limited += 1) {
    let outcome: { kind: 'ok'; data: T } | LoopsFailure;
    try {
      const data = await context.gate.run(
        () => withTimeout(() => call(context.sdk), context.timeoutMs),
        context.signal,
      );
      outcome = { kind: 'ok', data };
    } catch (error) {
      outcome =
        error instanceof TransientAnswer
          ? { kind: 'transient', code: error.code }
          : classifyLoopsError(error);
    }
    context.signal.throwIfAborted();
    const failure = outcome.kind === 'ok' ? null : outcome;
    const status = statusOf(failure);
    metrics.platformResponses.inc({ platform: 'loops', operation, status });
    // Loops answered (whatever it said) unless the request got no answer at all.
    if (failure?.kind !== 'transient' || failure.code.startsWith('http_')) context.onAnswer();
    if (failure?.kind === 'auth_failed') {
      throw platformAuthFailed(`Loops refused the API key (${failure.status})`);
    }
    if (failure?.kind !== 'rate_limited') return outcome;
    metrics.rateLimited.inc({ platform: 'loops' });
    if (failure.limit) context.gate.learnLimit(failure.limit);
    await context.gate.pause(backoffMs(limited));
  }
}

/** An idempotent call (reads, updates, deletes): outages are retried with backoff, then thrown. */
const idempotent = <T>(
  context: LoopsExchange,
  operation: string,
  call: (sdk: LoopsClient) => Promise<T>,
): Promise<LoopsAnswer<T>> =>
  retryTransient(
    async () => {
      const outcome = await exchange(context, operation, call);
      if (outcome.kind === 'transient') throw new TransientAnswer(outcome.code);
      return outcome as LoopsAnswer<T>;
    },
    { platform: 'Loops', operation, retries: context.retries, signal: context.signal },
  );

/** A create: an outage may hide a write, so it comes back `ambiguous` for the caller to resolve. */
async function create<T>(
  context: LoopsExchange,
  operation: string,
  call: (sdk: LoopsClient) => Promise<T>,
): Promise<LoopsAnswer<T> | { kind: 'ambiguous'; code: string }> {
  const outcome = await exchange(context, operation, call);
  if (outcome.kind === 'transient') return { kind: 'ambiguous', code: outcome.code };
  return outcome as LoopsAnswer<T>;
}

/**
 * Loops' HTTP side through the official SDK, its apiRoot set from LOOPS_BASE_URL: every request
 * passes the team's gate (shared by every worker), 429s are waited out, outages of idempotent
 * calls are retried, and a refused key ends the work.
 */
export function createLoopsClient(options: LoopsClientOptions) {
  const sdk = new LoopsClient(options.apiKey);
  sdk.apiRoot = options.apiRoot;
  const context: LoopsExchange = { sdk, ...exchangeContext(options) };
  return {
    idempotent: <T>(operation: string, call: (sdk: LoopsClient) => Promise<T>) =>
      idempotent(context, operation, call),
    create: <T>(operation: string, call: (sdk: LoopsClient) => Promise<T>) =>
      create(context, operation, call),
  };
}

export type LoopsApi = ReturnType<typeof createLoopsClient>;
