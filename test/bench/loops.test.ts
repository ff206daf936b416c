import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { type LoopsRow, runLoopsScenario } from '../../bench/loops.js';
import { seedDemoUsers } from '../../db/demo-users.js';
import { type StartedLoopsEmulator, startLoopsEmulator } from '../../emulator/loops/index.js';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import {
  connectTestClient,
  createTestDatabase,
  type TestDatabase,
  uniqueName,
} from '../support/stack.js';

/**
 * The Loops benchmark at a tiny N, on the real stack: the service's sync and the naive loop with
 * the plain SDK run side by side against the same emulator, each audited against it. Its figures
 * are the benchmark's business, not this test's.
 */
let db: TestDatabase;
let resend: StartedResendEmulator;
let loops: StartedLoopsEmulator;
let client: Client;
let rows: LoopsRow[];

const USERS = 40;
const RATE = 100;

beforeAll(async () => {
  db = await createTestDatabase();
  await seedDemoUsers(db.sql, { count: USERS, mix: 'eligible' });
  resend = await startResendEmulator({ rateLimit: 100 });
  loops = await startLoopsEmulator({ rateLimit: RATE });
  client = await connectTestClient();
  const users = await db.sql<{ email: string }[]>`select lower(email) as email from users`;
  rows = await runLoopsScenario(
    {
      sql: db.sql,
      databaseUrl: db.url,
      temporalAddress: inject('temporalAddress'),
      emulatorUrl: resend.url,
      client,
      emails: new Set(users.map((user) => user.email)),
      loopsUrl: loops.url,
      loopsApiRoot: loops.apiRoot,
      listId: loops.mailingLists()[0]?.id ?? '',
    },
    { users: USERS, rate: RATE },
    {
      workerEntry: 'source',
      workflowBundlePath: inject('workflowBundlePath'),
      taskQueue: uniqueName('queue'),
    },
    () => {},
  );
}, 180_000);

afterAll(async () => {
  await client?.connection.close();
  await loops?.close();
  await resend?.close();
  await db?.drop();
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
