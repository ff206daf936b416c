import {
  type Client,
  ScheduleAlreadyRunning,
  type ScheduleDescription,
  ScheduleNotFoundError,
  ScheduleOverlapPolicy,
  type ScheduleSpecDescription,
  type ScheduleSummary,
} from '@temporalio/client';
import type { SyncRequest } from '../common/sync.js';
import { runStartOptions, WORKFLOW_TYPE } from './sync-runs.js';
import { TEMPORAL_DEADLINES, withTemporalDeadline } from './temporal.js';

/**
 * Recurring syncs as Temporal Schedules. Each action starts an ordinary SyncUsersWorkflow whose
 * id is the schedule id plus the time Temporal appends, so every run is distinct and findable.
 */
export interface ScheduleInput {
  scheduleId: string;
  cron?: string;
  every?: string;
  timezone?: string;
  paused: boolean;
  note?: string;
  request: SyncRequest;
}

export interface ScheduleView {
  scheduleId: string;
  paused: boolean;
  note?: string;
  spec: { cron: string[]; every: string[]; timezone?: string };
  nextRunTimes: string[];
  recentRuns: { runId: string; scheduledAt: string; startedAt: string }[];
}

/** Runs missed while the service was down are still started if they are at most this late. */
export const CATCHUP_WINDOW = '10 minutes';

export class ScheduleExistsError extends Error {
  override name = 'ScheduleExistsError';
}

export { ScheduleNotFoundError };

const formatEvery = (ms: number): string => {
  const units: [string, number][] = [
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ];
  const unit = units.find(([, size]) => ms % size === 0) ?? ['ms', 1];
  return `${ms / unit[1]}${unit[0]}`;
};

/** Temporal keeps cron as calendars; the expression as given is kept in the schedule's memo. */
const specView = (
  spec: ScheduleSpecDescription | undefined,
  memo: Record<string, unknown> | undefined,
): ScheduleView['spec'] => ({
  cron: typeof memo?.cron === 'string' ? [memo.cron] : [],
  every: (spec?.intervals ?? []).map((interval) => formatEvery(Number(interval.every))),
  ...(spec?.timezone ? { timezone: spec.timezone } : {}),
});

const recentRuns = (summary: ScheduleSummary | ScheduleDescription) =>
  summary.info.recentActions.map((action) => ({
    runId: action.action.workflow.workflowId,
    scheduledAt: action.scheduledAt.toISOString(),
    startedAt: action.takenAt.toISOString(),
  }));

const toView = (summary: ScheduleSummary | ScheduleDescription): ScheduleView => ({
  scheduleId: summary.scheduleId,
  paused: summary.state.paused,
  ...(summary.state.note ? { note: summary.state.note } : {}),
  spec: specView(summary.spec, summary.memo),
  nextRunTimes: summary.info.nextActionTimes.map((time) => time.toISOString()),
  recentRuns: recentRuns(summary),
});

/**
 * Every call has a gRPC deadline, so a Temporal that is down fails it in seconds (then
 * `isTemporalUnavailable` is true of the error) instead of after the SDK's retries.
 */
export function createScheduleService(client: Client, taskQueue: string) {
  const handle = (scheduleId: string) => client.schedule.getHandle(scheduleId);
  const bounded =
    <Args extends unknown[], T>(work: (...args: Args) => Promise<T>) =>
    (...args: Args): Promise<T> =>
      withTemporalDeadline(client, TEMPORAL_DEADLINES.callMs, () => work(...args));

  const service = {
    async create(input: ScheduleInput): Promise<ScheduleView> {
      const request: SyncRequest = {
        ...input.request,
        trigger: 'schedule',
        scheduleId: input.scheduleId,
      };
      try {
        const created = await client.schedule.create({
          scheduleId: input.scheduleId,
          spec: {
            ...(input.cron ? { cronExpressions: [input.cron] } : {}),
            ...(input.every ? { intervals: [{ every: input.every }] } : {}),
            ...(input.timezone ? { timezone: input.timezone } : {}),
          },
          action: {
            type: 'startWorkflow',
            workflowType: WORKFLOW_TYPE,
            workflowId: input.scheduleId,
            ...runStartOptions(request, taskQueue),
          },
          policies: {
            overlap: ScheduleOverlapPolicy.SKIP,
            catchupWindow: CATCHUP_WINDOW,
            pauseOnFailure: false,
          },
          state: { paused: input.paused, ...(input.note ? { note: input.note } : {}) },
          memo: { ...(input.cron ? { cron: input.cron } : {}), syncType: request.syncType },
        });
        return toView(await created.describe());
      } catch (error) {
        if (error instanceof ScheduleAlreadyRunning) {
          throw new ScheduleExistsError(`A schedule named ${input.scheduleId} already exists`);
        }
        throw error;
      }
    },

    async list(): Promise<ScheduleView[]> {
      const views: ScheduleView[] = [];
      for await (const summary of client.schedule.list()) views.push(toView(summary));
      return views.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
    },

    async describe(scheduleId: string): Promise<ScheduleView & { sync: SyncRequest | undefined }> {
      const description = await handle(scheduleId).describe();
      const args: readonly unknown[] =
        description.action.type === 'startWorkflow' ? (description.action.args ?? []) : [];
      const sync = (args[0] as { request?: SyncRequest } | undefined)?.request;
      return { ...toView(description), sync };
    },

    trigger: (scheduleId: string) => handle(scheduleId).trigger(),
    pause: (scheduleId: string, note?: string) => handle(scheduleId).pause(note),
    unpause: (scheduleId: string, note?: string) => handle(scheduleId).unpause(note),
    remove: (scheduleId: string) => handle(scheduleId).delete(),
  };
  return {
    create: bounded(service.create),
    list: bounded(service.list),
    describe: bounded(service.describe),
    trigger: bounded(service.trigger),
    pause: bounded(service.pause),
    unpause: bounded(service.unpause),
    remove: bounded(service.remove),
  };
}

export type ScheduleService = ReturnType<typeof createScheduleService>;
