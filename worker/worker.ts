import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Duration } from '@temporalio/common';
import { NativeConnection, Worker } from '@temporalio/worker';
import {
  createErasureActivities,
  createReconciliationActivities,
  createSyncActivities,
} from '../activities/index.js';
import type { PlatformModule } from '../activities/platforms/platform.js';
import {
  createPlatformRegistry,
  loadConfiguredPlatforms,
} from '../activities/platforms/registry.js';
import { temporalConnectionOptions } from '../client/temporal.js';
import type { WorkerConfig } from '../config/env.js';
import type { Sql } from '../db/sql.js';
import { syncWorkerOptions } from './options.js';

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

/**
 * The platforms a worker serves: those its configuration holds the credentials of, and whose
 * sync client this version has (the registry says which cannot sync yet).
 */
export async function configuredPlatforms(config: WorkerConfig): Promise<PlatformModule[]> {
  return (await loadConfiguredPlatforms(config)).modules;
}

/** The composition root of the activities: the platform registry and the database. */
export function buildActivities(config: WorkerConfig, sql: Sql, platforms: PlatformModule[]) {
  const registry = createPlatformRegistry(sql, platforms);
  return {
    ...createSyncActivities({
      sql,
      usersSource: config.USERS_SOURCE,
      batchSize: config.SYNC_BATCH_SIZE,
      batchesInFlight: config.SYNC_BATCHES_IN_FLIGHT,
      platforms: registry,
      limits: { runs: config.MAX_CONCURRENT_RUNS, dryRuns: config.MAX_CONCURRENT_DRY_RUNS },
      propertyColumns: config.PROPERTY_COLUMNS,
    }),
    ...createErasureActivities({ sql, usersSource: config.USERS_SOURCE, platforms: registry }),
    ...createReconciliationActivities({
      sql,
      usersSource: config.USERS_SOURCE,
      platforms: registry,
      retentionDays: config.RUN_RETENTION_DAYS,
      eraseDeletedUsers: config.ERASE_DELETED_USERS,
    }),
  };
}

export interface SyncWorkerOptions {
  config: WorkerConfig;
  sql: Sql;
  connection?: NativeConnection;
  /** The platforms to serve; the configured ones when absent. */
  platforms?: PlatformModule[];
  /** A prebuilt bundle (tests bundle once for every file); else WORKFLOW_BUNDLE_PATH, else workflowSource(). */
  workflowBundlePath?: string;
  /** How long a stopping worker lets activities in flight go on; syncWorkerOptions' otherwise. */
  shutdownGraceTime?: Duration;
}

export async function createSyncWorker(options: SyncWorkerOptions): Promise<Worker> {
  const { config } = options;
  const connection =
    options.connection ?? (await NativeConnection.connect(temporalConnectionOptions(config)));
  return Worker.create({
    connection,
    ...syncWorkerOptions(config),
    ...(options.shutdownGraceTime === undefined
      ? {}
      : { shutdownGraceTime: options.shutdownGraceTime }),
    ...workflowCode(options.workflowBundlePath ?? config.WORKFLOW_BUNDLE_PATH),
    activities: buildActivities(
      config,
      options.sql,
      options.platforms ?? (await configuredPlatforms(config)),
    ),
  });
}
