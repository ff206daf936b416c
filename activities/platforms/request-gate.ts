import { setTimeout as sleep } from 'node:timers/promises';
import pLimit from 'p-limit';
import { groupWhileBusy } from '../../db/grouped-calls.js';
import { recordLearnedLimit } from '../../db/platform-health.js';
import type { Sql } from '../../db/sql.js';
import type { PlatformLimit } from './platform.js';
import { SentTimes } from './sent-times.js';

/**
 * Lets a platform's requests through as fast as its limit allows, for every worker together.
 * Built once per account by the registry from what the platform says of its limit; the platform
 * tells it what it learns from its answers.
 */
export interface RequestGate {
  /** Runs one request when the limit allows it. */
  run<T>(request: () => Promise<T>, signal?: AbortSignal): Promise<T>;
  /** Holds every worker's requests for `ms` (a 429's retry-after); widens the margin. */
  pause(ms: number): Promise<void>;
  /** The limit the platform announced, capped by the configured bound. */
  learnLimit(limit: number): void;
  /**
   * The platform says the window is spent. When our own grants did not spend it, someone else
   * shares the account: hold every worker until the platform's window resets.
   */
  windowSpent(resetMs: number): Promise<void>;
  /** Requests worth keeping in flight at once to use the limit. */
  readonly capacity: number;
}

export function createRequestGate(sql: Sql, account: string, limit: PlatformLimit): RequestGate {
  return limit.kind === 'requests_per_second'
    ? createRateGate(sql, {
        key: account,
        initialLimit: limit.initial,
        upperBound: limit.upperBound,
      })
    : createConnectionGate(limit.connections);
}

export interface RateGateOptions {
  /** One sliding log per platform account. */
  key: string;
  /** Never exceed it, whatever the platform says. */
  upperBound?: number | undefined;
  /** Until the first answer teaches the real limit. */
  initialLimit: number;
  /**
   * Added to the one-second window at first. Requests leave in order but arrive with a little
   * jitter; the margin keeps a late arrival from landing in the next window of a fixed-window
   * server. Each 429 doubles it, up to MAX_MARGIN_MS.
   */
  marginMs?: number;
}

/**
 * The widest margin. On a busy machine arrivals jitter by tens of milliseconds, and every 429
 * holds the whole account for its retry-after (a second, hundreds of requests at high limits),
 * where a margin of 40 ms costs 4% of the limit. Measured at 300/s on 2 busy cores: 5 ms gave
 * 11 429s and 0.86 of the limit, 20 ms none and 0.91.
 */
export const MAX_MARGIN_MS = 40;

/** Requests of one process granted together at most, in one call to Postgres. */
const MAX_SLOTS_PER_GRANT = 64;

/**
 * Keeps the limit the platform announced in Postgres, for the health route: written when it
 * changes, never in a request's way (a failed write is tried again at the next answer).
 */
function learnedLimitRecorder(sql: Sql, key: string, bound: number | undefined) {
  let recorded: number | undefined;
  return (limit: number): void => {
    if (limit === recorded) return;
    recorded = limit;
    void recordLearnedLimit(sql, key, limit, bound).catch(() => {
      recorded = undefined;
    });
  };
}

/**
 * A request rate shared by every worker through Postgres. Slots come from `acquire_rate_slots`,
 * which keeps at most `limit` grants in any window (a sliding log: a moment when no request waits
 * is not caught up later, which is why a run's batches overlap) and honours pauses set after a
 * 429. A process asks for the slots
 * of all its requests waiting at that moment in one call, one call at a time: each grant takes
 * the account's row lock, and one lock per request queued the requests on it at high limits.
 * Every slot granted has a request waiting for it, so none is wasted. A slot can still be used
 * late (its grant came back after it, or its timer fired late on a busy event loop), so the
 * process also holds its requests to the limit as they actually leave (`SentTimes`).
 */
export function createRateGate(sql: Sql, options: RateGateOptions): RequestGate {
  const bound = options.upperBound ?? Number.POSITIVE_INFINITY;
  let learned = options.initialLimit;
  const recordLimit = learnedLimitRecorder(sql, options.key, options.upperBound);
  let marginMs = options.marginMs ?? 5;
  const window = () => `${1000 + marginMs} milliseconds`;
  const effectiveLimit = () => Math.max(1, Math.min(bound, learned));
  // The slots of every request waiting while a grant is on its way go in the next grant.
  const slotFor = groupWhileBusy(async (takers: null[]) => {
    const [row] = await sql<{ slots: Date[] }[]>`
      select audience_sync.acquire_rate_slots(${options.key}, ${effectiveLimit()},
        ${window()}::interval, ${takers.length}) as slots`;
    return takers.map((_, i) => row?.slots[i]?.getTime() ?? Date.now());
  }, MAX_SLOTS_PER_GRANT);

  const sent = new SentTimes();
  const acquire = async (signal?: AbortSignal) => {
    let waitMs = (await slotFor(null)) - Date.now();
    for (;;) {
      if (waitMs > 0) await sleep(waitMs, undefined, signal ? { signal } : {});
      // A request leaving later than its slot would bunch with the ones after it: this
      // process's requests are also held to the limit as they actually leave.
      const now = Date.now();
      waitMs = sent.nextAt(effectiveLimit(), 1000 + marginMs) - now;
      if (waitMs <= 0) {
        sent.record(now, effectiveLimit());
        return;
      }
    }
  };

  return {
    get capacity() {
      // Enough requests in flight to fill the limit at a typical 100-200 ms round trip.
      return Math.min(16, Math.max(2, Math.ceil(effectiveLimit() / 4)));
    },

    async run(request, signal) {
      await acquire(signal);
      return request();
    },

    async pause(ms) {
      marginMs = Math.min(MAX_MARGIN_MS, marginMs * 2);
      await sql`
        insert into audience_sync.rate_limits (key, blocked_until)
        values (${options.key}, clock_timestamp() + ${`${Math.ceil(ms)} milliseconds`}::interval)
        on conflict (key) do update
          set blocked_until = greatest(audience_sync.rate_limits.blocked_until, excluded.blocked_until)`;
    },

    learnLimit(limit) {
      if (limit <= 0) return;
      learned = limit;
      recordLimit(limit);
    },

    async windowSpent(resetMs) {
      await sql`
        update audience_sync.rate_limits
        set blocked_until = greatest(blocked_until,
          clock_timestamp() + ${`${Math.ceil(resetMs)} milliseconds`}::interval)
        where key = ${options.key}
          and (select count(*) from unnest(recent) as granted
               where granted > clock_timestamp() - ${window()}::interval) < ${effectiveLimit()} * 0.9`;
    },
  };
}

/** At most `connections` requests open at once in this process (no shared rate to learn). */
export function createConnectionGate(connections: number): RequestGate {
  const open = pLimit(connections);
  let pausedUntil = 0;
  return {
    capacity: connections,
    async run(request, signal) {
      return open(async () => {
        const waitMs = pausedUntil - Date.now();
        if (waitMs > 0) await sleep(waitMs, undefined, signal ? { signal } : {});
        return request();
      });
    },
    async pause(ms) {
      pausedUntil = Math.max(pausedUntil, Date.now() + ms);
    },
    learnLimit() {},
    async windowSpent() {},
  };
}
