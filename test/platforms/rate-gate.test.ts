import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createRateGate, MAX_MARGIN_MS } from '../../activities/platforms/request-gate.js';
import { createSql, type Sql } from '../../db/sql.js';
import { createTestDatabase, type TestDatabase, waitFor } from '../support/stack.js';

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
    const [before] = await db.sql<{ at: Date }[]>`select clock_timestamp() as at`;
    const first = await grantBlock('block-account', 5, 12);
    const [after] = await db.sql<{ at: Date }[]>`select clock_timestamp() as at`;
    // The first five are due at once, at the call; the next five a window later, then two more.
    const dueAt = first[0] ?? Number.NaN;
    expect(dueAt).toBeGreaterThanOrEqual(before?.at.getTime() ?? Number.NaN);
    expect(dueAt).toBeLessThanOrEqual(after?.at.getTime() ?? Number.NaN);
    expect(first).toEqual([
      ...Array.from({ length: 5 }, () => dueAt),
      ...Array.from({ length: 5 }, () => dueAt + 1000),
      ...Array.from({ length: 2 }, () => dueAt + 2000),
    ]);
    const grants = [...first, ...(await grantBlock('block-account', 5, 3))];
    expect(grants).toHaveLength(15);
    for (const [i, grant] of grants.entries()) {
      if (i > 0) expect(grant).toBeGreaterThanOrEqual(grants[i - 1] ?? 0);
      // The sixth grant after any other is a whole window later.
      if (i >= 5) expect(grant - (grants[i - 5] ?? 0)).toBeGreaterThanOrEqual(1000);
    }
    // 15 at 5/s need 2 s.
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

  it('holds requests that leave late to the limit as they leave, not as they were granted', async () => {
    const key = 'late-account';
    const limit = 10;
    // A full window granted a moment ago: the next ten are due a window later, ten more after.
    const [firstGrant = Number.NaN] = await grantBlock(key, limit, limit);
    const gate = createRateGate(db.sql, { key, initialLimit: limit, marginMs: 5 });
    const leftAt: number[] = [];
    const requests = Array.from({ length: 2 * limit }, () =>
      gate.run(async () => {
        leftAt.push(Date.now());
      }),
    );
    await waitFor(
      async () => {
        const [row] = await db.sql<{ last: Date }[]>`
          select recent[${limit}::int] as last from audience_sync.rate_limits where key = ${key}`;
        return (row?.last.getTime() ?? 0) >= firstGrant + 2000 ? true : undefined;
      },
      { what: 'the twenty slots granted' },
    );
    // The event loop is busy (as on a loaded worker) past the first ten's slot: they leave late,
    // 200 ms before the next ten's slot comes; what happens in the platform's counting is what
    // leaves together, whatever was granted.
    while (Date.now() < firstGrant + 1005 + 200) {
      // busy
    }
    await Promise.all(requests);
    expect(leftAt).toHaveLength(2 * limit);
    const sorted = [...leftAt].sort((a, b) => a - b);
    // Never more than the limit in any second as they left.
    for (let i = limit; i < sorted.length; i += 1) {
      expect((sorted[i] ?? 0) - (sorted[i - limit] ?? 0)).toBeGreaterThanOrEqual(1000);
    }
  });

  it('widens its window after each 429, up to the widest margin', async () => {
    // 5 ms doubled at each 429, stopping at MAX_MARGIN_MS (six 429s would otherwise give 320).
    const windows = [];
    for (const pauses of [0, 1, 2, 3, 6]) windows.push(await windowAfter(pauses));
    expect(windows).toEqual([1005, 1010, 1020, 1000 + MAX_MARGIN_MS, 1000 + MAX_MARGIN_MS]);
  });
});

/**
 * The window a gate starting at a 5 ms margin keeps after `pauses` 429s, read from the grant it
 * is given: with `limit` grants already made for an hour ahead, the next is due exactly one window
 * after the first of them. The request is called off before then, never having run.
 */
async function windowAfter(pauses: number): Promise<number> {
  const key = `widening-account-${pauses}`;
  const limit = 4;
  const gate = createRateGate(db.sql, { key, initialLimit: limit, marginMs: 5 });
  for (let i = 0; i < pauses; i += 1) await gate.pause(0);
  await db.sql`
    insert into audience_sync.rate_limits (key, recent)
    values (${key}, array_fill(clock_timestamp() + interval '1 hour', array[${limit}::int]))
    on conflict (key) do update set recent = excluded.recent`;
  const callOff = new AbortController();
  let ran = false;
  const request = gate.run(async () => {
    ran = true;
  }, callOff.signal);
  const windowMs = await waitFor(
    async () => {
      const [row] = await db.sql<{ ms: number }[]>`
        select (extract(epoch from recent[${limit}::int] - recent[1]) * 1000)::float8 as ms
        from audience_sync.rate_limits where key = ${key} and recent[${limit}::int] > recent[1]`;
      return row?.ms;
    },
    { what: `the grant after ${pauses} pauses` },
  );
  callOff.abort();
  await expect(request).rejects.toThrow(/abort/i);
  expect(ran).toBe(false);
  return windowMs;
}
