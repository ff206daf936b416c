import type { SyncProgress } from '../common/sync.js';
import { readChangeSetBatch } from '../db/change-set.js';
import { countOutcomes, recordedUsers } from '../db/outcomes.js';
import { checkpointBatch, type RunRecord } from '../db/runs.js';
import type { Sql } from '../db/sql.js';
import {
  type BatchQuery,
  type BatchUser,
  readPopulationBatch,
  readRequestedBatch,
  type UsersSource,
} from '../db/users-source.js';
import { metrics } from '../telemetry/metrics.js';
import { applyPlan, recordPlan, scopeOf } from './plan/apply-plan.js';
import { readBatchFacts } from './plan/batch-facts.js';
import { planBatchUsers } from './plan/plan-batch.js';
import type { MarketingPlatform } from './platforms/platform.js';
import type { SendTurn, SendTurns } from './send-turns.js';

export interface ProcessBatchInput {
  runId: string;
  batchNo: number;
  /** The last user id of the previous batch; null for the first. */
  cursor: string | null;
  /**
   * The last user id of this batch, as planned (planBatch) before the previous batch ended: the
   * batch reads every user up to it. Null or absent: the next `batchSize` users.
   */
  upTo?: string | null;
  listId: string;
  tagListIds: string[];
}

export interface ProcessBatchOutput {
  cursor: string | null;
  done: boolean;
  /** The run's progress after this batch, as its record has it. */
  progress: SyncProgress;
}

export interface BatchContext {
  sql: Sql;
  source: UsersSource;
  platform: MarketingPlatform;
  batchSize: number;
  /** Called after each user's outcome, so Temporal sees progress. */
  onProgress: (usersDone: number) => void;
  /** Batches of a run running side by side in this process send in turn. */
  turns?: SendTurns;
}

export interface PlanBatchInput {
  runId: string;
  /** Where the planned batch starts: the end of the batch planned before it. */
  cursor: string | null;
  listId: string;
  /** The run's tag lists: an 'all' run's change set holds members missing from one of them. */
  tagListIds?: string[];
}

export interface PlanBatchOutput {
  /** The batch's last user id; null when fewer than a batch are left (the run's last batch). */
  upTo: string | null;
}

/**
 * Where the batch after the cursor ends, so it can start before the batch in front of it has
 * finished: the last of the next `batchSize` users, read as the batch will read them.
 */
export async function planBatch(
  ctx: Pick<BatchContext, 'sql' | 'source' | 'platform' | 'batchSize'>,
  run: RunRecord,
  input: PlanBatchInput,
): Promise<PlanBatchOutput> {
  // The users' ids only: their fields and the ledger's facts are the batch's to read.
  const users = await readBatch(ctx, run, { ...input, upTo: null, idsOnly: true });
  return { upTo: users.length < ctx.batchSize ? null : (users.at(-1)?.userId ?? null) };
}

/**
 * An 'all' run reads only its change set; its unchanged members are recorded once its batches
 * are done (recordUnchangedMembers). A dry run reads everyone, so its plan names every user.
 */
export const readsChangesOnly = (run: Pick<RunRecord, 'syncType' | 'dryRun'>): boolean =>
  run.syncType === 'all' && !run.dryRun;

async function readBatch(
  ctx: Pick<BatchContext, 'sql' | 'source' | 'platform' | 'batchSize'>,
  run: RunRecord,
  input: Pick<ProcessBatchInput, 'cursor' | 'upTo' | 'listId'> & {
    tagListIds?: string[];
    idsOnly?: boolean;
  },
) {
  const query = {
    platform: run.platform,
    account: ctx.platform.account,
    listId: input.listId,
    filter: { filterActive: run.filterActive, activeSince: run.activeSince.toISOString() },
    cursor: input.cursor,
    upTo: input.upTo ?? null,
    limit: ctx.batchSize,
    properties: run.properties,
    ...(input.idsOnly ? { idsOnly: true } : {}),
  };
  return readRunUsers(ctx.sql, ctx.source, run, { ...query, tagListIds: input.tagListIds });
}

/**
 * The users a run reads next: the requested ones of a 'specific' run, the change set of an
 * 'all' run (readsChangesOnly), else the population ('new': only what is new or changed).
 */
export function readRunUsers(
  sql: Sql,
  source: UsersSource,
  run: RunRecord,
  query: BatchQuery & { account: string; tagListIds?: string[] | undefined },
): Promise<BatchUser[]> {
  const { tagListIds, ...read } = query;
  const runQuery = { ...read, runId: run.runId };
  if (run.syncType === 'specific') return readRequestedBatch(sql, source, runQuery);
  return readsChangesOnly(run)
    ? readChangeSetBatch(sql, source, { ...runQuery, tagListIds: tagListIds ?? [] })
    : readPopulationBatch(sql, source, { ...runQuery, onlyNew: run.syncType === 'new' });
}

/**
 * One checkpointed batch of a run: the next users after the cursor are read with the run's fixed
 * filters, with what their plan is decided from; the plan is applied (the platform's calls, each
 * outcome recorded as the platform reports it, with the ledger in the same transaction), or a
 * dry run records it. The checkpoint
 * advances the run's counts once. A retry skips users already recorded, so each user is sent at
 * most once per run, apart from requests in flight when an attempt died.
 */
export async function processBatch(
  ctx: BatchContext,
  run: RunRecord,
  input: ProcessBatchInput,
): Promise<ProcessBatchOutput> {
  const started = performance.now();
  const turn = ctx.turns?.enter(run.runId, input.batchNo);
  try {
    return await runBatch(ctx, run, input, turn, started);
  } finally {
    turn?.leave();
  }
}

async function runBatch(
  ctx: BatchContext,
  run: RunRecord,
  input: ProcessBatchInput,
  turn: SendTurn | undefined,
  started: number,
): Promise<ProcessBatchOutput> {
  const users = await readBatch(ctx, run, input);
  // A planned batch ends where it was planned to, and the batches after it were planned too.
  const planned = input.upTo != null;
  const cursor = planned ? (input.upTo ?? null) : (users.at(-1)?.userId ?? input.cursor);
  const done = !planned && users.length < ctx.batchSize;
  turn?.read(users.length);
  if (users.length > 0) {
    await syncUsers(
      turn
        ? {
            ...ctx,
            onProgress: (count) => {
              turn.progressed(count);
              ctx.onProgress(count);
            },
          }
        : ctx,
      run,
      input,
      users,
      turn,
    );
  }
  const userIds = users.map((user) => user.userId);
  const counts = await countOutcomes(ctx.sql, run.runId, userIds);
  const progress = await checkpointBatch(ctx.sql, run.runId, input.batchNo, cursor, counts);
  metrics.batchDuration.observe((performance.now() - started) / 1000);
  return { cursor, done, progress };
}

/**
 * A batch's users not recorded yet: read what their plan is decided from, plan, then apply the
 * plan (a dry run records it instead).
 */
async function syncUsers(
  ctx: BatchContext,
  run: RunRecord,
  input: ProcessBatchInput,
  users: BatchUser[],
  turn: SendTurn | undefined,
): Promise<void> {
  const recorded = await recordedUsers(
    ctx.sql,
    run.runId,
    users.map((user) => user.userId),
  );
  const pending = users.filter((user) => !recorded.has(user.userId));
  if (pending.length === 0) return;
  const scope = scopeOf(ctx, run, input);
  const plan = planBatchUsers(await readBatchFacts(scope, pending));
  if (run.dryRun) await recordPlan(scope, plan);
  else await applyPlan(scope, plan, turn);
}
