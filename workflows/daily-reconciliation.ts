import {
  executeChild,
  proxyActivities,
  setCurrentDetails,
  workflowInfo,
} from '@temporalio/workflow';
import type {
  PlatformReconciliation,
  ReconciliationActivities,
  RetentionCounts,
} from '../activities/index.js';
import { NON_RETRYABLE_FAILURES } from '../common/failures.js';
import { type EraseUsersResult, EraseUsersWorkflow } from './erase-users.js';

export interface DailyReconciliationResult {
  retention: RetentionCounts;
  platforms: PlatformReconciliation[];
  /** The erasure of users deleted in the application (ERASE_DELETED_USERS), if one ran. */
  erasure: EraseUsersResult | null;
}

const database = proxyActivities<
  Pick<ReconciliationActivities, 'applyRetention' | 'recordDeletedUsersErasure'>
>({
  startToCloseTimeout: '30 minutes',
  retry: {
    initialInterval: '5s',
    maximumInterval: '5 minutes',
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

const platform = proxyActivities<Pick<ReconciliationActivities, 'reconcilePlatforms'>>({
  // One request per 100 contacts of the account; large accounts take a while, heartbeats show it.
  startToCloseTimeout: '6 hours',
  heartbeatTimeout: '2 minutes',
  retry: {
    initialInterval: '10s',
    maximumInterval: '10 minutes',
    maximumAttempts: 20,
    nonRetryableErrorTypes: NON_RETRYABLE_FAILURES,
  },
});

/**
 * The daily work a Temporal Schedule starts: retention first (Postgres only, so an outage of a
 * platform never holds it up), then what the platforms know without webhooks (contacts deleted
 * there, their suppression lists), then, with ERASE_DELETED_USERS, the erasure of users the
 * application marked deleted, as a child erasure run of its own.
 */
export async function DailyReconciliationWorkflow(): Promise<DailyReconciliationResult> {
  const retention = await database.applyRetention();
  setCurrentDetails(
    `Retention: ${retention.runs} runs' per-user rows, ${retention.idempotencyKeys} idempotency keys, ${retention.webhookDeliveries} webhook ids deleted`,
  );
  const platforms = await platform.reconcilePlatforms();
  setCurrentDetails(
    platforms
      .map((p) => `${p.platform}: ${p.deleted} contacts deleted there, ${p.suppressed} suppressed`)
      .join(' · '),
  );
  const recorded = await database.recordDeletedUsersErasure({
    erasureId: `erasure-${workflowInfo().workflowId}-${workflowInfo().runId.slice(0, 8)}`,
  });
  const erasure = recorded
    ? await executeChild(EraseUsersWorkflow, {
        workflowId: recorded.erasureId,
        args: [{ erasureId: recorded.erasureId }],
      })
    : null;
  return { retention, platforms, erasure };
}
