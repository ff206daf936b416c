import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NativeConnection, Worker } from '@temporalio/worker';
import { createSyncActivities } from '../activities/index.js';
import { createResendPlatform, resendAccountId } from '../activities/platforms/resend.js';
import { createRateLimiter } from '../activities/rate-limiter.js';
import { temporalConnectionOptions } from '../client/temporal.js';
import type { WorkerConfig } from '../config/env.js';
import type { Sql } from '../db/sql.js';

const here = path.dirname(fileURLToPath(import.meta.url));

/** The workflows' entry module: the TypeScript source, or its compiled form in a build. */
export function workflowsEntry(): string {
  const source = path.join(here, '..', 'workflows', 'index.ts');
  return existsSync(source) ? source : path.join(here, '..', 'workflows', 'index.js');
}

/**
 * Where the workflow code comes from: the bundle built with the production build when it is
 * there (dist/), else the sources, bundled at start.
 */
export function workflowSource():
  | { workflowBundle: { codePath: string } }
  | { workflowsPath: string } {
  const prebuilt = path.join(here, '..', 'workflow-bundle.js');
  if (existsSync(prebuilt)) return { workflowBundle: { codePath: prebuilt } };
  return { workflowsPath: workflowsEntry() };
}

const workflowCode = (bundlePath: string | undefined) =>
  bundlePath ? { workflowBundle: { codePath: bundlePath } } : workflowSource();

/** The composition root of the activities: the shared limiter, the platform client, the pool. */
export function buildActivities(config: WorkerConfig, sql: Sql) {
  const limiter = createRateLimiter(sql, {
    key: resendAccountId(config.RESEND_API_KEY),
    upperBound: config.RESEND_RATE_LIMIT,
  });
  return createSyncActivities({
    sql,
    usersSource: config.USERS_SOURCE,
    batchSize: config.SYNC_BATCH_SIZE,
    platformFor: (_platform, signal) =>
      createResendPlatform({
        apiKey: config.RESEND_API_KEY,
        baseUrl: config.RESEND_BASE_URL,
        limiter,
        signal,
      }),
    // Enough requests in flight to fill the rate limit at a typical 100-200 ms round trip.
    concurrency: () => Math.min(16, Math.max(2, Math.ceil(limiter.limit / 4))),
  });
}

export interface SyncWorkerOptions {
  config: WorkerConfig;
  sql: Sql;
  connection?: NativeConnection;
  /** A prebuilt bundle (tests bundle once for every file); else WORKFLOW_BUNDLE_PATH, else workflowSource(). */
  workflowBundlePath?: string;
}

export async function createSyncWorker(options: SyncWorkerOptions): Promise<Worker> {
  const { config } = options;
  const connection =
    options.connection ?? (await NativeConnection.connect(temporalConnectionOptions(config)));
  return Worker.create({
    connection,
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    ...workflowCode(options.workflowBundlePath ?? config.WORKFLOW_BUNDLE_PATH),
    activities: buildActivities(config, options.sql),
    // Batches are sequential per run; this bounds batches of different runs per process.
    maxConcurrentActivityTaskExecutions: 8,
    // Let the batch in flight finish on shutdown; it is resumable anyway.
    shutdownGraceTime: '30 seconds',
  });
}
