import { Context } from '@temporalio/activity';
import { ApplicationFailure, WorkflowNotFoundError } from '@temporalio/common';
import type { Platform, SyncProgress, SyncRequest } from '../common/sync.js';
import {
  assignRunList,
  finishRun,
  getRun,
  insertRun,
  markRunEndedOutside,
  type RunRecord,
  type RunStatus,
  setRunTotal,
} from '../db/runs.js';
import type { Sql } from '../db/sql.js';
import { createContactDirectory } from './contact-directory.js';
import { createRunList, findOrCreateNamedList } from './lists.js';
import type { MarketingPlatform } from './platforms/platform.js';
import { type ProcessBatchInput, type ProcessBatchOutput, processBatch } from './sync-batch.js';
import { countPopulation, usersSourceLoader } from './users-source.js';

export type { ProcessBatchInput, ProcessBatchOutput } from './sync-batch.js';

export interface SyncActivityDeps {
  sql: Sql;
  /** USERS_SOURCE */
  usersSource: string;
  /** SYNC_BATCH_SIZE */
  batchSize: number;
  /** A platform client for one activity attempt; `signal` aborts its waits and requests. */
  platformFor(platform: Platform, signal: AbortSignal): MarketingPlatform;
  /** Requests in flight at once within a batch. */
  concurrency(): number;
}

export interface BeginRunInput {
  runId: string;
  request: SyncRequest;
  activeSince: string;
}

export type BeginRunOutput = { started: true } | { started: false; activeRunId: string };

export interface PreparedRun {
  listId: string;
  listName: string;
  tagListIds: string[];
  total: number;
  batchSize: number;
}

export interface FinishRunInput {
  runId: string;
  status: Exclude<RunStatus, 'running'>;
  error?: { code: string; message: string };
}

/**
 * The activities of SyncUsersWorkflow, built by the worker with their dependencies. Inputs and
 * results are ids, cursors and counts: users' data is read and sent inside the activities only.
 */
export function createSyncActivities(deps: SyncActivityDeps) {
  const { sql } = deps;
  const usersSource = usersSourceLoader(deps.sql, deps.usersSource);

  const requireRun = async (runId: string): Promise<RunRecord> => {
    const run = await getRun(sql, runId);
    if (!run) throw ApplicationFailure.nonRetryable(`Run ${runId} has no record`, 'RunMissing');
    return run;
  };

  /** A run holding a list that Temporal no longer runs (terminated) is recorded as ended. */
  const holderStillRuns = async (runId: string): Promise<boolean> => {
    const status = await Context.current()
      .client.workflow.getHandle(runId)
      .describe()
      .then((description) => description.status.name)
      .catch((error: unknown) => {
        if (error instanceof WorkflowNotFoundError) return 'NOT_FOUND';
        throw error;
      });
    if (status === 'RUNNING') return true;
    await markRunEndedOutside(sql, runId, status.toLowerCase());
    return false;
  };

  const platformFor = (run: RunRecord) =>
    deps.platformFor(run.platform, Context.current().cancellationSignal);

  return {
    /** Records the run (once) and claims an existing destination list, if one was named. */
    async beginRun({ runId, request, activeSince }: BeginRunInput): Promise<BeginRunOutput> {
      await insertRun(
        sql,
        {
          runId,
          platform: request.platform,
          syncType: request.syncType,
          trigger: request.trigger,
          scheduleId: request.scheduleId ?? null,
          listName: request.listName,
          description: request.description ?? null,
          tags: request.tags,
          filterActive: request.filterActive,
          activeDays: request.activeDays,
          activeSince: new Date(activeSince),
        },
        request.userIds ?? [],
      );
      if (!request.listId) return { started: true };
      let assigned = await assignRunList(sql, runId, request.listId, request.listName);
      if (!assigned.assigned && !(await holderStillRuns(assigned.activeRunId))) {
        assigned = await assignRunList(sql, runId, request.listId, request.listName);
      }
      return assigned.assigned
        ? { started: true }
        : { started: false, activeRunId: assigned.activeRunId };
    },

    /** Checks or creates the destination list, finds or creates the tag lists, counts users. */
    async prepareRun({ runId }: { runId: string }): Promise<PreparedRun> {
      const run = await requireRun(runId);
      const platform = platformFor(run);
      let listId = run.listId;
      let listName = run.listName ?? '';
      if (listId) {
        const existing = await platform.getList(listId);
        if (!existing) {
          throw ApplicationFailure.nonRetryable(
            `The list ${listId} does not exist on ${run.platform}`,
            'ListNotFound',
          );
        }
        listName = existing.name;
      } else {
        const created = await createRunList(sql, platform, run, listName);
        listId = created.id;
      }
      await assignRunList(sql, runId, listId, listName);
      const tagListIds: string[] = [];
      for (const tag of run.tags) {
        tagListIds.push((await findOrCreateNamedList(sql, platform, tag)).id);
      }
      const total = await countRunPopulation(run, listId);
      await setRunTotal(sql, runId, total);
      return { listId, listName, tagListIds, total, batchSize: deps.batchSize };
    },

    /** Makes sure the platform's existing contacts are known before anything is sent. */
    async loadContactDirectory({ runId }: { runId: string }): Promise<{ pages: number }> {
      const run = await requireRun(runId);
      const directory = createContactDirectory(sql, platformFor(run));
      let pages = 0;
      return directory.load(() => Context.current().heartbeat({ pages: ++pages }));
    },

    async processBatch(input: ProcessBatchInput): Promise<ProcessBatchOutput> {
      const run = await requireRun(input.runId);
      const platform = platformFor(run);
      const context = Context.current();
      let usersDone = 0;
      // Heartbeats also flow while a request waits out a rate limit, so a slow batch is not
      // mistaken for a dead worker.
      const beat = setInterval(() => context.heartbeat({ usersDone }), 5_000);
      try {
        return await processBatch(
          {
            sql,
            source: await usersSource(),
            platform,
            directory: createContactDirectory(sql, platform),
            batchSize: deps.batchSize,
            concurrency: deps.concurrency,
            onProgress: (count) => {
              usersDone += count;
              context.heartbeat({ usersDone });
            },
          },
          run,
          input,
        );
      } finally {
        clearInterval(beat);
      }
    },

    async finishRun({ runId, status, error }: FinishRunInput): Promise<SyncProgress> {
      const run = await finishRun(sql, runId, status, error);
      if (!run) throw ApplicationFailure.nonRetryable(`Run ${runId} has no record`, 'RunMissing');
      const { added, failed, skipped, processed } = run;
      return { total: run.total ?? processed, processed, added, failed, skipped };
    },
  };

  async function countRunPopulation(run: RunRecord, listId: string): Promise<number> {
    if (run.syncType === 'specific') {
      const [row] = await sql<{ count: number }[]>`
        select count(*)::int as count from audience_sync.run_requested_users
        where run_id = ${run.runId}`;
      return row?.count ?? 0;
    }
    return countPopulation(sql, await usersSource(), {
      platform: run.platform,
      listId,
      filter: { filterActive: run.filterActive, activeSince: run.activeSince.toISOString() },
      onlyNew: run.syncType === 'new',
    });
  }
}

export type SyncActivities = ReturnType<typeof createSyncActivities>;
