import { randomBytes } from 'node:crypto';
import { setTimeout } from 'node:timers/promises';
import {
  type Client,
  isGrpcCancelledError,
  ServiceError,
  WorkflowExecutionAlreadyStartedError,
  WorkflowFailedError,
  type WorkflowHandle,
  WorkflowUpdateFailedError,
} from '@temporalio/client';
import {
  ActivityFailure,
  ApplicationFailure,
  CancelledFailure,
  WorkflowNotFoundError,
} from '@temporalio/common';
import {
  SyncListIdKey,
  SyncPlatformKey,
  SyncTriggerKey,
  SyncTypeKey,
} from '../common/search-attributes.js';
import {
  emptyCounts,
  type RunStatus,
  type SyncProgress,
  type SyncRequest,
  type SyncRunResult,
} from '../common/sync.js';
import {
  pauseUpdate,
  progressQuery,
  RUN_ENDED_MESSAGE,
  resumeUpdate,
  type SyncRunView,
} from '../workflows/definitions.js';
import type { SyncUsersWorkflow } from '../workflows/sync-users.js';

export const WORKFLOW_TYPE = 'SyncUsersWorkflow';

/**
 * `sync-users-2026-11-26T10-00-00Z-ab12cd34`: what, when, and 32 random bits, so ids drawn in
 * the same second by a burst of requests almost never collide (the launcher draws again if they do).
 */
export function newRunId(kind: string, now: Date = new Date()): string {
  const time = now
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replaceAll(':', '-');
  return `${kind}-${time}-${randomBytes(4).toString('hex')}`;
}

/** At most `max` characters (code points, so no emoji is cut in half), ending in `…` if cut. */
const truncate = (text: string, max: number): string => {
  const characters = Array.from(text);
  return characters.length <= max ? text : `${characters.slice(0, max - 1).join('')}…`;
};

/** At most `maxBytes` bytes of UTF-8, cut at a character, ending in `…` (3 bytes) if cut. */
const truncateBytes = (text: string, maxBytes: number): string => {
  if (Buffer.byteLength(text) <= maxBytes) return text;
  let kept = '';
  for (const character of text) {
    if (Buffer.byteLength(kept + character) + 3 > maxBytes) break;
    kept += character;
  }
  return `${kept}…`;
};

/** One line for the Web UI's run list (≤ 200 bytes). */
export function runSummary(request: SyncRequest): string {
  const who =
    request.syncType === 'specific'
      ? `${request.userIds?.length ?? 0} given users`
      : `${request.syncType === 'new' ? 'new' : 'all'} users${request.filterActive ? ` active in the last ${request.activeDays} days` : ''}`;
  const where = request.listId
    ? `list ${request.listId}`
    : `new ${request.platform} audience "${truncate(request.listName, 60)}"`;
  const tags = request.tags.length > 0 ? ` (+${request.tags.length} tags)` : '';
  // Temporal keeps summaries of at most 200 bytes.
  return truncateBytes(truncate(`Sync ${who} into ${where}${tags}`, 190), 200);
}

/** The start options every run uses, from the API and from schedules alike. */
export function runStartOptions(request: SyncRequest, taskQueue: string) {
  return {
    taskQueue,
    args: [{ request }] as Parameters<typeof SyncUsersWorkflow>,
    staticSummary: runSummary(request),
    memo: {
      audienceName: request.listName,
      ...(request.description ? { audienceDescription: request.description } : {}),
      filters: { filterActive: request.filterActive, activeDays: request.activeDays },
      syncType: request.syncType,
      tags: request.tags,
    },
    typedSearchAttributes: [
      { key: SyncTypeKey, value: request.syncType },
      { key: SyncPlatformKey, value: request.platform },
      { key: SyncTriggerKey, value: request.trigger },
      ...(request.listId ? [{ key: SyncListIdKey, value: request.listId }] : []),
    ],
  };
}

/**
 * Starts a run under a given id. Starting an id that exists (a repeated Idempotency-Key) attaches
 * to that run instead of starting a second.
 */
export async function startRun(
  client: Client,
  taskQueue: string,
  runId: string,
  request: SyncRequest,
): Promise<WorkflowHandle<typeof SyncUsersWorkflow>> {
  try {
    return await client.workflow.start<typeof SyncUsersWorkflow>(WORKFLOW_TYPE, {
      ...runStartOptions(request, taskQueue),
      workflowId: runId,
      workflowIdConflictPolicy: 'USE_EXISTING',
      workflowIdReusePolicy: 'REJECT_DUPLICATE',
    });
  } catch (error) {
    if (!(error instanceof WorkflowExecutionAlreadyStartedError)) throw error;
    return client.workflow.getHandle<typeof SyncUsersWorkflow>(runId);
  }
}

export type RunOutcome =
  | { state: 'completed'; result: SyncRunResult }
  | { state: 'failed'; code: string; message: string }
  | { state: 'cancelled' }
  | { state: 'running' };

/** Why a run failed, from our own failure types (they carry no personal data). */
function failureOf(error: WorkflowFailedError): RunOutcome {
  let cause: unknown = error.cause;
  if (cause instanceof CancelledFailure) return { state: 'cancelled' };
  if (cause instanceof ActivityFailure) cause = cause.cause;
  if (cause instanceof ApplicationFailure) {
    return { state: 'failed', code: cause.type ?? 'Error', message: cause.message };
  }
  return { state: 'failed', code: 'RunFailed', message: 'The run failed' };
}

/** Waits up to `waitMs` for the run to end; the long poll is cancelled when the wait is over. */
export async function waitForRun(
  client: Client,
  runId: string,
  waitMs: number,
): Promise<RunOutcome> {
  if (waitMs <= 0) return { state: 'running' };
  const handle = client.workflow.getHandle<typeof SyncUsersWorkflow>(runId);
  try {
    const result = await client.withAbortSignal(AbortSignal.timeout(waitMs), () => handle.result());
    return { state: 'completed', result };
  } catch (error) {
    if (isGrpcCancelledError(error) || (error instanceof Error && error.name === 'TimeoutError')) {
      return { state: 'running' };
    }
    if (error instanceof WorkflowFailedError) return failureOf(error);
    throw error;
  }
}

export interface TemporalRun {
  status: RunStatus;
  /** The workflow type: always WORKFLOW_TYPE (other workflows are not sync runs). */
  type: string;
  taskQueue: string;
  startedAt: Date;
  closedAt?: Date;
}

/**
 * The run as Temporal sees it, or undefined when Temporal knows no sync run by that id (an
 * erasure's or the reconciliation's workflow is not one: routes on runs leave them alone).
 */
export async function describeTemporalRun(
  client: Client,
  runId: string,
): Promise<TemporalRun | undefined> {
  try {
    const description = await client.workflow.getHandle(runId).describe();
    if (description.type !== WORKFLOW_TYPE) return undefined;
    const name = description.status.name;
    const status: RunStatus =
      name === 'RUNNING' || name === 'CONTINUED_AS_NEW'
        ? 'running'
        : name === 'COMPLETED'
          ? 'completed'
          : name === 'CANCELLED'
            ? 'cancelled'
            : 'failed';
    return {
      status,
      type: description.type,
      taskQueue: description.taskQueue,
      startedAt: description.startTime,
      ...(description.closeTime ? { closedAt: description.closeTime } : {}),
    };
  } catch (error) {
    if (error instanceof WorkflowNotFoundError) return undefined;
    throw error;
  }
}

/** Live progress from the run's query; undefined when no worker answers in time. */
export async function queryRunProgress(
  client: Client,
  runId: string,
  timeoutMs = 2000,
): Promise<SyncRunView | undefined> {
  try {
    return await client.withAbortSignal(AbortSignal.timeout(timeoutMs), () =>
      client.workflow.getHandle<typeof SyncUsersWorkflow>(runId).query(progressQuery),
    );
  } catch {
    return undefined;
  }
}

export async function cancelRun(client: Client, runId: string): Promise<void> {
  await client.workflow.getHandle(runId).cancel();
}

/** A pause or resume: the run's state after it, or `ended` when the run refused it. */
export type RunUpdateOutcome = { state: 'updated'; view: SyncRunView } | { state: 'ended' };

// gRPC FAILED_PRECONDITION: Temporal's WorkflowNotReady, an update lost to a workflow task that
// failed (a busy worker timed out), which the next attempt gets through.
const GRPC_FAILED_PRECONDITION = 9;
const UPDATE_ATTEMPTS = 5;

const grpcCode = (error: unknown): number | undefined => {
  const cause = error instanceof Error ? error.cause : undefined;
  return cause && typeof cause === 'object' && 'code' in cause && typeof cause.code === 'number'
    ? cause.code
    : undefined;
};

/**
 * After a pause or resume failed: the run `ended` (gone, or its validator refused), `retry` (the
 * workflow task carrying it failed, the worker did not take it, or the run closed meanwhile:
 * the next attempt finds out), or `throw` (anything else is a fault of ours or Temporal's).
 */
export function updateFailureVerdict(error: unknown): 'ended' | 'retry' | 'throw' {
  if (error instanceof WorkflowNotFoundError) return 'ended';
  if (error instanceof WorkflowUpdateFailedError) {
    return error.cause?.message === RUN_ENDED_MESSAGE ? 'ended' : 'retry';
  }
  if (error instanceof ServiceError && grpcCode(error) === GRPC_FAILED_PRECONDITION) return 'retry';
  return 'throw';
}

/**
 * Pauses (after the batch in flight) or resumes a run through its Workflow Update. The update's
 * validator refuses it once the run ended; a run closed meanwhile refuses it too. Both are
 * idempotent, so an attempt lost on Temporal's side is made again, a few times.
 */
export async function setRunPause(
  client: Client,
  runId: string,
  paused: boolean,
): Promise<RunUpdateOutcome> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      const view = await client.workflow
        .getHandle(runId)
        .executeUpdate(paused ? pauseUpdate : resumeUpdate);
      return { state: 'updated', view };
    } catch (error) {
      const verdict = updateFailureVerdict(error);
      if (verdict === 'ended') return { state: 'ended' };
      if (verdict === 'throw' || attempt === UPDATE_ATTEMPTS) throw error;
      await setTimeout(100 * attempt);
    }
  }
}

export const zeroProgress = (): SyncProgress => ({ total: 0, ...emptyCounts() });
