import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRateGate, MAX_MARGIN_MS } from '../../activities/platforms/request-gate.js';
import { createSql, type Sql } from '../../db/sql.js';
import { createTestDatabase, type TestDatabase } from '../support/stack.js';

/**
 * The rate shared through Postgres: `acquire_rate_slots` keeps at most `limit` grants in any
 * window, also when a block of grants is asked for at once, and two processes' gates on one
 * account share that limit.
 */
let db: TestDatabase;
let otherPool: Sql;

beforeAll(async () => {
  db = await createTestDatabase();
  otherPool = createSql(db.url);
});

afterAll(async () => {
  await otherPool?.end({ timeout: 5 });
  await db?.drop();
});

const grantBlock = async (key: string, limit: number, count: number): Promise<number[]> => {
  const [row] = await db.sql<{ slots: Date[] }[]>`
    select audience_sync.acquire_rate_slots(${key}, ${limit}, '1000 milliseconds'::interval,
      ${count}) as slots`;
  return (row?.slots ?? []).map((slot) => slot.getTime());
};

describe('acquire_rate_slots', () => {
  it('grants a block in order, never more than the limit in any window, across calls', async () => {
    const started = Date.now();
    const grants = [
      ...(await grantBlock('block-account', 5, 12)),
      ...(await grantBlock('block-account', 5, 3)),
    ];
    expect(grants).toHaveLength(15);
    for (const [i, grant] of grants.entries()) {
      if (i > 0) expect(grant).toBeGreaterThanOrEqual(grants[i - 1] ?? 0);
      // The sixth grant after any other is a whole window later.
      if (i >= 5) expect(grant - (grants[i - 5] ?? 0)).toBeGreaterThanOrEqual(1000);
    }
    // The first five are due at once, the rest wait for their windows: 15 at 5/s need 2 s.
    expect((grants[4] ?? 0) - started).toBeLessThan(1000);
    expect((grants[14] ?? 0) - (grants[0] ?? 0)).toBeGreaterThanOrEqual(2000);
  });

  it('grants nothing before a pause set after a 429 ends', async () => {
    await db.sql`
      insert into audience_sync.rate_limits (key, blocked_until)
      values ('paused-account', clock_timestamp() + interval '3 seconds')`;
    const [pausedUntil] = await db.sql<{ until: Date }[]>`
      select blocked_until as until from audience_sync.rate_limits where key = 'paused-account'`;
    const grants = await grantBlock('paused-account', 10, 4);
    for (const grant of grants) {
      expect(grant).toBeGreaterThanOrEqual(pausedUntil?.until.getTime() ?? Number.NaN);
    }
  });
});

describe('the rate gate', () => {
  it('runs every request of two processes once, sharing one limit between them', async () => {
    const limit = 20;
    const gates = [db.sql, otherPool].map((sql) =>
      createRateGate(sql, { key: 'shared-account', initialLimit: limit }),
    );
    const ran: number[] = [];
    const started = Date.now();
    await Promise.all(
      Array.from({ length: 70 }, (_, i) =>
        gates[i % 2]?.run(async () => {
          ran.push(i);
        }),
      ),
    );
    const elapsed = Date.now() - started;
    expect(ran.sort((a, b) => a - b)).toEqual(Array.from({ length: 70 }, (_, i) => i));
    // 70 requests at 20 in any window: the last 10 wait for the fourth window at the earliest.
    expect(elapsed).toBeGreaterThanOrEqual(3000);
    const [row] = await db.sql<{ kept: number }[]>`
      select cardinality(recent)::int as kept from audience_sync.rate_limits
      where key = 'shared-account'`;
    expect(row?.kept).toBe(limit);
  });

  it('widens its window after each 429, up to the widest margin', async () => {
    const limit = 4;
    const gate = createRateGate(db.sql, {
      key: 'jittery-account',
      initialLimit: limit,
      marginMs: 5,
    });
    // Six 429s: 5 ms doubled six times would be 320, but the margin stops at MAX_MARGIN_MS.
    for (let i = 0; i < 6; i += 1) await gate.pause(0);
    const sentAt: number[] = [];
    await Promise.all(
      Array.from({ length: 2 * limit }, () =>
        gate.run(async () => {
          sentAt.push(Date.now());
        }),
      ),
    );
    sentAt.sort((a, b) => a - b);
    const spacing = (sentAt[limit] ?? 0) - (sentAt[0] ?? 0);
    // The first request ran a moment after its grant, the fifth at its grant: a few ms of that
    // are allowed, far from the 1,005 ms an unwidened window gives.
    expect(spacing).toBeGreaterThanOrEqual(1000 + MAX_MARGIN_MS - 10);
    // Room for timers late on a busy machine, well short of an unbounded margin's 1,320 ms.
    expect(spacing).toBeLessThan(1000 + 4 * MAX_MARGIN_MS);
  });
});
