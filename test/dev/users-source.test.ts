import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { READY_LINE } from '../../dev/banner.js';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { createTestDatabase, type TestDatabase, uniqueName } from '../support/stack.js';
import { type DevProcess, freePorts, leftoverProcesses, startDevProcess } from './dev-process.js';

/**
 * `npm run dev` against a database whose users relation lacks columns a run reads: it does not
 * say it is ready, it stops with one message naming the missing columns.
 */
describe('npm run dev with a users relation that lacks columns', () => {
  let database: TestDatabase;
  let emulator: StartedResendEmulator;
  let scratch: string;
  let dev: DevProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    await database.sql`create table users (id bigint primary key, email text)`;
    emulator = await startResendEmulator({ rateLimit: 100 });
    scratch = await mkdtemp(path.join(tmpdir(), 'dev-users-source-'));
  });
  afterAll(async () => {
    if (dev && dev.child.exitCode === null) dev.child.kill('SIGKILL');
    await emulator.close();
    await database.drop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('stops with a message naming the missing columns instead of saying ready', async () => {
    const [api, loopsPort] = await freePorts(2);
    dev = startDevProcess(
      {
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: uniqueName('dev-users-source'),
        RESEND_API_KEY: 're_test_users_source_key',
        RESEND_BASE_URL: emulator.url,
        PORT: String(api),
        LOOPS_EMULATOR_PORT: String(loopsPort),
      },
      path.join(scratch, '.data'),
    );
    expect(await dev.exited).toBe(1);
    expect(
      dev
        .stderr()
        .split('\n')
        .filter((line) => line.startsWith('audience-sync could not start')),
    ).toEqual([
      'audience-sync could not start: USERS_SOURCE "users" lacks the column(s) first_name, last_name, full_name, created_at, last_active_at; create a view that provides them',
    ]);
    expect(dev.stdout()).not.toMatch(new RegExp(`^${READY_LINE}$`, 'm'));
    expect(leftoverProcesses(dev.marker)).toEqual([]);
  });
});
