import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type LoopsRow, runLoopsScenario } from '../../bench/loops.js';
import { seedDemoUsers } from '../../db/demo-users.js';
import { type StartedLoopsEmulator, startLoopsEmulator } from '../../emulator/loops/index.js';
import { startTestBench, type TestBench } from '../support/bench-stack.js';

/**
 * The Loops benchmark at a tiny N, on the real stack: the service's sync and the naive loop with
 * the plain SDK run side by side against the same emulator, each audited against it. Its figures
 * are the benchmark's business, not this test's.
 */
let bench: TestBench;
let loops: StartedLoopsEmulator;
let rows: LoopsRow[];

const USERS = 40;
const RATE = 100;

beforeAll(async () => {
  bench = await startTestBench();
  await seedDemoUsers(bench.db.sql, { count: USERS, mix: 'eligible' });
  loops = await startLoopsEmulator({ rateLimit: RATE });
  const users = await bench.db.sql<{ email: string }[]>`select lower(email) as email from users`;
  rows = await runLoopsScenario(
    {
      ...bench.ctx,
      emails: new Set(users.map((user) => user.email)),
      loopsUrl: loops.url,
      loopsApiRoot: loops.apiRoot,
      listId: loops.mailingLists()[0]?.id ?? '',
    },
    { users: USERS, rate: RATE },
    bench.service,
    () => {},
  );
}, 180_000);

afterAll(async () => {
  await loops?.close();
  await bench?.stop();
});

describe('npm run bench -- --loops', () => {
  it('syncs every user into the mailing list through the service, then with the naive loop, nothing lost', () => {
    expect(
      rows.map((row) => [row.system, row.users, row.rateLimit, row.lost, row.duplicates]),
    ).toEqual([
      ['audience-sync-loops', USERS, RATE, 0, 0],
      ['naive-loops-sequential', USERS, RATE, 0, 0],
    ]);
  });

  it('counts the requests of each run on its own emulator: at least one per user, the naive one exactly', () => {
    const [service, naive] = rows;
    expect(service?.requests).toBeGreaterThanOrEqual(USERS);
    // One updateContact per user, plus one per 429 it met and sent again.
    expect(naive?.requests).toBe(USERS + (naive?.http429 ?? 0));
  });

  it('reports ids and counts only, no email', () => {
    expect(JSON.stringify(rows)).not.toMatch(/@/);
  });
});
