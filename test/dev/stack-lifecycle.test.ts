import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import type { Client } from '@temporalio/client';
import { afterAll, afterEach, beforeAll, describe, expect, inject, it } from 'vitest';
import {
  RECONCILIATION_WORKFLOW_TYPE,
  reconciliationScheduleId,
} from '../../client/reconciliation-schedule.js';
import type { SyncRunResult } from '../../common/sync.js';
import { createUsersTable, seedDemoUsers } from '../../db/demo-users.js';
import { READY_LINE } from '../../dev/banner.js';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { emulatedContacts, requestLog, successfulCreates } from '../support/app-stack.js';
import {
  connectTestClient,
  createTestDatabase,
  TEST_RESEND_KEY,
  type TestDatabase,
  uniqueName,
  waitFor,
} from '../support/stack.js';
import {
  type DevProcess,
  freePorts,
  isListening,
  leftoverProcesses,
  startDevProcess,
} from './dev-process.js';

const ready = (dev: DevProcess) => dev.waitForOutput(new RegExp(`^${READY_LINE}$`, 'm'));

/** The secret the banner's commands carry. */
const bannerSecret = (dev: DevProcess): string | undefined =>
  /-H 'Authorization: Bearer ([^']+)'/.exec(dev.stdout())?.[1];

/** Whatever a failed test leaves of a stack goes, so no port stays taken for the next file. */
const killLeftovers = (dev: DevProcess | undefined) => {
  if (!dev) return;
  for (const pid of leftoverProcesses(dev.marker)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // Gone meanwhile.
    }
  }
};

/** The local stack's worker keeps the daily reconciliation schedule, as every worker does. */
describe('npm run dev: the daily reconciliation', () => {
  let database: TestDatabase;
  let client: Client;
  let scratch: string;
  let dev: DevProcess | undefined;
  const taskQueue = uniqueName('dev-reconciliation');

  beforeAll(async () => {
    database = await createTestDatabase();
    // Your own Postgres holds your users relation (npm run dev checks it before saying ready).
    await createUsersTable(database.sql);
    client = await connectTestClient();
    scratch = await mkdtemp(path.join(tmpdir(), 'dev-reconciliation-'));
  });
  afterAll(async () => {
    killLeftovers(dev);
    await client.schedule
      .getHandle(reconciliationScheduleId(taskQueue))
      .delete()
      .catch(() => {});
    await client.connection.close();
    await database.drop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('has the schedule in Temporal once it says ready', async () => {
    const [api, emulatorPort, loopsPort] = await freePorts(3);
    dev = startDevProcess(
      {
        DATABASE_URL: database.url,
        TEMPORAL_ADDRESS: inject('temporalAddress'),
        TEMPORAL_TASK_QUEUE: taskQueue,
        PORT: String(api),
        RESEND_EMULATOR_PORT: String(emulatorPort),
        LOOPS_EMULATOR_PORT: String(loopsPort),
      },
      path.join(scratch, '.data'),
    );
    await ready(dev);

    const schedule = await client.schedule
      .getHandle(reconciliationScheduleId(taskQueue))
      .describe();
    expect(schedule.action).toMatchObject({
      type: 'startWorkflow',
      workflowType: RECONCILIATION_WORKFLOW_TYPE,
      taskQueue,
    });
    expect(schedule.state.paused).toBe(false);

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
  });
});

/**
 * Ctrl-C while a batch is sending: the stack does not wait for the batch to finish. The batch
 * stops sending, its attempt is handed back to Temporal, and the run goes on when a worker polls
 * again (here: the next `npm run dev`), with every user synced once.
 */
describe('npm run dev: Ctrl-C with a run in flight', () => {
  let database: TestDatabase;
  let emulator: StartedResendEmulator;
  let client: Client;
  let scratch: string;
  let dev: DevProcess | undefined;
  const USERS = 200;
  /** A batch of every user at 10 requests a second: about 20 s of sending. */
  const RATE = 10;
  /**
   * What may still reach Resend once the stop began: the requests already sent, at most the
   * gate's 16 per batch for the two batches a run has in flight.
   */
  const MOST_REQUESTS_IN_FLIGHT = 2 * 16;

  beforeAll(async () => {
    database = await createTestDatabase();
    await seedDemoUsers(database.sql, { count: USERS, mix: 'eligible' });
    emulator = await startResendEmulator({ rateLimit: RATE });
    client = await connectTestClient();
    scratch = await mkdtemp(path.join(tmpdir(), 'dev-ctrl-c-'));
  });
  afterEach(() => killLeftovers(dev));
  afterAll(async () => {
    await client.connection.close();
    await emulator.close();
    await database.drop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('stops without finishing the batch, and the next start completes the run with nothing lost', async () => {
    const [api, loopsPort] = await freePorts(2);
    const env = {
      DATABASE_URL: database.url,
      TEMPORAL_ADDRESS: inject('temporalAddress'),
      TEMPORAL_TASK_QUEUE: uniqueName('dev-ctrl-c'),
      RESEND_API_KEY: TEST_RESEND_KEY,
      RESEND_BASE_URL: emulator.url,
      // The per-contact path: one request per user, so the batch in flight is long.
      RESEND_BULK: 'off',
      SYNC_BATCH_SIZE: String(USERS),
      PORT: String(api),
      LOOPS_EMULATOR_PORT: String(loopsPort),
    };
    const dataDir = path.join(scratch, '.data');
    dev = startDevProcess(env, dataDir);
    await ready(dev);
    // Without MARKETING_API_SECRET the stack has its own, printed in the banner.
    const secret = bannerSecret(dev);

    const started = await fetch(`http://127.0.0.1:${api}/api/marketing/sync`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${secret}`,
        'content-type': 'application/json',
        prefer: 'respond-async',
      },
      body: JSON.stringify({ platform: 'resend', list_name: 'Ctrl-C', sync_type: 'all' }),
    });
    expect(started.status).toBe(202);
    const { runId } = (await started.json()) as { runId: string };
    const contactWrites = async (sinceSeq = 0) =>
      (await requestLog(emulator, `&since_seq=${sinceSeq}`)).filter(
        (entry) => entry.method === 'POST' && entry.path === '/contacts',
      );
    await waitFor(async () => (await contactWrites()).length >= 10, {
      timeoutMs: 60_000,
      what: 'the batch to be sending',
    });
    const beforeStop = await requestLog(emulator);
    const lastSeqBeforeStop = Math.max(...beforeStop.map((entry) => entry.seq));

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);

    const afterStop = await contactWrites(lastSeqBeforeStop);
    expect(afterStop.length).toBeLessThanOrEqual(MOST_REQUESTS_IN_FLIGHT);
    const sentBeforeExit = (await contactWrites()).length;
    expect(sentBeforeExit).toBeLessThan(USERS);

    dev = startDevProcess(env, dataDir);
    await ready(dev);
    // Kept in the data folder: what was pasted from the first banner still works.
    expect(bannerSecret(dev)).toBe(secret);
    const result: SyncRunResult = await client.workflow.getHandle(runId).result();
    expect(result.progress).toMatchObject({
      total: USERS,
      processed: USERS,
      added: USERS,
      skipped: 0,
      failed: 0,
    });
    const expected = (
      await database.sql<{ email: string }[]>`select email from users order by email`
    ).map((row) => row.email);
    const members = await emulatedContacts(emulator, `&segment_id=${result.listId}`);
    expect(members.map((contact) => contact.email).sort()).toEqual(expected);
    const creates = successfulCreates(await requestLog(emulator));
    expect([...creates.values()].filter((count) => count > 1)).toEqual([]);

    dev.child.kill('SIGINT');
    expect(await dev.exited).toBe(0);
  }, 240_000);
});

/** `npm run dev` killed outright (SIGKILL, no Ctrl-C): what it started stops with it. */
describe('npm run dev: killed outright', () => {
  let scratch: string;
  let dev: DevProcess | undefined;

  beforeAll(async () => {
    scratch = await mkdtemp(path.join(tmpdir(), 'dev-killed-'));
    // Enterable by every user, so Postgres starts even when the tests run as root.
    await chmod(scratch, 0o755);
  });
  afterAll(async () => {
    killLeftovers(dev);
    await rm(scratch, { recursive: true, force: true });
  });

  it('leaves no process of the stack and no port taken', async () => {
    const [postgres, temporal, ui, emulatorPort, loopsPort, api] = await freePorts(6);
    const ports = {
      DEV_POSTGRES_PORT: String(postgres),
      DEV_TEMPORAL_PORT: String(temporal),
      DEV_TEMPORAL_UI_PORT: String(ui),
      RESEND_EMULATOR_PORT: String(emulatorPort),
      LOOPS_EMULATOR_PORT: String(loopsPort),
      PORT: String(api),
    };
    dev = startDevProcess({ ...ports, DEMO_USERS: '10' }, path.join(scratch, '.data'), 'npm');
    await ready(dev);
    const openPorts = async () => {
      const open: string[] = [];
      for (const [name, port] of Object.entries(ports)) {
        if (await isListening(Number(port))) open.push(name);
      }
      return open;
    };
    expect(await openPorts()).toEqual(Object.keys(ports));

    dev.child.kill('SIGKILL');
    await dev.exited;

    const running = dev;
    await waitFor(async () => leftoverProcesses(running.marker).length === 0, {
      timeoutMs: 60_000,
      what: 'every process of the stack to end',
    });
    expect(await openPorts()).toEqual([]);
  }, 180_000);
});
