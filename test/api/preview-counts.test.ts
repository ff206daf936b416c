import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedApi, startApiServer } from '../../api/server.js';
import { seedDemoUsers } from '../../db/demo-users.js';
import { keepPreviewCount } from '../../db/preview-count-keeper.js';
import { previewCountLockName } from '../../db/preview-counts.js';
import { inspectUsersSource } from '../../db/users-source.js';
import { createLogger } from '../../telemetry/logger.js';
import { type AppStack, apiCaller, ELIGIBLE_SQL, startAppStack } from '../support/app-stack.js';
import { testApiConfig, waitFor } from '../support/stack.js';

/**
 * Previews of a relation counted ahead of time: every relation here counts as large
 * (PREVIEW_EXACT_MAX_USERS=0), and the keeper recounts every 2 s, so a test need not wait long.
 */
let stack: AppStack;

beforeAll(async () => {
  stack = await startAppStack({
    users: 600,
    inProcessWorker: false,
    api: { PREVIEW_EXACT_MAX_USERS: '0', PREVIEW_COUNT_REFRESH_SECONDS: '2' },
  });
});

afterAll(async () => {
  await stack?.stop();
});

const FILTERS = [
  { filterActive: false, activeDays: 30 },
  { filterActive: true, activeDays: 1 },
  { filterActive: true, activeDays: 7 },
  { filterActive: true, activeDays: 30 },
  { filterActive: true, activeDays: 365 },
  { filterActive: true, activeDays: 3650 },
];
type Filter = (typeof FILTERS)[number];

const previewOf = async (filter: Filter, call = stack.call) => {
  const answer = await call(
    'GET',
    `/api/marketing/sync-users?filterActive=${filter.filterActive}&activeDays=${filter.activeDays}`,
  );
  expect(answer.status).toBe(200);
  return answer.body as {
    count: number;
    countedAt: string;
    sample: { email: string }[];
    filters: { activeSince: string };
  };
};

/** Eligible distinct emails of `relation` active since `at` minus the filter's days, counted now. */
async function sqlCountAsOf(filter: Filter, at: string, relation = 'users'): Promise<number> {
  const [row] = await stack.db.sql.unsafe<{ count: number }[]>(
    `select count(distinct lower(btrim(email)))::int as count from ${relation}
     where ${ELIGIBLE_SQL}
       and (not $1 or last_active_at >= $2::timestamptz - $3 * interval '24 hours')`,
    [filter.filterActive, at, filter.activeDays],
  );
  return row?.count ?? -1;
}

/** The first five eligible users by id, one per email, at activeSince. */
async function sqlSample(filter: Filter, activeSince: string): Promise<string[]> {
  const rows = await stack.db.sql.unsafe<{ email: string }[]>(
    `select email from (
       select distinct on (lower(btrim(email))) id, btrim(email) as email from users
       where ${ELIGIBLE_SQL} and (not $1 or last_active_at >= $2::timestamptz)
       order by lower(btrim(email)), id
     ) firsts order by id limit 5`,
    [filter.filterActive, activeSince],
  );
  return rows.map((row) => row.email);
}

describe('previews of a large relation', () => {
  it('answer with the count kept at countedAt, equal to SQL as of then, and an exact sample', async () => {
    // Users active on either side of "7 days before the count", a millisecond apart, so the
    // window's edge is checked to the millisecond.
    await stack.db.sql`
      insert into users (id, email, first_name, last_name, full_name, last_active_at)
      select 900000 + k, 'edge.' || k || '@example.com', 'Edge', 'User', 'Edge User',
        now() - interval '7 days' + make_interval(secs => k / 1000.0)
      from generate_series(-1500, 4500) as k`;
    const source = await inspectUsersSource(stack.db.sql, 'users');
    // The keeper of the API may hold the turn; it is the same count either way.
    await waitFor(() => keepPreviewCount(stack.db.sql, source, 0), { what: 'a count of its own' });

    for (const filter of FILTERS) {
      const asked = Date.now();
      const preview = await previewOf(filter);
      const countedAt = Date.parse(preview.countedAt);
      // Kept ahead of time, not counted for this request, and young enough.
      expect(countedAt).toBeLessThan(asked);
      expect(asked - countedAt).toBeLessThanOrEqual(60_000);
      expect(preview.count).toBe(await sqlCountAsOf(filter, preview.countedAt));
      expect(preview.sample.map((user) => user.email)).toEqual(
        await sqlSample(filter, preview.filters.activeSince),
      );
    }
    // The edge users straddle the 7-day window of the count the answer above came from.
    const week = await previewOf({ filterActive: true, activeDays: 7 });
    const [edge] = await stack.db.sql<{ inside: number; outside: number }[]>`
      select count(*) filter (where last_active_at >= t)::int as inside,
        count(*) filter (where last_active_at < t)::int as outside
      from users, (select ${week.countedAt}::timestamptz - interval '7 days' as t) edge
      where id > 900000 - 2000`;
    expect(edge?.inside).toBeGreaterThan(0);
    expect(edge?.outside).toBeGreaterThan(0);
    expect(week.count).toBe(
      await sqlCountAsOf({ filterActive: true, activeDays: 7 }, week.countedAt),
    );
  });

  it('reflect users who changed within 60 seconds', async () => {
    const before = await Promise.all(FILTERS.map((filter) => previewOf(filter)));
    await stack.db.sql.begin(async (tx) => {
      // Opted out, deleted, active again after a long time, and new users.
      await tx`update users set marketing_opt_out = true where id in (2, 3, 4, 5, 6)`;
      await tx`update users set deleted_at = now() where id in (7, 8, 9)`;
      await tx`update users set last_active_at = now()
        where id in (select id from users where last_active_at < now() - interval '400 days'
          order by id limit 10)`;
      await tx`update users set last_active_at = now() where last_active_at is null and id < 300`;
    });
    await seedDemoUsers(stack.db.sql, { count: 40, firstId: 1_000_000, mix: 'eligible' });
    // Once every change is in: a count taken between the update and the new users would miss
    // them, and the check below compares with the table as it is now.
    const changedAt = Date.now();

    const expected = await Promise.all(
      FILTERS.map((filter) => sqlCountAsOf(filter, new Date().toISOString())),
    );
    // The change moves every count, so an answer that missed it cannot pass.
    expect(expected).not.toContain(undefined);
    FILTERS.forEach((_filter, index) => {
      expect(expected[index]).not.toBe(before[index]?.count);
    });

    const fresh = await waitFor(
      async () => {
        const previews = await Promise.all(FILTERS.map((filter) => previewOf(filter)));
        return previews.every((preview) => Date.parse(preview.countedAt) > changedAt) && previews;
      },
      { timeoutMs: 60_000, intervalMs: 200, what: 'previews counted after the change' },
    );
    expect(Date.now() - changedAt).toBeLessThan(60_000);
    for (const [index, filter] of FILTERS.entries()) {
      const preview = fresh[index];
      expect(preview?.count).toBe(await sqlCountAsOf(filter, preview?.countedAt ?? ''));
    }
  });

  it('count exactly when the kept count is older than 60 seconds', async () => {
    await seedDemoUsers(stack.db.sql, { count: 50, relation: 'stale_users' });
    // A process that keeps stale_users, and would not count again for 55 s.
    const config = testApiConfig({
      DATABASE_URL: stack.db.url,
      USERS_SOURCE: 'stale_users',
      PREVIEW_EXACT_MAX_USERS: '0',
      PREVIEW_COUNT_REFRESH_SECONDS: '55',
    });
    let api: StartedApi | undefined;
    try {
      api = await startApiServer({
        config,
        sql: stack.db.sql,
        temporal: stack.client,
        logger: createLogger('silent'),
      });
      const call = apiCaller(api.url);
      await waitFor(
        async () =>
          (
            await stack.db
              .sql`select 1 from audience_sync.preview_counts where relation = 'stale_users'`
          ).length > 0,
        { what: 'the first count of stale_users' },
      );
      await stack.db.sql`
        update audience_sync.preview_counts
        set counted_at = now() - interval '61 seconds', all_emails = 999999,
          active_within = array_fill(999999::bigint, array[3650])
        where relation = 'stale_users'`;
      for (const filter of FILTERS) {
        const asked = Date.now();
        const preview = await previewOf(filter, call);
        expect(Date.parse(preview.countedAt)).toBeGreaterThanOrEqual(asked);
        expect(preview.count).toBe(await sqlCountAsOf(filter, preview.countedAt, 'stale_users'));
        expect(preview.count).not.toBe(999999);
      }
    } finally {
      await api?.close();
    }
  });

  it('are counted by one process at a time', async () => {
    const source = await inspectUsersSource(stack.db.sql, 'users');
    const holder = await stack.db.sql.reserve();
    try {
      await holder`select pg_advisory_lock(hashtextextended(${previewCountLockName('users')}, 0))`;
      expect(await keepPreviewCount(stack.db.sql, source, 0)).toBeUndefined();
      await holder`select pg_advisory_unlock(hashtextextended(${previewCountLockName('users')}, 0))`;
    } finally {
      holder.release();
    }
    const kept = await waitFor(() => keepPreviewCount(stack.db.sql, source, 0), {
      what: 'a turn to count',
    });
    expect(kept.allEmails).toBe(
      await sqlCountAsOf(FILTERS[0] as Filter, kept.countedAt.toISOString()),
    );
  });
});

describe('previews of a small relation', () => {
  it('count exactly for each request, so a change shows at once', async () => {
    const small = await startAppStack({ users: 60, inProcessWorker: false });
    try {
      const call = small.call;
      const first = await call('GET', '/api/marketing/sync-users');
      await small.db.sql`update users set marketing_opt_out = true where id in (1, 2, 3)`;
      const asked = Date.now();
      const second = await call('GET', '/api/marketing/sync-users');
      expect(Date.parse(second.body.countedAt)).toBeGreaterThanOrEqual(asked);
      const [row] = await small.db.sql.unsafe<{ count: number }[]>(
        `select count(distinct lower(btrim(email)))::int as count from users where ${ELIGIBLE_SQL}`,
      );
      expect(second.body.count).toBe(row?.count);
      expect(second.body.count).toBe(first.body.count - 3);
    } finally {
      await small.stop();
    }
  });
});
