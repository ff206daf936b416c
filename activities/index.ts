/** What the worker and the workflows use from activities/. */
export {
  type BeginRunInput,
  type BeginRunOutput,
  createSyncActivities,
  type FinishRunInput,
  type PreparedRun,
  type SyncActivities,
  type SyncActivityDeps,
} from './sync-activities.js';
export type { ProcessBatchInput, ProcessBatchOutput } from './sync-batch.js';
