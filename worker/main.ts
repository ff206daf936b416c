import { Runtime } from '@temporalio/worker';
import { PLATFORM_MIGRATIONS } from '../activities/platforms/registry.js';
import { connectTemporalClient, registerSearchAttributes } from '../client/temporal.js';
import { loadConfigOrExit, workerConfigSchema } from '../config/env.js';
import { migrate } from '../db/migrate.js';
import { createSql } from '../db/sql.js';
import { createLogger } from '../telemetry/logger.js';
import { temporalLogger } from '../telemetry/temporal-logger.js';
import { describeWorkerVersion } from './options.js';
import { startPlatformChecks } from './platform-checks.js';
import { keepReconciliationSchedule } from './reconciliation-schedule.js';
import { registerWebhookEndpoints } from './webhook-registration.js';
import { configuredPlatforms, createSyncWorker } from './worker.js';

/**
 * The worker process: runs the sync, erasure and daily reconciliation workflows and their
 * activities until SIGINT or SIGTERM, and keeps the daily reconciliation schedule.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit(workerConfigSchema);
  const logger = createLogger(config.LOG_LEVEL, 'audience-sync-worker');
  // The SDK stops the worker on these signals; run() then resolves and we close what we opened.
  Runtime.install({
    logger: temporalLogger(logger, config.LOG_LEVEL),
    shutdownSignals: ['SIGINT', 'SIGTERM'],
  });
  const sql = createSql(config.DATABASE_URL, { applicationName: 'audience-sync-worker', max: 20 });
  try {
    await migrate(sql, PLATFORM_MIGRATIONS);
    const client = await connectTemporalClient(config);
    const attributes = await registerSearchAttributes(client, config.TEMPORAL_NAMESPACE);
    if (!attributes.registered) {
      logger.warn(
        { reason: attributes.reason },
        'search attributes not registered; register them on the namespace',
      );
    }
    await keepReconciliationSchedule(client, config.TEMPORAL_TASK_QUEUE, logger);
    await client.connection.close();
    const platforms = await configuredPlatforms(config);
    const worker = await createSyncWorker({ config, sql });
    // What the health route says of each platform: reachable, key accepted, rate limit learned.
    const checks = startPlatformChecks({ sql, platforms, logger });
    // Beside the worker's start, not before it: a slow platform does not hold up the syncs.
    const registering = registerWebhookEndpoints({ sql, config, platforms, logger });
    logger.info(
      {
        taskQueue: config.TEMPORAL_TASK_QUEUE,
        namespace: config.TEMPORAL_NAMESPACE,
        version: describeWorkerVersion(config),
      },
      'worker started',
    );
    try {
      await worker.run();
    } finally {
      await checks.stop();
      await registering;
    }
    logger.info('worker stopped');
  } finally {
    await sql.end({ timeout: 5 });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
