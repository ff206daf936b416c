/**
 * The workflow's query definitions and the types they answer with, in a module without side
 * effects: the client imports it to query and update runs, so it may import only definitions from
 * '@temporalio/workflow' and the shared vocabulary in common/, never workflow code or activities.
 */
import { defineQuery, defineUpdate } from '@temporalio/workflow';
import type { SyncRunState } from '../common/sync.js';

export interface SyncRunView extends SyncRunState {
  runId: string;
}

/** Why a pause or resume is refused: the run already ended (the updates' validator says so). */
export const RUN_ENDED_MESSAGE = 'The run already ended';

export const progressQuery = defineQuery<SyncRunView>('progress');

/** Stops the run after the batch in flight, keeping its list; rejected once the run ended. */
export const pauseUpdate = defineUpdate<SyncRunView>('pause');

/** Continues a paused run from its checkpoint; rejected once the run ended. */
export const resumeUpdate = defineUpdate<SyncRunView>('resume');
