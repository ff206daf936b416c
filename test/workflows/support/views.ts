import { WorkflowUpdateStage } from '@temporalio/client';
import { temporal } from '@temporalio/proto';
import { vi } from 'vitest';
import type { SyncRunView } from '../../../workflows/definitions.js';
import { pauseUpdate, progressQuery, resumeUpdate } from '../../../workflows/definitions.js';
import type { StubbedRun } from './environment.js';

/** The parts of a run's state the tests pin down. */
export const viewOf = (state: SyncRunView) => ({
  phase: state.phase,
  paused: state.paused ?? false,
  holding: state.holding ?? false,
  batchNo: state.batchNo,
  cursor: state.cursor,
  processed: state.progress.processed,
  removed: state.progress.removed,
  execution: state.execution,
  ...(state.leavers ? { leavers: state.leavers } : {}),
});

export const queryView = async ({ handle }: StubbedRun) =>
  viewOf(await handle.query(progressQuery));

/** Asks for a pause and answers once the run took it (the update accepted, its handler ran). */
export async function askPause({ handle }: StubbedRun) {
  const update = await handle.startUpdate(pauseUpdate, {
    waitForStage: WorkflowUpdateStage.ACCEPTED,
  });
  return { took: async () => viewOf(await update.result()) };
}

/**
 * Holds the stubbed `step`, asks for a pause while it runs, then lets it end: the view the pause
 * answered with once the run took it.
 */
export async function pauseDuring(run: StubbedRun, step: string) {
  run.stub.hold(step);
  await run.stub.started(step);
  const pause = await askPause(run);
  run.stub.release(step);
  return pause.took();
}

export async function resume({ handle }: StubbedRun) {
  return viewOf(await handle.executeUpdate(resumeUpdate));
}

/** Waits until Temporal recorded the run's request to stop the activity in flight. */
export async function activityStopRequested({ handle }: StubbedRun): Promise<void> {
  const requested =
    temporal.api.enums.v1.PendingActivityState.PENDING_ACTIVITY_STATE_CANCEL_REQUESTED;
  await vi.waitFor(
    async () => {
      const { raw } = await handle.describe();
      if (!raw.pendingActivities?.some((activity) => activity.state === requested)) {
        throw new Error('no stop requested yet');
      }
    },
    { timeout: 20_000, interval: 50 },
  );
}

/** Waits until the run holds, paused, between two steps. */
export async function holding(run: StubbedRun) {
  return vi.waitFor(
    async () => {
      const view = await queryView(run);
      if (!view.holding) throw new Error('not holding yet');
      return view;
    },
    { timeout: 20_000, interval: 50 },
  );
}

export const EventType = temporal.api.enums.v1.EventType;

export async function eventTypes({ handle }: StubbedRun) {
  const history = await handle.fetchHistory();
  return (history.events ?? []).map((event) => event.eventType);
}

/** Waits until the run's event types (in order) satisfy `ready`. */
export async function historyReaches(
  run: StubbedRun,
  ready: (types: temporal.api.enums.v1.EventType[]) => boolean,
): Promise<void> {
  await vi.waitFor(
    async () => {
      if (!ready((await eventTypes(run)).map((type) => type ?? EventType.EVENT_TYPE_UNSPECIFIED))) {
        throw new Error('history not there yet');
      }
    },
    { timeout: 20_000, interval: 50 },
  );
}
