import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import type { SyncRunResult } from '../../common/sync.js';
import { seedDemoUsers } from '../../db/demo-users.js';
import { READY_LINE } from '../../dev/banner.js';
import { ELIGIBLE_SQL } from '../support/app-stack.js';
import {
  connectTestClient,
  createTestDatabase,
  type TestDatabase,
  uniqueName,
} from '../support/stack.js';
import { type DevProcess, freePorts, startDevProcess } from './dev-process.js';

const ACTIVE = `last_active_at >= now() - interval '30 days'`;

/**
 * The mirror walk-through `npm run dev` prints, followed as an operator would: the commands are
 * taken from the banner itself, so a banner that drifts from what the service does fails here.
 */
describe('npm run dev: the mirror walk-through it prints', () => {
  let database: TestDatabase;
  let client: Client;
  let scratch: string;
  let dev: DevProcess | undefined;

  beforeAll(async () => {
    database = await createTestDatabase();
    // An external database is never seeded by npm run dev: the demo users it would seed.
    await seedDemoUsers(database.sql, { count: 100 });
    client = await connectTestClient();
    scratch = await mkdtemp(path.join(tmpdir(), 'dev-mirror-'));
  });
  afterAll(async () => {
    if (dev && dev.child.exitCode === null) dev.child.kill('SIGKILL');
    await client?.connection.close();
    await database?.drop();
    await rm(scratch, { recursive: true, force: true });
  });

  const members = async (emulatorUrl: string, listId: string): Promise<string[]> => {
    const answer = await fetch(
      `${emulatorUrl}/_emulator/contacts?limit=100000&segment_id=${listId}`,
    );
    const { data } = (await answer.json()) as { data: { email: string }[] };
    return data.map((contact) => contact.email.toLowerCase()).sort();
  };
  const activeEligible = async (): Promise<string[]> =>
    (
      await database.sql.unsafe<{ email: string }[]>(
        `select distinct lower(btrim(email)) as email from users
         where ${ELIGIBLE_SQL} and ${ACTIVE} order by 1`,
      )
    ).map((row) => row.email);

  it('mirrors a list, makes five users leave with its SQL, and the next mirror run removes them', async () => {
    const [api, emulatorPort, loopsPort] = await freePorts(3);
    dev = startDevProcess(
      {
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: uniqueName('dev-mirror'),
        PORT: String(api),
        RESEND_EMULATOR_PORT: String(emulatorPort),
        RESEND_EMULATOR_RATE_LIMIT: '100',
        LOOPS_EMULATOR_PORT: String(loopsPort),
      },
      path.join(scratch, '.data'),
    );
    await dev.waitForOutput(new RegExp(`^${READY_LINE}$`, 'm'));
    const banner = dev.stdout();
    const emulatorUrl = `http://127.0.0.1:${emulatorPort}`;

    const secret = /-H 'Authorization: Bearer ([^']+)'/.exec(banner)?.[1];
    const mirrorBodies = [...banner.matchAll(/-d '(\{[^']*"mode":"mirror"[^']*\})'/g)].map(
      (match) => match[1] ?? '',
    );
    const leaveSql = /psql "\$DATABASE_URL" \\\n\s+-c "([^"]+)"/.exec(banner)?.[1];
    expect(secret).toBeDefined();
    expect(mirrorBodies).toHaveLength(2);
    expect(leaveSql).toBeDefined();
    expect(banner).toContain('filter by SyncListId = "<list_id>"');

    const sync = async (body: string) => {
      const response = await fetch(`http://127.0.0.1:${api}/api/marketing/sync`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${secret}`,
          'content-type': 'application/json',
          prefer: 'respond-async',
        },
        body,
      });
      expect(response.status).toBe(202);
      const { runId } = (await response.json()) as { runId: string };
      const result: SyncRunResult = await client.workflow.getHandle(runId).result();
      return { runId, result };
    };

    const first = await sync(mirrorBodies[0] ?? '');
    const listId = first.result.listId ?? '';
    const before = await activeEligible();
    expect(before.length).toBeGreaterThan(5);
    expect(await members(emulatorUrl, listId)).toEqual(before);

    const leavers = (
      await database.sql<{ email: string }[]>`
        select lower(btrim(email)) as email from users where id between 1 and 5 order by id`
    ).map((row) => row.email);
    expect(leavers.every((email) => before.includes(email))).toBe(true);
    await database.sql.unsafe(leaveSql ?? '');

    const second = await sync((mirrorBodies[1] ?? '').replace('<list_id>', listId));
    // The demo mix's two invalid emails per 100 users fail in every run, with their reason.
    expect(second.result.progress).toMatchObject({
      removed: 5,
      unsubscribed: 0,
      failed: 2,
      processed: first.result.progress.processed - 5,
    });
    expect(await members(emulatorUrl, listId)).toEqual(
      before.filter((email) => !leavers.includes(email)),
    );
    // What the Web UI shows as the run's current details.
    const metadata = await client.workflow
      .getHandle(second.runId)
      .query<{ currentDetails?: string }>('__temporal_workflow_metadata');
    expect(metadata.currentDetails).toContain('leavers: 5 of 5 removed');

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
    // Start-up, two runs and the stop; well over a minute on a loaded machine.
  }, 240_000);
});
