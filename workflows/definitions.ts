/**
 * The workflow's query definitions and the types they answer with, in a module without side
 * effects: the client imports it to query runs, so it may import only `defineQuery` from
 * '@temporalio/workflow' and the shared vocabulary in common/, never workflow code or activities.
 */
import { defineQuery } from '@temporalio/workflow';
import type { SyncRunState } from '../common/sync.js';

export interface SyncRunView extends SyncRunState {
  runId: string;
}

export const progressQuery = defineQuery<SyncRunView>('progress');
