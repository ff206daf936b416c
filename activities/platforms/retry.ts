import pRetry from 'p-retry';
import { platformUnavailable } from './platform.js';

/** An answer that may heal by itself (5xx, no answer, a timeout): worth asking again. */
export class TransientAnswer extends Error {
  constructor(readonly code: string) {
    super(`transient platform answer: ${code}`);
  }
}

/**
 * Runs an idempotent call again while it throws TransientAnswer, with backoff, `retries` times;
 * then the platform is unavailable (`platform_unavailable`, which Temporal's retry heals).
 */
export async function retryTransient<T>(
  attempt: () => Promise<T>,
  options: { platform: string; operation: string; retries: number; signal: AbortSignal },
): Promise<T> {
  try {
    return await pRetry(attempt, {
      retries: options.retries,
      minTimeout: 250,
      maxTimeout: 5000,
      randomize: true,
      shouldRetry: ({ error }) => error instanceof TransientAnswer,
      signal: options.signal,
    });
  } catch (error) {
    if (error instanceof TransientAnswer) {
      throw platformUnavailable(
        `${options.platform} ${options.operation} kept failing (${error.code})`,
      );
    }
    throw error;
  }
}
