import {
  type Client,
  ScheduleAlreadyRunning,
  type ScheduleOptions,
  ScheduleOverlapPolicy,
} from '@temporalio/client';

export const RECONCILIATION_WORKFLOW_TYPE = 'DailyReconciliationWorkflow';

/** One schedule per task queue, so deployments (and test files) sharing a namespace keep apart. */
export const reconciliationScheduleId = (taskQueue: string): string =>
  `audience-sync-daily-reconciliation-${taskQueue}`;

/** Every day at 03:17 UTC: off the hour, when most other jobs start. */
export const RECONCILIATION_CRON = '17 3 * * *';

const scheduleParts = (taskQueue: string) =>
  ({
    spec: { cronExpressions: [RECONCILIATION_CRON] },
    action: {
      type: 'startWorkflow',
      workflowType: RECONCILIATION_WORKFLOW_TYPE,
      workflowId: reconciliationScheduleId(taskQueue),
      taskQueue,
      args: [],
      staticSummary: 'Daily retention, reconciliation with the platforms, erasure of deleted users',
    },
    policies: {
      overlap: ScheduleOverlapPolicy.SKIP,
      // A worker down at 03:17 still gets the day's run when it is back within the day.
      catchupWindow: '1 day',
      pauseOnFailure: false,
    },
  }) satisfies Omit<ScheduleOptions, 'scheduleId'>;

/**
 * Creates the daily reconciliation schedule, or brings an existing one to this version's spec and
 * action; every worker calls it at start, so it is idempotent. A schedule someone paused stays
 * paused.
 */
export async function ensureReconciliationSchedule(
  client: Client,
  taskQueue: string,
): Promise<'created' | 'updated'> {
  const scheduleId = reconciliationScheduleId(taskQueue);
  const parts = scheduleParts(taskQueue);
  try {
    await client.schedule.create({ scheduleId, ...parts });
    return 'created';
  } catch (error) {
    if (!(error instanceof ScheduleAlreadyRunning)) throw error;
  }
  await client.schedule.getHandle(scheduleId).update((previous) => ({
    ...previous,
    spec: parts.spec,
    action: parts.action,
    policies: parts.policies,
  }));
  return 'updated';
}
