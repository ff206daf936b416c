import type { WorkerDeploymentOptions, WorkerOptions } from '@temporalio/worker';
import type { WorkerConfig } from '../config/env.js';

type VersioningConfig = Pick<WorkerConfig, 'TEMPORAL_DEPLOYMENT_NAME' | 'TEMPORAL_WORKER_BUILD_ID'>;

/**
 * Worker Versioning, when the configuration names a Worker Deployment and a build id (the
 * configuration accepts both or neither): the worker polls as that Deployment Version, and its
 * runs are PINNED to it. A run then stays on the code it started with, however long it syncs;
 * it moves to the deployment's current version only where its history starts afresh, at
 * continue-as-new. Without them the worker is unversioned, as before.
 */
export function workerVersioningOptions(config: VersioningConfig): {
  workerDeploymentOptions?: WorkerDeploymentOptions;
} {
  const deploymentName = config.TEMPORAL_DEPLOYMENT_NAME;
  const buildId = config.TEMPORAL_WORKER_BUILD_ID;
  if (!deploymentName || !buildId) return {};
  return {
    workerDeploymentOptions: {
      version: { deploymentName, buildId },
      useWorkerVersioning: true,
      defaultVersioningBehavior: 'PINNED',
    },
  };
}

/** `deployment:buildId` for logs, or `unversioned`. */
export function describeWorkerVersion(config: VersioningConfig): string {
  const version = workerVersioningOptions(config).workerDeploymentOptions?.version;
  return version ? `${version.deploymentName}:${version.buildId}` : 'unversioned';
}

/**
 * The options of a sync worker that come from its configuration alone: where it polls, how much
 * it runs at once, how it stops, and its version. The connection, the workflow code and the
 * activities are added by createSyncWorker.
 */
export function syncWorkerOptions(config: WorkerConfig) {
  return {
    namespace: config.TEMPORAL_NAMESPACE,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    // Batches are sequential per run; this bounds batches of different runs per process.
    maxConcurrentActivityTaskExecutions: 8,
    // Let the batch in flight finish on shutdown; it is resumable anyway.
    shutdownGraceTime: '30 seconds',
    ...workerVersioningOptions(config),
  } satisfies Partial<WorkerOptions>;
}
