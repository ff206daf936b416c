import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appUsers, listDifferences } from '../../bench/lists.js';
import { runSteadyScenario, type SteadyRow } from '../../bench/steady.js';
import { emulatorAdmin } from '../support/app-stack.js';
import { startTestBench, type TestBench } from '../support/bench-stack.js';

/**
 * The steady-state benchmark at a tiny N, on the real stack: its three runs happen, each is
 * checked exactly and says so, and what it reports holds no id or email. Its figures are the
 * benchmark's business, not this test's.
 */
let bench: TestBench;
let rows: SteadyRow[];

const USERS = 300;

beforeAll(async () => {
  bench = await startTestBench();
  rows = await runSteadyScenario(
    {
      ctx: bench.ctx,
      service: bench.service,
      statements: null,
      requestSeqBase: 0,
      log: () => {},
    },
    USERS,
    { sizes: [USERS], rate: 100, maxSeconds: 60, finishMaxSeconds: 30, finishRate: 300 },
  );
}, 180_000);

afterAll(async () => {
  await bench?.stop();
});

describe('npm run bench -- --steady', () => {
  it('runs the first sync, the run after 0.1% changed and the run with nothing changed, each exact', () => {
    expect(rows.map((row) => [row.run, row.system, row.changed, row.verdict])).toEqual([
      ['first sync', 'audience-sync', USERS, 'exact'],
      ['first sync', 'naive-resync-at-limit', USERS, 'modelled'],
      // 0.1% of 300 is less than one: at least one renamed, one leaver and one new user.
      ['0.1% changed', 'audience-sync', 3, 'exact'],
      ['0.1% changed', 'naive-resync-at-limit', 3, 'modelled'],
      ['nothing changed', 'audience-sync', 0, 'exact'],
      ['nothing changed', 'naive-resync-at-limit', 0, 'modelled'],
    ]);
    const measured = rows.filter((row) => row.system === 'audience-sync');
    expect(measured.map((row) => [row.processed, row.total])).toEqual([
      [USERS, USERS],
      [USERS, USERS],
      [USERS, USERS],
    ]);
    expect(measured.every((row) => row.wallSeconds !== null && row.cappedAtSeconds === null)).toBe(
      true,
    );
    // The naive cron sends one request per user of the table: the 300, then the new one too.
    expect(rows.filter((row) => row.system !== 'audience-sync').map((row) => row.requests)).toEqual(
      [USERS, USERS + 1, USERS + 1],
    );
  });

  it('counts requests by method and route pattern, every request of the run, no id or email', () => {
    for (const row of rows.filter((each) => each.system === 'audience-sync')) {
      const kinds = Object.keys(row.requestsByKind);
      expect(kinds.length).toBeGreaterThan(0);
      for (const kind of kinds) {
        expect(kind).toMatch(/^(GET|POST|PATCH|DELETE) (\/(:?[A-Za-z-]+))+( \(429\))?$/);
      }
      const sum = Object.values(row.requestsByKind).reduce((total, count) => total + count, 0);
      expect(sum).toBe(row.requests);
    }
  });

  it('finds a list that differs from the users, user by user', async () => {
    const { data: segments } = await emulatorAdmin<{ data: { id: string; name: string }[] }>(
      bench.resend,
      '/segments',
    );
    expect(segments.map((segment) => segment.name)).toEqual(['steady']);
    const listId = segments[0]?.id ?? '';
    expect(await listDifferences(bench.resend.url, listId, await appUsers(bench.db.sql))).toEqual({
      missing: 0,
      staleNames: 0,
      extra: 0,
      duplicates: 0,
    });
    await bench.db.sql`update users set first_name = 'Someone Else' where id = 10`;
    await bench.db.sql`update users set last_active_at = now() - interval '1 year' where id = 11`;
    await bench.db.sql`update users set last_active_at = now() where id = 2`;
    expect(await listDifferences(bench.resend.url, listId, await appUsers(bench.db.sql))).toEqual({
      missing: 1,
      staleNames: 1,
      extra: 1,
      duplicates: 0,
    });
  });
});
