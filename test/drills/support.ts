import { readdirSync, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import {
  Client,
  Connection,
  defaultGrpcRetryOptions,
  makeGrpcRetryInterceptor,
} from '@temporalio/client';
import { expect, inject } from 'vitest';
import { startApiServer } from '../../api/server.js';
import type { ApiConfig, WorkerConfig } from '../../config/env.js';
import { type DemoMix, seedDemoUsers } from '../../db/demo-users.js';
import { createSql, type Sql } from '../../db/sql.js';
import { type ResendEmulatorOptions, startResendEmulator } from '../../emulator/resend/index.js';
import { createLogger } from '../../telemetry/logger.js';
import {
  type AppStack,
  apiCaller,
  eligibleEmails,
  emulatedContacts,
  emulatorAdmin,
  type LoggedRequest,
} from '../support/app-stack.js';
import {
  createTestDatabase,
  installQuietRuntime,
  type RunningWorker,
  startTestWorker,
  type TestDatabase,
  testApiConfig,
  testWorkerConfig,
} from '../support/stack.js';
import { type TemporalCallRecorder, temporalCallRecorder } from '../support/temporal-calls.js';

/** A free TCP port on 127.0.0.1, for a server that must come back on the same address. */
export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** Before a drill starts its own Temporal server: the quiet runtime the test workers use. */
export const installDrillRuntime = installQuietRuntime;

/** A real worker in this process on the config's queue and Temporal, running until stopped. */
export const startDrillWorker = (config: WorkerConfig, sql: Sql): Promise<RunningWorker> =>
  startTestWorker(config, sql);

/** A fresh database with the service's schema on the Postgres at `maintenanceUrl`. */
export const createDatabaseOn = (maintenanceUrl: string): Promise<TestDatabase> =>
  createTestDatabase(maintenanceUrl, 'audience-sync-drill-worker');

export interface DrillStackOptions {
  /** Maintenance URL of the Postgres to use; the suite's shared one when absent. */
  postgresUrl?: string;
  /** The Temporal frontend to use; the suite's shared dev server when absent. */
  temporalAddress?: string;
  users?: number;
  mix?: DemoMix;
  emulator?: ResendEmulatorOptions;
  worker?: Partial<Record<keyof WorkerConfig, string>>;
  api?: Partial<Record<keyof ApiConfig, string>>;
  /** Start a worker in this process (default true). */
  inProcessWorker?: boolean;
}

export type DrillStack = AppStack & {
  /** The API's own pool, as the API process has it (10 connections). */
  apiSql: ReturnType<typeof createSql>;
  /** The API's calls to Temporal, with their deadlines. */
  temporalCalls: TemporalCallRecorder;
};

/**
 * The product wired as in production, like the suite's app stack, but on a Postgres and a Temporal
 * the drill may stop; the API has a pool of its own, as a separate process would.
 */
export async function startDrillStack(options: DrillStackOptions = {}): Promise<DrillStack> {
  const temporalAddress = options.temporalAddress ?? inject('temporalAddress');
  const db = await createDatabaseOn(options.postgresUrl ?? inject('postgresUrl'));
  if (options.users) {
    await seedDemoUsers(db.sql, { count: options.users, mix: options.mix ?? 'eligible' });
  }
  const emulator = await startResendEmulator({ rateLimit: 200, ...options.emulator });
  const workerConfig = testWorkerConfig({
    DATABASE_URL: db.url,
    RESEND_BASE_URL: emulator.url,
    TEMPORAL_ADDRESS: temporalAddress,
    ...options.worker,
  });
  const worker =
    options.inProcessWorker === false ? undefined : await startDrillWorker(workerConfig, db.sql);
  const apiConfig = testApiConfig({
    DATABASE_URL: db.url,
    TEMPORAL_ADDRESS: temporalAddress,
    TEMPORAL_TASK_QUEUE: workerConfig.TEMPORAL_TASK_QUEUE,
    ...options.api,
  });
  const apiSql = createSql(db.url, { applicationName: 'audience-sync-drill-api' });
  // The API's client as in production (the SDK's retries), its calls recorded first.
  const temporalCalls = temporalCallRecorder();
  const connection = await Connection.connect({
    address: temporalAddress,
    interceptors: [temporalCalls.interceptor, makeGrpcRetryInterceptor(defaultGrpcRetryOptions())],
  });
  const client = new Client({ connection, namespace: 'default' });
  const api = await startApiServer({
    config: apiConfig,
    sql: apiSql,
    temporal: client,
    logger: createLogger('silent'),
  });

  return {
    db,
    apiSql,
    temporalCalls,
    emulator,
    workerConfig,
    apiConfig,
    worker,
    api,
    client,
    call: apiCaller(api.url),
    async stop() {
      await api.close();
      await worker?.stop();
      await client.connection.close();
      await apiSql.end({ timeout: 5 });
      await emulator.close();
      await db.drop();
    },
  };
}

/** Checkpointed batches of a run, from the service's own table. */
export async function checkpoints(stack: AppStack, runId: string): Promise<number> {
  const [row] = await stack.db.sql<{ count: number }[]>`
    select count(*)::int as count from audience_sync.run_batches where run_id = ${runId}`;
  return row?.count ?? 0;
}

/**
 * What every drill ends with, for one finished run of all users into a new audience: completed,
 * counts that add up to the population, every eligible user in the audience (0 lost), no email
 * twice among the contacts (0 duplicated) and exactly one segment with the audience's name.
 */
export async function expectRunWhole(
  stack: AppStack,
  ended: {
    status: string;
    audience: { id: string; name: string };
    progress: { processed: number; added: number; skipped: number; failed: number };
  },
  audienceName: string,
): Promise<{ population: number; members: number }> {
  expect(ended.status).toBe('completed');
  const [row] = await stack.db.sql<{ count: number }[]>`
    select count(*)::int as count from users where deleted_at is null`;
  const population = row?.count ?? -1;
  const { processed, added, skipped, failed } = ended.progress;
  expect(added + skipped + failed).toBe(processed);
  expect(processed).toBe(population);

  const members = await emulatedContacts(stack.emulator, `&segment_id=${ended.audience.id}`);
  expect(members.map((contact) => contact.email.toLowerCase()).sort()).toEqual(
    await eligibleEmails(stack),
  );
  const everyone = await emulatedContacts(stack.emulator);
  const emails = everyone.map((contact) => contact.email.toLowerCase());
  expect(new Set(emails).size).toBe(emails.length);

  const segments = await emulatorAdmin<{ data: { id: string; name: string }[] }>(
    stack.emulator,
    '/segments',
  );
  expect(segments.data.filter((segment) => segment.name === audienceName)).toEqual([
    expect.objectContaining({ id: ended.audience.id }),
  ]);
  return { population, members: members.length };
}

/** Requests per fixed one-second window of the emulator's clock (its limiter's windows). */
export function requestsPerSecond(
  log: LoggedRequest[],
  include: (entry: LoggedRequest) => boolean = () => true,
): Map<number, number> {
  const windows = new Map<number, number>();
  for (const entry of log) {
    if (!include(entry)) continue;
    const second = Math.floor(Date.parse(entry.at) / 1000);
    windows.set(second, (windows.get(second) ?? 0) + 1);
  }
  return windows;
}

/** The pid of the process whose command line holds all of `parts` (e.g. a server's port). */
export function findProcess(parts: string[]): number | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    let args: string[];
    try {
      args = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
    } catch {
      continue;
    }
    if (parts.every((part) => args.includes(part))) return Number(entry);
  }
  return undefined;
}

/** Milliseconds since `start`, rounded. */
export const since = (start: number): number => Math.round(performance.now() - start);
