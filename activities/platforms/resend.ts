import { createHash } from 'node:crypto';
import { setMaxListeners } from 'node:events';
import pRetry from 'p-retry';
import { Resend } from 'resend';
import { metrics } from '../../telemetry/metrics.js';
import type { RateLimiter } from '../rate-limiter.js';
import {
  type ContactPage,
  type MarketingPlatform,
  type PlatformList,
  type PlatformResult,
  PlatformUnavailableError,
} from './platform.js';

/** The shape every `resend` SDK call resolves to. */
type SdkAnswer<T> = {
  data: T | null;
  error: { name: string; statusCode: number | null; message: string } | null;
  headers: Record<string, string> | null;
};

export interface ResendPlatformOptions {
  apiKey: string;
  baseUrl: string;
  limiter: RateLimiter;
  /** Per request; a request without an answer by then counts as a timeout. */
  requestTimeoutMs?: number;
  /** Transient failures (5xx, timeouts) are retried this many times before giving up. */
  transientRetries?: number;
  /** Cancels waits and requests when the activity is cancelled or the worker shuts down. */
  signal?: AbortSignal;
}

/** The account id used to key shared state: a hash, so the key itself is never stored. */
export const resendAccountId = (apiKey: string): string =>
  `resend:${createHash('sha256').update(apiKey).digest('hex').slice(0, 16)}`;

class TransientAnswer extends Error {
  constructor(readonly code: string) {
    super(`transient platform answer: ${code}`);
  }
}

const isTransient = (error: NonNullable<SdkAnswer<unknown>['error']>): boolean =>
  error.statusCode === null || error.statusCode >= 500;

const retryAfterMs = (headers: Record<string, string> | null): number => {
  const value = headers?.['retry-after'];
  const seconds = value === undefined ? Number.NaN : Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = value === undefined ? Number.NaN : Date.parse(value);
  return Number.isFinite(date) ? Math.max(0, date - Date.now()) : 1000;
};

/**
 * Resend through the official SDK, under the shared rate limiter. Segments are Resend's lists.
 */
export function createResendPlatform(options: ResendPlatformOptions): MarketingPlatform {
  const resend = new Resend(options.apiKey, { baseUrl: options.baseUrl });
  // Every request in flight and every wait listens for the activity's cancellation.
  if (options.signal) setMaxListeners(256, options.signal);
  const timeoutMs = options.requestTimeoutMs ?? 15_000;
  const retries = options.transientRetries ?? 4;

  /** One HTTP exchange: waits for a slot, sends, and waits out 429s without giving up. */
  async function exchange<T>(
    operation: string,
    call: (signal: AbortSignal) => Promise<SdkAnswer<T>>,
  ): Promise<SdkAnswer<T>> {
    for (;;) {
      await options.limiter.acquire(options.signal);
      const timeout = AbortSignal.timeout(timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      const answer = await call(signal);
      options.signal?.throwIfAborted();
      const status = answer.error ? (answer.error.statusCode ?? 0) : 200;
      metrics.platformResponses.inc({ platform: 'resend', operation, status: String(status) });
      await options.limiter.observe(answer.headers);
      if (answer.error?.statusCode !== 429) return answer;
      metrics.rateLimited.inc({ platform: 'resend' });
      await options.limiter.pause(retryAfterMs(answer.headers));
    }
  }

  /** An idempotent call: transient failures are retried with backoff, then thrown. */
  async function idempotent<T>(
    operation: string,
    call: (signal: AbortSignal) => Promise<SdkAnswer<T>>,
  ): Promise<SdkAnswer<T>> {
    try {
      return await pRetry(
        async () => {
          const answer = await exchange(operation, call);
          if (answer.error && isTransient(answer.error))
            throw new TransientAnswer(answer.error.name);
          return answer;
        },
        {
          retries,
          minTimeout: 250,
          maxTimeout: 5000,
          randomize: true,
          shouldRetry: ({ error }) => error instanceof TransientAnswer,
          ...(options.signal ? { signal: options.signal } : {}),
        },
      );
    } catch (error) {
      if (error instanceof TransientAnswer) {
        throw new PlatformUnavailableError(`Resend ${operation} kept failing (${error.code})`);
      }
      throw error;
    }
  }

  /** A create that is not idempotent: a transient failure may hide a write, so it is reported. */
  async function create<T>(
    operation: string,
    call: (signal: AbortSignal) => Promise<SdkAnswer<T>>,
  ): Promise<PlatformResult<T>> {
    const answer = await exchange(operation, call);
    if (answer.error) {
      if (isTransient(answer.error))
        return { ok: false, kind: 'ambiguous', code: answer.error.name };
      return toFailure(answer.error);
    }
    return { ok: true, value: answer.data as T };
  }

  const toFailure = (
    error: NonNullable<SdkAnswer<unknown>['error']>,
  ): Exclude<PlatformResult<never>, { ok: true }> =>
    error.statusCode === 404
      ? { ok: false, kind: 'not_found', code: error.name }
      : { ok: false, kind: 'rejected', code: error.name, status: error.statusCode ?? 0 };

  const toResult = (answer: SdkAnswer<unknown>): PlatformResult<void> =>
    answer.error ? toFailure(answer.error) : { ok: true, value: undefined };

  return {
    name: 'resend',
    account: resendAccountId(options.apiKey),

    async getList(listId) {
      const answer = await idempotent('segments.get', (signal) =>
        resend.segments.get(listId, { signal }),
      );
      if (answer.error?.statusCode === 404) return null;
      if (answer.error || !answer.data) {
        throw new PlatformUnavailableError(`Resend segments.get answered ${answer.error?.name}`);
      }
      return { id: answer.data.id, name: answer.data.name };
    },

    async findListsByName(name) {
      const matches: (PlatformList & { createdAt: string })[] = [];
      let after: string | undefined;
      for (;;) {
        const answer = await idempotent('segments.list', (signal) =>
          resend.segments.list(after ? { limit: 100, after } : { limit: 100 }, { signal }),
        );
        if (answer.error || !answer.data) {
          throw new PlatformUnavailableError(`Resend segments.list answered ${answer.error?.name}`);
        }
        for (const segment of answer.data.data) {
          if (segment.name === name) matches.push({ ...segment, createdAt: segment.created_at });
        }
        const last = answer.data.data.at(-1);
        if (!answer.data.has_more || !last) break;
        after = last.id;
      }
      return matches
        .sort((a, b) => a.createdAt.localeCompare(b.createdAt))
        .map(({ id, name: listName }) => ({ id, name: listName }));
    },

    async createList(name) {
      const result = await create('segments.create', (signal) =>
        resend.segments.create({ name }, { signal }),
      );
      return result.ok ? { ok: true, value: { id: result.value.id, name } } : result;
    },

    async listContacts(cursor): Promise<ContactPage | undefined> {
      const options =
        cursor && 'before' in cursor
          ? { limit: 100, before: cursor.before }
          : { limit: 100, ...(cursor ? { after: cursor.after } : {}) };
      const answer = await idempotent('contacts.list', (signal) =>
        resend.contacts.list(options, { signal }),
      );
      // A cursor the platform no longer knows (its contact was deleted) is not an outage.
      if (answer.error?.statusCode === 404 || answer.error?.statusCode === 422) return undefined;
      if (answer.error || !answer.data) {
        throw new PlatformUnavailableError(`Resend contacts.list answered ${answer.error?.name}`);
      }
      return {
        contacts: answer.data.data.map((contact) => ({
          id: contact.id,
          email: contact.email,
          createdAt: contact.created_at,
        })),
        hasMore: answer.data.has_more,
      };
    },

    async createContact(contact, listIds) {
      const result = await create('contacts.create', (signal) =>
        resend.contacts.create(
          {
            email: contact.email,
            ...(contact.firstName ? { firstName: contact.firstName } : {}),
            ...(contact.lastName ? { lastName: contact.lastName } : {}),
            segments: listIds.map((id) => ({ id })),
          },
          { signal },
        ),
      );
      return result.ok ? { ok: true, value: { contactId: result.value.id } } : result;
    },

    async addToList(contact, listId) {
      const identifier = contact.includes('@') ? { email: contact } : { contactId: contact };
      const answer = await idempotent('contacts.segments.add', (signal) =>
        resend.contacts.segments.add({ ...identifier, segmentId: listId }, { signal }),
      );
      return toResult(answer);
    },

    async markUnsubscribed(contact) {
      const identifier = contact.includes('@') ? { email: contact } : { id: contact };
      const answer = await idempotent('contacts.update', (signal) =>
        resend.contacts.update({ ...identifier, unsubscribed: true }, { signal }),
      );
      return toResult(answer);
    },
  };
}
