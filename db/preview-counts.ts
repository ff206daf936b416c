import type { Fragment, Helper } from 'postgres';
import { recordColumns, type Sql } from './sql.js';

/**
 * Preview counts kept ahead of time (`audience_sync.preview_counts`): for one users relation, the
 * eligible distinct emails as of `countedAt`, by how many days before it their latest activity is.
 */
export interface KeptPreviewCount {
  relation: string;
  countedAt: Date;
  /** Eligible user rows the count read: what an exact count would read now, about. */
  eligibleUsers: number;
  allEmails: number;
  /** Index d - 1 holds the emails active at or after countedAt - d days (d = 1..3650). */
  activeWithin: number[];
  durationMs: number;
}

/** One row per email's latest activity bucket: `daysAgo` null when never active. */
export interface DaysAgoBucket {
  daysAgo: number | null;
  emails: number;
  users: number;
}

/** Days as the preview counts them: 86,400,000 ms each, whatever the time zone says. */
export const DAY_MS = 86_400_000;

/** The widest activity window a preview accepts; older activity lands in one bucket after it. */
export const MAX_ACTIVE_DAYS = 3650;

/** The eligible users of a relation, as the preview's own SQL sees them (alias `u`). */
export interface EligibleUsers {
  relation: Helper<string, []>;
  eligible: Fragment;
  emailKey: Fragment;
}

/**
 * Counts every eligible distinct email once, bucketed by the ceiling of how many days before the
 * statement's start its latest eligible activity is (at least 1; after MAX_ACTIVE_DAYS, one
 * bucket). An email is active within d days exactly when its bucket is at most d, so any window
 * is a sum of buckets. One statement, so the count is of one snapshot, taken at `countedAt`
 * (truncated to the millisecond, as previews' times are).
 */
export async function countEmailsByDaysAgo(
  sql: Sql,
  users: EligibleUsers,
): Promise<{ countedAt: Date; buckets: DaysAgoBucket[] }> {
  const rows = await sql<
    { countedAt: Date; daysAgo: number | null; emails: string; users: string }[]
  >`
    with counted_at as (select date_trunc('milliseconds', statement_timestamp()) as t),
    latest as (
      select max(u.last_active_at) as latest, count(*) as users
      from ${users.relation} u where ${users.eligible} group by ${users.emailKey}
    )
    select (select t from counted_at) as "countedAt",
      -- greatest() skips nulls, so the never active are kept apart first. date_part is float8,
      -- a third faster here than extract's numeric, and exact enough: a difference in whole
      -- microseconds is exact in float8, and one microsecond past a whole day still rounds up.
      case when latest is not null then least(greatest(ceil(
        date_part('epoch', (select t from counted_at) - latest) / 86400
      ), 1), ${MAX_ACTIVE_DAYS + 1})::int end as "daysAgo",
      count(*) as emails, sum(users) as users
    from latest
    group by 2
    union all
    -- Always one row, so an empty relation still says when it was counted.
    select (select t from counted_at), null::int, 0::bigint, 0::numeric`;
  const countedAt = rows[0]?.countedAt ?? new Date();
  const buckets = rows
    .map((row) => ({ daysAgo: row.daysAgo, emails: Number(row.emails), users: Number(row.users) }))
    .filter((bucket) => bucket.emails > 0);
  return { countedAt, buckets };
}

/** A kept count's row as the driver reads it: bigint counts arrive as text. */
interface StoredPreviewCount {
  countedAt: Date;
  eligibleUsers: string;
  allEmails: string;
  activeWithin: string[];
  durationMs: number;
}

const STORED_PREVIEW_COUNT_COLUMNS = recordColumns<StoredPreviewCount>()([
  'counted_at',
  'eligible_users',
  'all_emails',
  'active_within',
  'duration_ms',
]);

export async function loadKeptPreviewCount(
  sql: Sql,
  relation: string,
): Promise<KeptPreviewCount | undefined> {
  const [row] = await sql<StoredPreviewCount[]>`
    select ${sql.unsafe(STORED_PREVIEW_COUNT_COLUMNS)}
    from audience_sync.preview_counts where relation = ${relation}`;
  if (!row) return undefined;
  return {
    relation,
    countedAt: row.countedAt,
    eligibleUsers: Number(row.eligibleUsers),
    allEmails: Number(row.allEmails),
    activeWithin: row.activeWithin.map(Number),
    durationMs: row.durationMs,
  };
}

const COUNTED_COLUMNS = recordColumns<Pick<StoredPreviewCount, 'countedAt' | 'eligibleUsers'>>()([
  'counted_at',
  'eligible_users',
]);

/**
 * What a preview needs of the kept count: when it was counted, how large an exact count would be,
 * and the one number its filter asks for (`activeDays` null: all users). Reads one element, so
 * the row's array need not travel.
 */
export async function readKeptPreviewCount(
  sql: Sql,
  relation: string,
  activeDays: number | null,
): Promise<{ countedAt: Date; eligibleUsers: number; count: number } | undefined> {
  const [row] = await sql<{ countedAt: Date; eligibleUsers: string; count: string | null }[]>`
    select ${sql.unsafe(COUNTED_COLUMNS)},
      ${activeDays === null ? sql`all_emails` : sql`active_within[${activeDays}]`} as count
    from audience_sync.preview_counts where relation = ${relation}`;
  if (!row || row.count === null) return undefined;
  return {
    countedAt: row.countedAt,
    eligibleUsers: Number(row.eligibleUsers),
    count: Number(row.count),
  };
}

export async function saveKeptPreviewCount(sql: Sql, kept: KeptPreviewCount): Promise<void> {
  await sql`
    insert into audience_sync.preview_counts
      (relation, counted_at, eligible_users, all_emails, active_within, duration_ms)
    values (${kept.relation}, ${kept.countedAt}, ${kept.eligibleUsers}, ${kept.allEmails},
      ${kept.activeWithin}::bigint[], ${kept.durationMs})
    on conflict (relation) do update set counted_at = excluded.counted_at,
      eligible_users = excluded.eligible_users, all_emails = excluded.all_emails,
      active_within = excluded.active_within, duration_ms = excluded.duration_ms`;
}

/** The advisory lock (hashtextextended of this name) a keeper holds while counting a relation. */
export const previewCountLockName = (relation: string) =>
  `audience_sync.preview_counts:${relation}`;

/**
 * Runs `count` in a transaction holding the keepers' advisory lock, unless another process holds
 * it or counted less than `freshMs` ago (by the database's clock, which every process shares).
 * Returns whether it counted.
 */
export async function withPreviewCountTurn(
  sql: Sql,
  relation: string,
  freshMs: number,
  count: (tx: Sql) => Promise<void>,
): Promise<boolean> {
  return sql.begin(async (tx) => {
    const [turn] = await tx<{ locked: boolean; fresh: boolean }[]>`
      select pg_try_advisory_xact_lock(
          hashtextextended(${previewCountLockName(relation)}, 0)) as locked,
        exists (select 1 from audience_sync.preview_counts
          where relation = ${relation}
            and counted_at > now() - make_interval(secs => ${freshMs / 1000})) as fresh`;
    if (!turn?.locked || turn.fresh) return false;
    // Hashing a million emails in memory instead of sorting them on disk; this query only.
    await tx`set local work_mem = '64MB'`;
    await tx`set local statement_timeout = '50s'`;
    await count(tx as unknown as Sql);
    return true;
  }) as Promise<boolean>;
}
