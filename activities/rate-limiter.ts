import { setTimeout as sleep } from 'node:timers/promises';
import type { Sql } from '../db/sql.js';

/**
 * A request-rate limiter shared by every worker through Postgres. Each request takes a slot from
 * `acquire_rate_slot`, which keeps at most `limit` grants in any window (a sliding log, so a
 * pause between batches is caught up instead of lost) and honours pauses set after a 429.
 */
export interface RateLimiter {
  /** Waits until this request may be sent. */
  acquire(signal?: AbortSignal): Promise<void>;
  /** Holds every worker's requests for `ms` (a 429's retry-after). */
  pause(ms: number): Promise<void>;
  /** Learns from a platform's rate-limit headers. */
  observe(headers: Record<string, string> | null): Promise<void>;
  /** The limit in force: learned from headers, capped by the configured bound. */
  readonly limit: number;
}

export interface RateLimiterOptions {
  /** One limiter per platform account. */
  key: string;
  /** RESEND_RATE_LIMIT: never exceed it, whatever the headers say. */
  upperBound?: number | undefined;
  /** Until the first answer teaches the real limit (2 is the lowest Resend has used). */
  initialLimit?: number;
  /**
   * Added to the one-second window. Requests leave in order but arrive with a little jitter;
   * the margin keeps a late arrival from landing in the next window of a fixed-window server.
   */
  marginMs?: number;
}

const headerNumber = (headers: Record<string, string>, name: string): number | undefined => {
  const value = Number.parseInt(headers[name] ?? '', 10);
  return Number.isFinite(value) ? value : undefined;
};

export function createRateLimiter(sql: Sql, options: RateLimiterOptions): RateLimiter {
  const bound = options.upperBound ?? Number.POSITIVE_INFINITY;
  let learned = options.initialLimit ?? 2;
  const windowMs = 1000 + (options.marginMs ?? 5);
  const window = `${windowMs} milliseconds`;
  const effectiveLimit = () => Math.max(1, Math.min(bound, learned));

  return {
    get limit() {
      return effectiveLimit();
    },

    async acquire(signal) {
      const [row] = await sql<{ slot: Date }[]>`
        select audience_sync.acquire_rate_slot(${options.key}, ${effectiveLimit()},
          ${window}::interval) as slot`;
      const waitMs = (row?.slot.getTime() ?? 0) - Date.now();
      if (waitMs > 0) await sleep(waitMs, undefined, signal ? { signal } : {});
    },

    async pause(ms) {
      await sql`
        insert into audience_sync.rate_limits (key, blocked_until)
        values (${options.key}, clock_timestamp() + ${`${Math.ceil(ms)} milliseconds`}::interval)
        on conflict (key) do update
          set blocked_until = greatest(audience_sync.rate_limits.blocked_until, excluded.blocked_until)`;
    },

    async observe(headers) {
      if (!headers) return;
      const limit = headerNumber(headers, 'ratelimit-limit');
      if (limit && limit > 0) learned = limit;
      const remaining = headerNumber(headers, 'ratelimit-remaining');
      const resetSeconds = headerNumber(headers, 'ratelimit-reset');
      if (remaining !== 0 || resetSeconds === undefined) return;
      // The window is spent. If our own grants did not spend it, someone else shares the
      // account's budget: hold until the platform's window resets.
      await sql`
        update audience_sync.rate_limits
        set blocked_until = greatest(blocked_until,
          clock_timestamp() + ${`${resetSeconds} seconds`}::interval)
        where key = ${options.key}
          and (select count(*) from unnest(recent) as granted
               where granted > clock_timestamp() - ${window}::interval) < ${effectiveLimit()} * 0.9`;
    },
  };
}
