/** What the worker and the workflows use from activities/. */

export type { RetentionCounts } from '../db/retention.js';
export type { BulkChunkInput, BulkChunkOutput } from './bulk-chunk.js';
export {
  createErasureActivities,
  type EraseBatchOutput,
  type ErasureActivities,
  type ErasureActivityDeps,
  type ErasureProgress,
} from './erasure-activities.js';
export {
  createReconciliationActivities,
  type PlatformReconciliation,
  type ReconciliationActivities,
  type ReconciliationActivityDeps,
} from './reconciliation-activities.js';
export {
  type BeginRunInput,
  type BeginRunOutput,
  createSyncActivities,
  type FinishRunInput,
  type PreparedRun,
  type SyncActivities,
  type SyncActivityDeps,
} from './sync-activities.js';
export type {
  PlanBatchInput,
  PlanBatchOutput,
  ProcessBatchInput,
  ProcessBatchOutput,
} from './sync-batch.js';
