import type { Client } from '@temporalio/client';
import {
  ensureReconciliationSchedule,
  reconciliationScheduleId,
} from '../client/reconciliation-schedule.js';
import type { Logger } from '../telemetry/logger.js';

/**
 * The daily retention and reconciliation, kept by every worker at start (the worker process and
 * the local stack's alike), idempotently. A failure is logged, not thrown: the worker still
 * serves runs, and its next start tries again.
 */
export async function keepReconciliationSchedule(
  client: Client,
  taskQueue: string,
  logger: Logger,
): Promise<void> {
  const scheduleId = reconciliationScheduleId(taskQueue);
  try {
    const outcome = await ensureReconciliationSchedule(client, taskQueue);
    logger.info({ scheduleId, outcome }, 'daily reconciliation schedule kept');
  } catch (error) {
    logger.warn(
      { err: error, scheduleId },
      'daily reconciliation schedule not kept; the next worker start tries again',
    );
  }
}
