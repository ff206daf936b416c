import { Resend } from 'resend';
import { metrics } from '../../../telemetry/metrics.js';
import { type ExchangeContext, type ExchangeOptions, exchangeContext } from '../client-options.js';
import { platformAuthFailed } from '../platform.js';
import { retryTransient, TransientAnswer } from '../retry.js';
import {
  type AnswerClass,
  classifyAnswer,
  parseRateLimitHeaders,
  retryAfterMs,
  type SdkAnswer,
} from './answers.js';

export interface ResendClientOptions extends ExchangeOptions {
  apiKey: string;
  baseUrl: string;
}

/** A call of the SDK, given the signal that ends it. */
export type SdkCall<T> = (signal: AbortSignal) => Promise<SdkAnswer<T>>;

/** An answer that was not an outage: the data, or Resend's final word on this request. */
export interface Answer<T> {
  answer: SdkAnswer<T>;
  kind: Exclude<AnswerClass, 'rate_limited' | 'transient' | 'auth_failed'>;
}

const timedOut = (): SdkAnswer<never> => ({
  data: null,
  error: { name: 'request_timeout', statusCode: null, message: 'No answer in time' },
  headers: null,
});

/**
 * Runs a call with its own timer. The timer aborts the request and also settles the wait by
 * itself, so a request that ignores its signal cannot hold a batch (a timer combined through
 * `AbortSignal.any` can be collected on Node 20 and never fire).
 */
async function withTimeout<T>(
  call: SdkCall<T>,
  timeoutMs: number,
  outer: AbortSignal,
): Promise<SdkAnswer<T>> {
  const controller = new AbortController();
  const abort = () => controller.abort(outer.reason);
  outer.addEventListener('abort', abort, { once: true });
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<SdkAnswer<T>>((resolve) => {
    timer = setTimeout(() => {
      controller.abort(new Error('request timed out'));
      resolve(timedOut());
    }, timeoutMs);
  });
  try {
    return await Promise.race([call(controller.signal), expired]);
  } finally {
    clearTimeout(timer);
    outer.removeEventListener('abort', abort);
  }
}

/**
 * One HTTP exchange: sends when the gate allows, waits out 429s without giving up.
 * `refusalIsAnswer`: a 403 is this endpoint's answer (e.g. a beta the account lacks), not a
 * refused key, so it comes back as a rejection instead of ending the work.
 */
async function exchange<T>(
  { gate, signal, onAnswer, timeoutMs }: ExchangeContext,
  operation: string,
  call: SdkCall<T>,
  refusalIsAnswer = false,
): Promise<SdkAnswer<T>> {
  for (;;) {
    const answer = await gate.run(() => withTimeout(call, timeoutMs, signal), signal);
    signal.throwIfAborted();
    const status = answer.error ? (answer.error.statusCode ?? 0) : 200;
    metrics.platformResponses.inc({ platform: 'resend', operation, status: String(status) });
    if (status !== 0) onAnswer();
    const limits = parseRateLimitHeaders(answer.headers);
    if (limits.limit) gate.learnLimit(limits.limit);
    if (limits.remaining === 0 && limits.resetSeconds !== undefined) {
      await gate.windowSpent(limits.resetSeconds * 1000);
    }
    const kind = classifyAnswer(answer);
    if (kind === 'auth_failed' && refusalIsAnswer && answer.error?.statusCode === 403) {
      return answer;
    }
    if (kind === 'auth_failed') {
      throw platformAuthFailed(
        `Resend refused the API key (${answer.error?.statusCode} ${answer.error?.name})`,
      );
    }
    if (kind !== 'rate_limited') return answer;
    metrics.rateLimited.inc({ platform: 'resend' });
    await gate.pause(retryAfterMs(answer.headers));
  }
}

const settled = <T>(answer: SdkAnswer<T>): Answer<T> => {
  const kind = classifyAnswer(answer);
  // Only a refusal the caller asked to see gets here as auth_failed: it is this request's.
  return { answer, kind: kind === 'auth_failed' ? 'rejected' : (kind as Answer<T>['kind']) };
};

/** An idempotent call: transient failures are retried with backoff, then thrown. */
const idempotent = <T>(
  context: ExchangeContext,
  operation: string,
  call: SdkCall<T>,
): Promise<Answer<T>> =>
  retryTransient(
    async () => {
      const answer = await exchange(context, operation, call);
      if (classifyAnswer(answer) === 'transient') {
        throw new TransientAnswer(answer.error?.name ?? 'unknown');
      }
      return settled(answer);
    },
    { platform: 'Resend', operation, retries: context.retries, signal: context.signal },
  );

/**
 * A create that is not idempotent: a transient failure may hide a write, so it comes back
 * as `ambiguous` for the caller to resolve.
 */
async function create<T>(
  context: ExchangeContext,
  operation: string,
  call: SdkCall<T>,
  options: { refusalIsAnswer?: boolean } = {},
): Promise<Answer<T> | { kind: 'ambiguous'; code: string }> {
  const answer = await exchange(context, operation, call, options.refusalIsAnswer);
  if (classifyAnswer(answer) === 'transient') {
    return { kind: 'ambiguous', code: answer.error?.name ?? 'unknown' };
  }
  return settled(answer);
}

/**
 * Resend's HTTP side through the official SDK: every request passes the account's gate, 429s are
 * waited out (shared by every worker), 5xx answers and timeouts are retried with backoff for
 * idempotent calls, and a refused key ends the work at once.
 */
export function createResendClient(options: ResendClientOptions) {
  const sdk = new Resend(options.apiKey, { baseUrl: options.baseUrl });
  const context = exchangeContext(options);
  return {
    sdk,
    /** An idempotent call: transient failures are retried with backoff, then thrown. */
    idempotent: <T>(operation: string, call: SdkCall<T>): Promise<Answer<T>> =>
      idempotent(context, operation, call),
    /** A create that is not idempotent: a transient failure comes back as `ambiguous`. */
    create: <T>(
      operation: string,
      call: SdkCall<T>,
      createOptions: { refusalIsAnswer?: boolean } = {},
    ): Promise<Answer<T> | { kind: 'ambiguous'; code: string }> =>
      create(context, operation, call, createOptions),
  };
}

export type ResendClient = ReturnType<typeof createResendClient>;
