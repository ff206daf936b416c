import {
  type Client,
  ScheduleAlreadyRunning,
  type ScheduleDescription,
  type ScheduleHandle,
  ScheduleNotFoundError,
  type ScheduleOptions,
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

/** SPEC: no schedule runs more often than this. */
export const MIN_SCHEDULE_INTERVAL_MS = 5 * 60_000;

export class ScheduleExistsError extends Error {
  override name = 'ScheduleExistsError';
}

/** A schedule whose spec fires more often than MIN_SCHEDULE_INTERVAL_MS; it was not kept. */
export class ScheduleTooFrequentError extends Error {
  override name = 'ScheduleTooFrequentError';
  constructor(readonly gapMs: number) {
    super(
      `The schedule would run ${formatEvery(gapMs)} apart; schedules run at most every ${formatEvery(MIN_SCHEDULE_INTERVAL_MS)}`,
    );
  }
}

/** MAX_SCHEDULES schedules exist already; nothing was created. */
export class TooManySchedulesError extends Error {
  override name = 'TooManySchedulesError';
  constructor(
    readonly count: number,
    readonly limit: number,
  ) {
    super(
      `${count} schedules exist, as many as MAX_SCHEDULES (${limit}) allows; delete one before creating another`,
    );
  }
}

/** The shortest time between two consecutive run times; undefined for fewer than two. */
export function shortestGapMs(times: Date[]): number | undefined {
  const sorted = times.map((time) => time.getTime()).sort((a, b) => a - b);
  let shortest: number | undefined;
  for (let index = 1; index < sorted.length; index += 1) {
    const gap = (sorted[index] ?? 0) - (sorted[index - 1] ?? 0);
    shortest = shortest === undefined ? gap : Math.min(shortest, gap);
  }
  return shortest;
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

/** What a triggered schedule started, or the run it let go on instead (overlap policy SKIP). */
export interface TriggeredRun {
  runId: string;
  started: boolean;
}

/** How long a trigger waits for the schedule to show the run it started. */
const TRIGGER_WAIT_MS = 10_000;
const TRIGGER_POLL_MS = 100;
/** How long a create waits for the (eventually consistent) list to show the new schedule. */
const LISTED_WAIT_MS = 3000;

/** A schedule this deployment's API made: it starts sync runs on this task queue. */
const startsOwnRuns = (description: ScheduleDescription, taskQueue: string): boolean =>
  description.action.type === 'startWorkflow' &&
  description.action.workflowType === WORKFLOW_TYPE &&
  description.action.taskQueue === taskQueue;

const runIdsOf = (description: ScheduleDescription): string[] => [
  ...description.info.recentActions.map((action) => action.action.workflow.workflowId),
  ...description.info.runningActions.map((action) => action.workflow.workflowId),
];

const delay = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Where this deployment's schedules live: its Temporal client and its task queue. */
interface Scope {
  client: Client;
  taskQueue: string;
}

/** The schedule's description, if it is one of this deployment's; else not found. */
async function ownedSchedule({ client, taskQueue }: Scope, scheduleId: string) {
  const description = await client.schedule.getHandle(scheduleId).describe();
  if (!startsOwnRuns(description, taskQueue)) {
    throw new ScheduleNotFoundError(`There is no schedule ${scheduleId}`, scheduleId);
  }
  return description;
}

/** Summaries name their task queue in the memo; older schedules are described to know it. */
async function isOwnSummary(scope: Scope, summary: ScheduleSummary): Promise<boolean> {
  if (summary.action?.workflowType !== WORKFLOW_TYPE) return false;
  const queue = summary.memo?.taskQueue;
  if (typeof queue === 'string') return queue === scope.taskQueue;
  return ownedSchedule(scope, summary.scheduleId).then(
    () => true,
    () => false,
  );
}

async function listOwnSchedules(scope: Scope): Promise<ScheduleView[]> {
  const views: ScheduleView[] = [];
  for await (const summary of scope.client.schedule.list()) {
    if (await isOwnSummary(scope, summary)) views.push(toView(summary));
  }
  return views.sort((a, b) => a.scheduleId.localeCompare(b.scheduleId));
}

/** A schedule's options, created paused (see createChecked); its memo names the task queue. */
function scheduleOptions(input: ScheduleInput, taskQueue: string): ScheduleOptions {
  const request: SyncRequest = {
    ...input.request,
    trigger: 'schedule',
    scheduleId: input.scheduleId,
  };
  return {
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
    state: { paused: true, ...(input.note ? { note: input.note } : {}) },
    memo: { ...(input.cron ? { cron: input.cron } : {}), syncType: request.syncType, taskQueue },
  };
}

/** Created paused, kept only when it runs at most every 5 minutes, then unpaused if asked. */
async function createChecked({ client, taskQueue }: Scope, input: ScheduleInput) {
  const created = await client.schedule
    .create(scheduleOptions(input, taskQueue))
    .catch((error: unknown) => {
      if (!(error instanceof ScheduleAlreadyRunning)) throw error;
      throw new ScheduleExistsError(`A schedule named ${input.scheduleId} already exists`);
    });
  const gap = shortestGapMs((await created.describe()).info.nextActionTimes);
  if (gap !== undefined && gap < MIN_SCHEDULE_INTERVAL_MS) {
    await created.delete();
    throw new ScheduleTooFrequentError(gap);
  }
  if (!input.paused) {
    await created.update((previous) => ({
      ...previous,
      state: { paused: false, ...(input.note ? { note: input.note } : {}) },
    }));
  }
  return toView(await created.describe());
}

/**
 * Creates a schedule unless `limit` exist already. Listing is eventually consistent, so it
 * answers once the list shows the new schedule: callers that count one after the other (under
 * one lock) count it.
 */
async function createWithin(scope: Scope, limit: number, input: ScheduleInput) {
  const count = (await listOwnSchedules(scope)).length;
  if (count >= limit) throw new TooManySchedulesError(count, limit);
  const view = await createChecked(scope, input);
  const deadline = Date.now() + LISTED_WAIT_MS;
  while (Date.now() < deadline) {
    const listed = await listOwnSchedules(scope);
    if (listed.some((schedule) => schedule.scheduleId === input.scheduleId)) break;
    await delay(TRIGGER_POLL_MS);
  }
  return view;
}

/**
 * Starts a run now (overlap policy SKIP: not beside a running one) and answers the run, once
 * the schedule shows it; a run already running is answered instead, as not started.
 */
async function triggerOwn(scope: Scope, scheduleId: string): Promise<TriggeredRun | undefined> {
  const handle = scope.client.schedule.getHandle(scheduleId);
  const before = await ownedSchedule(scope, scheduleId);
  const running = before.info.runningActions[0];
  if (running) return { runId: running.workflow.workflowId, started: false };
  const seen = new Set(runIdsOf(before));
  await handle.trigger(ScheduleOverlapPolicy.SKIP);
  const deadline = Date.now() + TRIGGER_WAIT_MS - TRIGGER_POLL_MS * 10;
  while (Date.now() < deadline) {
    const runId = runIdsOf(await handle.describe()).find((id) => !seen.has(id));
    if (runId) return { runId, started: true };
    await delay(TRIGGER_POLL_MS);
  }
  return undefined;
}

async function describeOwn(scope: Scope, scheduleId: string) {
  const description = await ownedSchedule(scope, scheduleId);
  const args: readonly unknown[] = description.action.args ?? [];
  const sync = (args[0] as { request?: SyncRequest } | undefined)?.request;
  return { ...toView(description), sync };
}

/**
 * Recurring syncs of this deployment. The namespace may hold other schedules (the daily
 * reconciliation, another deployment's): they are not found here, so the API never lists,
 * pauses, triggers or deletes them. Every call has a gRPC deadline, so a Temporal that is down
 * fails it in seconds (then `isTemporalUnavailable` is true of the error) instead of after the
 * SDK's retries.
 */
export function createScheduleService(client: Client, taskQueue: string) {
  const scope: Scope = { client, taskQueue };
  const bounded =
    <Args extends unknown[], T>(
      work: (...args: Args) => Promise<T>,
      ms: number = TEMPORAL_DEADLINES.callMs,
    ) =>
    (...args: Args): Promise<T> =>
      withTemporalDeadline(client, ms, () => work(...args));
  /** A change of one of this deployment's schedules. */
  const ownedChange =
    (change: (handle: ScheduleHandle, note?: string) => Promise<void>) =>
    async (scheduleId: string, note?: string) => {
      await ownedSchedule(scope, scheduleId);
      await change(client.schedule.getHandle(scheduleId), note);
    };
  return {
    // Created paused, checked, then unpaused, then seen in the list: a few calls.
    createWithin: bounded(
      (limit: number, input: ScheduleInput) => createWithin(scope, limit, input),
      TEMPORAL_DEADLINES.callMs * 2 + LISTED_WAIT_MS,
    ),
    list: bounded(() => listOwnSchedules(scope)),
    describe: bounded((scheduleId: string) => describeOwn(scope, scheduleId)),
    trigger: bounded((scheduleId: string) => triggerOwn(scope, scheduleId), TRIGGER_WAIT_MS),
    pause: bounded(ownedChange((handle, note) => handle.pause(note))),
    unpause: bounded(ownedChange((handle, note) => handle.unpause(note))),
    remove: bounded(ownedChange((handle) => handle.delete())),
  };
}

export type ScheduleService = ReturnType<typeof createScheduleService>;
