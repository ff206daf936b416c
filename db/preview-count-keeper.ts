import type { Logger } from '../telemetry/logger.js';
import {
  countEmailsByDaysAgo,
  type DaysAgoBucket,
  type KeptPreviewCount,
  MAX_ACTIVE_DAYS,
  saveKeptPreviewCount,
  withPreviewCountTurn,
} from './preview-counts.js';
import type { Sql } from './sql.js';
import { type UsersSource, userFragments, usersSourceLoader } from './users-source.js';

/** SPEC: a count kept ahead of time is never older than this when a preview answers with it. */
export const PREVIEW_COUNT_MAX_AGE_MS = 60_000;

/** Folds the buckets of one count into what a preview of any window reads. */
export function keptCountFromBuckets(
  relation: string,
  countedAt: Date,
  buckets: DaysAgoBucket[],
  durationMs: number,
): KeptPreviewCount {
  const byDays = new Array<number>(MAX_ACTIVE_DAYS + 2).fill(0);
  let allEmails = 0;
  let eligibleUsers = 0;
  for (const bucket of buckets) {
    allEmails += bucket.emails;
    eligibleUsers += bucket.users;
    if (bucket.daysAgo !== null)
      byDays[bucket.daysAgo] = (byDays[bucket.daysAgo] ?? 0) + bucket.emails;
  }
  const activeWithin: number[] = [];
  let running = 0;
  for (let days = 1; days <= MAX_ACTIVE_DAYS; days += 1) {
    running += byDays[days] ?? 0;
    activeWithin.push(running);
  }
  return { relation, countedAt, eligibleUsers, allEmails, activeWithin, durationMs };
}

export interface KeptCountView {
  countedAt: Date;
  eligibleUsers: number;
  count: number;
}

/**
 * Whether a preview answers with the kept count: only when counting exactly would read more than
 * `exactMaxUsers` eligible users (smaller relations are counted exactly, within the target), and
 * only while the kept count is at most PREVIEW_COUNT_MAX_AGE_MS old.
 */
export function useKeptCount(
  kept: KeptCountView | undefined,
  now: Date,
  exactMaxUsers: number,
): kept is KeptCountView {
  if (!kept) return false;
  const age = now.getTime() - kept.countedAt.getTime();
  return kept.eligibleUsers > exactMaxUsers && age <= PREVIEW_COUNT_MAX_AGE_MS;
}

/**
 * Counts the relation for previews and keeps the count, unless another process is counting or
 * counted less than `freshMs` ago. Returns what it kept, or undefined when it left it to another.
 */
export async function keepPreviewCount(
  sql: Sql,
  source: UsersSource,
  freshMs: number,
  logger?: Logger,
): Promise<KeptPreviewCount | undefined> {
  const f = userFragments(sql, source);
  const users = {
    relation: f.relation,
    eligible: f.eligible({ filterActive: false, activeSince: new Date(0).toISOString() }),
    emailKey: f.emailKey,
  };
  let kept: KeptPreviewCount | undefined;
  await withPreviewCountTurn(sql, source.relation, freshMs, async (tx) => {
    const started = performance.now();
    const { countedAt, buckets } = await countEmailsByDaysAgo(tx, users);
    const durationMs = Math.round(performance.now() - started);
    kept = keptCountFromBuckets(source.relation, countedAt, buckets, durationMs);
    await saveKeptPreviewCount(tx, kept);
    logger?.debug({ durationMs, eligibleUsers: kept.eligibleUsers }, 'preview count kept');
  });
  return kept;
}

export interface PreviewCountKeeper {
  /** Counts now unless another process counted within the last half interval. */
  refresh(): Promise<boolean>;
  stop(): Promise<void>;
}

/**
 * Keeps the preview count of a users relation at most `intervalMs` (plus one count's duration)
 * old. Every API process runs one; an advisory lock and the kept row's age make them take turns,
 * so however many run, the relation is counted about once per interval. It reads the users
 * relation and writes only `audience_sync.preview_counts`.
 */
export function startPreviewCountKeeper(deps: {
  sql: Sql;
  usersSource: string;
  intervalMs: number;
  logger: Logger;
}): PreviewCountKeeper {
  const usersSource = usersSourceLoader(deps.sql, deps.usersSource);
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<boolean> = Promise.resolve(false);

  const count = async () =>
    (await keepPreviewCount(deps.sql, await usersSource(), deps.intervalMs / 2, deps.logger)) !==
    undefined;

  const refresh = () => {
    inFlight = inFlight.then(count, count);
    return inFlight;
  };

  const tick = async () => {
    try {
      await refresh();
    } catch (error) {
      // The database may be down for a while; previews then count exactly or answer 503.
      deps.logger.warn(
        { err: error instanceof Error ? error.message : String(error) },
        'preview count not kept',
      );
    }
    // Unreferenced: the keeper alone never keeps a process alive.
    if (!stopped) timer = setTimeout(tick, deps.intervalMs).unref();
  };
  void tick();

  return {
    refresh,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await inFlight.catch(() => false);
    },
  };
}
