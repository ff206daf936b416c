import { randomBytes } from 'node:crypto';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, NativeConnection, Runtime, type Worker } from '@temporalio/worker';
import { inject } from 'vitest';
import type { PlatformModule } from '../../activities/platforms/platform.js';
import {
  type ApiConfig,
  apiConfigSchema,
  parseConfig,
  type WorkerConfig,
  workerConfigSchema,
} from '../../config/env.js';
import type { Sql } from '../../db/sql.js';
import { createScratchDatabase, type ScratchDatabase } from '../../dev/scratch-database.js';
import { createSyncWorker } from '../../worker/worker.js';

/** Per-file isolation: a fresh database with the service's schema, dropped at the end. */
export type TestDatabase = ScratchDatabase;

export const uniqueName = (prefix: string): string => `${prefix}_${randomBytes(4).toString('hex')}`;

export const createTestDatabase = (
  maintenanceUrl: string = inject('postgresUrl'),
  applicationName?: string,
): Promise<TestDatabase> =>
  createScratchDatabase(maintenanceUrl, uniqueName('test'), {
    max: 20,
    ...(applicationName ? { applicationName } : {}),
  });

export const TEST_SECRET = 'test-secret-that-is-at-least-32-characters-long';
export const TEST_RESEND_KEY = 're_test_audience_sync_key';
export const TEST_LOOPS_KEY = 'loops_test_audience_sync_key';

export function testWorkerConfig(
  overrides: Partial<Record<keyof WorkerConfig, string>> & { DATABASE_URL: string },
): WorkerConfig {
  return parseConfig(workerConfigSchema, {
    RESEND_API_KEY: TEST_RESEND_KEY,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    TEMPORAL_TASK_QUEUE: uniqueName('queue'),
    WORKFLOW_BUNDLE_PATH: inject('workflowBundlePath'),
    LOG_LEVEL: 'warn',
    // Tests of the per-contact path keep to it; tests of bulk creation ask for `auto`.
    RESEND_BULK: 'off',
    ...overrides,
  });
}

export function testApiConfig(
  overrides: Partial<Record<keyof ApiConfig, string>> & { DATABASE_URL: string },
): ApiConfig {
  return parseConfig(apiConfigSchema, {
    MARKETING_API_SECRET: TEST_SECRET,
    // The platform the tests' worker serves, so the API knows it is configured.
    RESEND_API_KEY: TEST_RESEND_KEY,
    TEMPORAL_ADDRESS: inject('temporalAddress'),
    PORT: '0',
    LOG_LEVEL: 'silent',
    ...overrides,
  });
}

let runtimeInstalled = false;
/**
 * Temporal's native runtime, quiet, installed once per test file. A test that starts its own
 * Temporal server calls this first: the server's start would otherwise make the default one.
 */
export const installQuietRuntime = () => {
  if (runtimeInstalled) return;
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  runtimeInstalled = true;
};

export interface RunningWorker {
  worker: Worker;
  stop(): Promise<void>;
}

/**
 * A real worker in this process, on the file's own task queue, running until stopped. It serves
 * the configured platforms unless `platforms` names others.
 */
export async function startTestWorker(
  config: WorkerConfig,
  sql: Sql,
  platforms?: PlatformModule[],
): Promise<RunningWorker> {
  installQuietRuntime();
  const connection = await NativeConnection.connect({ address: config.TEMPORAL_ADDRESS });
  const worker = await createSyncWorker({
    config,
    sql,
    connection,
    ...(platforms ? { platforms } : {}),
  });
  const running = worker.run();
  return {
    worker,
    async stop() {
      if (worker.getState() === 'RUNNING') worker.shutdown();
      await running;
      await connection.close();
    },
  };
}

export async function connectTestClient(): Promise<Client> {
  const connection = await Connection.connect({ address: inject('temporalAddress') });
  return new Client({ connection, namespace: 'default' });
}

/**
 * Polls until `probe` returns a value other than undefined, null or false, or fails after the
 * deadline.
 * Tests wait on conditions like this, never on fixed sleeps.
 */
export async function waitFor<T>(
  probe: () => Promise<T | undefined | null | false> | T | undefined | null | false,
  { timeoutMs = 30_000, intervalMs = 50, what = 'condition' } = {},
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== null && value !== false) return value;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
