import { execFileSync } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { Client, Connection } from '@temporalio/client';
import { startApiServer } from '../api/server.js';
import { runHistories } from '../client/histories.js';
import { reconciliationScheduleId } from '../client/reconciliation-schedule.js';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes.js';
import type { SyncRunResult } from '../common/sync.js';
import { apiConfigSchema, parseConfig, workerConfigSchema } from '../config/env.js';
import type { Sql } from '../db/sql.js';
import { startEmbeddedPostgres } from '../dev/postgres.js';
import { createScratchDatabase } from '../dev/scratch-database.js';
import { startTemporalDevServer } from '../dev/temporal.js';
import { spawnWorkerProcess, type WorkerProcess } from '../dev/worker-process.js';
import { createLogger } from '../telemetry/logger.js';
import { startEmulatorProcess } from './emulator.js';

/** The real stack a benchmark runs the service on, and the service itself for a span. */

export const API_SECRET = 'bench-secret-that-is-at-least-32-characters';
export const RESEND_KEY = 're_bench_audience_sync_key';

/** What a benchmark needs to run the service: one database, Temporal and the emulator. */
export interface BenchContext {
  sql: Sql;
  databaseUrl: string;
  temporalAddress: string;
  emulatorUrl: string;
  client: Client;
}

export interface BenchStack {
  /** The `postgres` maintenance database: create benchmark databases from it. */
  postgresUrl: string;
  temporalAddress: string;
  emulatorUrl: string;
  client: Client;
  /** Stops everything started, newest first, and deletes the data folder. */
  stop(): Promise<void>;
}

export interface BenchStackOptions {
  /** Postgres server settings (`-c name=value`), e.g. statement statistics. */
  postgresSettings?: Record<string, string>;
  emulatorRate: number;
  requestLogLimit: number;
}

/**
 * Postgres, Temporal and the Resend emulator, each in a process of its own, and the compiled
 * service (npm run build), as a deployment runs it. Whatever started is stopped if a later part
 * fails.
 */
export async function startBenchStack(options: BenchStackOptions): Promise<BenchStack> {
  const dataDir = path.resolve('.data', 'bench', `run-${process.pid}`);
  await mkdir(dataDir, { recursive: true });
  const stops: (() => Promise<unknown> | unknown)[] = [];
  const stop = async () => {
    for (const step of stops.reverse()) await step();
    await rm(dataDir, { recursive: true, force: true });
  };
  try {
    const postgres = await startEmbeddedPostgres({
      dataDir: path.join(dataDir, 'postgres'),
      port: 57_000 + (process.pid % 1000),
      persistent: false,
      ...(options.postgresSettings ? { settings: options.postgresSettings } : {}),
    });
    stops.push(() => postgres.stop());
    // Without a Temporal CLI this installs the pinned one (saying so), or fails with one message.
    const temporal = await startTemporalDevServer({ searchAttributes: SEARCH_ATTRIBUTES });
    stops.push(() => temporal.stop());
    const emulator = await startEmulatorProcess(options.emulatorRate, options.requestLogLimit);
    stops.push(() => emulator.child.kill('SIGTERM'));
    execFileSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const client = new Client({
      connection: await Connection.connect({ address: temporal.address }),
    });
    stops.push(() => client.connection.close());
    return {
      postgresUrl: postgres.url,
      temporalAddress: temporal.address,
      emulatorUrl: emulator.url,
      client,
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

/** A new database on the benchmark's Postgres, with the service's schema. */
export const createBenchDatabase = (postgresUrl: string, name: string) =>
  createScratchDatabase(postgresUrl, name, { max: 10 });

export interface ServiceOptions {
  /** RESEND_BULK. */
  bulk: 'auto' | 'off';
  /** The worker's own connection, when it differs from the API's (its own role). */
  workerDatabaseUrl?: string;
  taskQueue?: string;
  /** `build`: the compiled worker, as deployed (npm run build first). */
  workerEntry?: 'build' | 'source';
  workflowBundlePath?: string;
  /** SYNC_BATCHES_IN_FLIGHT of the worker; absent: its default. */
  batchesInFlight?: number;
  /** More Node flags for the worker, e.g. --cpu-prof. */
  workerNodeFlags?: string[];
  /** PREVIEW_COUNT_REFRESH_SECONDS of the API ('0': no count kept beside the runs). */
  previewCountRefreshSeconds?: string;
  /** Another platform's settings, for the worker and the API alike (e.g. Loops' key and URL). */
  platformSettings?: Record<string, string>;
}

export interface RunningService {
  apiUrl: string;
  worker: WorkerProcess;
}

/**
 * A worker process and an API in front of it for the span of `use`, then both stopped. The
 * worker's daily reconciliation schedule is paused, so that it never lands inside a timed run.
 */
export async function withService<T>(
  ctx: BenchContext,
  options: ServiceOptions,
  use: (service: RunningService) => Promise<T>,
): Promise<T> {
  const taskQueue = options.taskQueue ?? 'bench';
  const workerConfig = parseConfig(workerConfigSchema, {
    DATABASE_URL: options.workerDatabaseUrl ?? ctx.databaseUrl,
    RESEND_API_KEY: RESEND_KEY,
    RESEND_BASE_URL: ctx.emulatorUrl,
    TEMPORAL_ADDRESS: ctx.temporalAddress,
    TEMPORAL_TASK_QUEUE: taskQueue,
    LOG_LEVEL: 'info',
    RESEND_BULK: options.bulk,
    ...(options.batchesInFlight ? { SYNC_BATCHES_IN_FLIGHT: String(options.batchesInFlight) } : {}),
    ...options.platformSettings,
    ...(options.workflowBundlePath ? { WORKFLOW_BUNDLE_PATH: options.workflowBundlePath } : {}),
  });
  const worker = spawnWorkerProcess(
    workerConfig,
    options.workerEntry ?? 'build',
    options.workerNodeFlags ?? [],
  );
  try {
    // The clock starts once the worker polls, as it would in a deployment that is already up.
    await waitUntil(
      () => worker.output().includes('"msg":"worker started"'),
      60_000,
      () => (worker.child.exitCode !== null ? `the worker exited: ${worker.output()}` : undefined),
    );
    await ctx.client.schedule.getHandle(reconciliationScheduleId(taskQueue)).pause();
    const api = await startApiServer({
      config: parseConfig(apiConfigSchema, {
        MARKETING_API_SECRET: API_SECRET,
        DATABASE_URL: ctx.databaseUrl,
        // The API checks the platforms it serves, as the worker does.
        RESEND_API_KEY: RESEND_KEY,
        RESEND_BASE_URL: ctx.emulatorUrl,
        ...options.platformSettings,
        TEMPORAL_ADDRESS: ctx.temporalAddress,
        TEMPORAL_TASK_QUEUE: taskQueue,
        PORT: '0',
        LOG_LEVEL: 'silent',
        ...(options.previewCountRefreshSeconds
          ? { PREVIEW_COUNT_REFRESH_SECONDS: options.previewCountRefreshSeconds }
          : {}),
      }),
      sql: ctx.sql,
      temporal: ctx.client,
      logger: createLogger('silent'),
    });
    try {
      return await use({ apiUrl: api.url, worker });
    } finally {
      await api.close();
    }
  } finally {
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
}

async function waitUntil(
  condition: () => boolean,
  timeoutMs: number,
  failure: () => string | undefined = () => undefined,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    const failed = failure();
    if (failed) throw new Error(failed);
    if (Date.now() > deadline) throw new Error('the worker did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

/** Starts a run through the API, which answers at once with the run's id. */
export async function startRunThroughApi(
  apiUrl: string,
  route: string,
  body: Record<string, unknown>,
): Promise<string> {
  const response = await fetch(`${apiUrl}${route}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${API_SECRET}`,
      'content-type': 'application/json',
      prefer: 'respond-async',
    },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { runId?: string };
  if (!answer.runId) throw new Error(`${route} answered ${response.status} without a run id`);
  return answer.runId;
}

/** Starts a run through the API and waits for the run's result. */
export async function runThroughApi(
  ctx: BenchContext,
  apiUrl: string,
  route: string,
  body: Record<string, unknown>,
): Promise<{ runId: string; result: SyncRunResult }> {
  const runId = await startRunThroughApi(apiUrl, route, body);
  const result: SyncRunResult = await ctx.client.workflow.getHandle(runId).result();
  return { runId, result };
}

/** History events of every execution of a run. */
export async function historyEventsOf(client: Client, runId: string): Promise<number> {
  const histories = await runHistories(client, runId);
  return histories.reduce((sum, history) => sum + (history.events?.length ?? 0), 0);
}
