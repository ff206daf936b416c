import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Client } from '@temporalio/client';
import { type Request, type Response, Router } from 'express';
import { describeTemporalRun } from '../../client/sync-runs.js';
import {
  isTemporalUnavailable,
  TEMPORAL_DEADLINES,
  withTemporalDeadline,
} from '../../client/temporal.js';
import { spreadsheetCell } from '../../common/csv.js';
import type { RunPlan } from '../../common/plan.js';
import { readRunPlan } from '../../db/plans.js';
import {
  countReasons,
  type ListedRun,
  listRuns,
  type ReasonCounts,
  type RunListFilter,
  type RunPosition,
  type RunUserFilter,
  type RunUserRow,
  readRunUsers,
  runOutcomesState,
  streamRunUsers,
} from '../../db/run-history.js';
import { markRunEndedOutside, progressOf } from '../../db/runs.js';
import type { Sql } from '../../db/sql.js';
import { completedResult, databaseCall, serviceUnavailable, unavailableError } from '../answers.js';
import { runsQuerySchema, runUsersQuerySchema } from '../console-schemas.js';
import { ApiError } from '../errors.js';
import { runMessage } from '../run-messages.js';
import { STALE_RECORD_MS } from '../run-status.js';
import { runIdParamsSchema } from '../schemas.js';
import { parseInput } from '../validation.js';

export interface RunsRouteDeps {
  sql: Sql;
  temporal: Client;
}

// --- Cursors: opaque to clients, a position to us ----------------------------------------

const encodeCursor = (parts: string[]): string =>
  Buffer.from(JSON.stringify(parts)).toString('base64url');

const badCursor = () =>
  new ApiError(
    400,
    'invalid_request',
    'Invalid request query: cursor must be the `next` of an earlier answer',
    [{ field: 'cursor', message: 'must be the `next` of an earlier answer' }],
  );

/** The cursor's parts, each held to its pattern (a cursor is client input like any other). */
function decodeCursor(cursor: string | undefined, patterns: RegExp[]): string[] | undefined {
  if (cursor === undefined) return undefined;
  let parts: unknown;
  try {
    parts = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw badCursor();
  }
  const valid =
    Array.isArray(parts) &&
    parts.length === patterns.length &&
    parts.every((part, i) => typeof part === 'string' && patterns[i]?.test(part));
  if (!valid) throw badCursor();
  return parts as string[];
}

const POSITION_TIME = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/;
const RUN_ID = /^[A-Za-z0-9._:-]{1,200}$/;
// Any user id the users relation can hold; text in Postgres cannot hold NUL.
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is the character it refuses
const USER_ID = /^[^\u0000]{1,1000}$/;

const runPosition = (cursor: string | undefined): RunPosition | undefined => {
  const parts = decodeCursor(cursor, [POSITION_TIME, RUN_ID]);
  return parts && { startedAt: parts[0] ?? '', runId: parts[1] ?? '' };
};

// --- The runs list ------------------------------------------------------------------------

type TemporalCheck = 'reachable' | 'unreachable';

/**
 * Records of running runs that Temporal has ended (terminated or timed out from outside), or has
 * never heard of a minute after their start, are recorded as ended, as the status route does.
 * Answers whether Temporal could be asked and whether a record changed.
 */
async function settleEndedRuns(
  deps: RunsRouteDeps,
  runs: ListedRun[],
): Promise<{ temporal: TemporalCheck; changed: boolean }> {
  const outcomes = await Promise.all(
    runs
      .filter((run) => run.status === 'running')
      .map((run) =>
        withTemporalDeadline(deps.temporal, TEMPORAL_DEADLINES.describeMs, () =>
          describeTemporalRun(deps.temporal, run.runId),
        ).then(
          async (live) => {
            const ended = live
              ? live.status !== 'running'
              : run.startedAt.getTime() < Date.now() - STALE_RECORD_MS;
            if (!ended) return 'running' as const;
            await databaseCall(() =>
              markRunEndedOutside(deps.sql, run.runId, live?.status ?? 'unknown'),
            );
            return 'ended' as const;
          },
          (error: unknown) => {
            if (isTemporalUnavailable(error)) return 'unreachable' as const;
            throw error;
          },
        ),
      ),
  );
  return {
    temporal: outcomes.includes('unreachable') ? 'unreachable' : 'reachable',
    changed: outcomes.includes('ended'),
  };
}

/**
 * The plans of the page's completed dry runs, for their messages (what a real run would do), as
 * the status says them. Dry runs are few, and each plan reads that run's users only.
 */
async function dryRunPlans(sql: Sql, runs: ListedRun[]): Promise<Map<string, RunPlan>> {
  const dryRuns = runs.filter((run) => run.dryRun && run.status === 'completed');
  const plans = await Promise.all(dryRuns.map((run) => databaseCall(() => readRunPlan(sql, run))));
  return new Map(dryRuns.map((run, index) => [run.runId, plans[index] as RunPlan]));
}

/** A run's error, once it ended otherwise than completed. */
const errorOf = (run: ListedRun): { code: string; message: string } | undefined =>
  run.errorCode && run.status !== 'completed'
    ? { code: run.errorCode, message: run.errorMessage ?? '' }
    : undefined;

/** A run as the list shows it: what its status route shows, but the rejected users and plan. */
function runSummary(
  run: ListedRun,
  { reasons, plan }: { reasons: ReasonCounts | undefined; plan: RunPlan | undefined },
  temporal: TemporalCheck,
) {
  const status = run.status === 'running' && run.pausedAt ? 'paused' : run.status;
  const progress = progressOf(run);
  return {
    runId: run.runId,
    platform: run.platform,
    status,
    dryRun: run.dryRun,
    syncType: run.syncType,
    mode: run.mode,
    trigger: run.trigger,
    scheduleId: run.scheduleId,
    audience: run.listId ? { id: run.listId, name: run.listName ?? '' } : null,
    listName: run.listName,
    tags: run.tags,
    progress,
    message: runMessage({ status, progress, dryRun: run.dryRun, plan, error: errorOf(run) }),
    reasons: reasons ?? { skipped: {}, failed: {} },
    startedAt: run.startedAt.toISOString(),
    ...(run.finishedAt && run.status !== 'running'
      ? { finishedAt: run.finishedAt.toISOString() }
      : {}),
    ...(run.platformUnavailableSince && run.status === 'running'
      ? { platformUnavailableSince: run.platformUnavailableSince.toISOString() }
      : {}),
    ...(run.bulkMode ? { bulk: { mode: run.bulkMode, message: run.bulkNote ?? '' } } : {}),
    ...(run.status === 'completed' ? { result: completedResult(progress, run.listId) } : {}),
    ...(errorOf(run) ? { error: errorOf(run) } : {}),
    ...(temporal === 'unreachable' && run.status === 'running'
      ? { temporal: 'unavailable' as const }
      : {}),
  };
}

/** `GET /api/marketing/runs`: sync runs, newest first, by a cursor on (start time, run id). */
async function listRunsAnswer(deps: RunsRouteDeps, req: Request, res: Response): Promise<void> {
  const query = parseInput(runsQuerySchema, req.query, 'query');
  const filter: RunListFilter = {
    status: query.status,
    listId: query.list_id,
    platform: query.platform,
  };
  const after = runPosition(query.cursor);
  // One more than a page: whether another page follows.
  const read = () => databaseCall(() => listRuns(deps.sql, filter, query.limit + 1, after));
  let runs = await read();
  const settled = await settleEndedRuns(deps, runs);
  if (settled.changed) runs = await read();
  const page = runs.slice(0, query.limit);
  const [reasons, plans] = await Promise.all([
    databaseCall(() =>
      countReasons(
        deps.sql,
        page.map((run) => run.runId),
      ),
    ),
    dryRunPlans(deps.sql, page),
  ]);
  const last = page.at(-1);
  res.json({
    success: true,
    runs: page.map((run) =>
      runSummary(
        run,
        { reasons: reasons.get(run.runId), plan: plans.get(run.runId) },
        settled.temporal,
      ),
    ),
    next:
      runs.length > query.limit && last
        ? encodeCursor([last.position.startedAt, last.position.runId])
        : null,
  });
}

export function runsRouter(deps: RunsRouteDeps): Router {
  const router = Router();
  router.get('/', (req, res) => listRunsAnswer(deps, req, res));
  return router;
}

// --- A run's users ------------------------------------------------------------------------

/** Rows read from the database cursor at a time while a CSV streams. */
const CSV_ROWS_PER_READ = 500;
const CSV_HEADER = 'user_id,outcome,reason\r\n';

const csvLine = (row: RunUserRow): string =>
  `${[row.userId, row.outcome, row.reason].map(spreadsheetCell).join(',')}\r\n`;

/**
 * Every user matching the filter as a CSV download, streamed from a database cursor with the
 * response's backpressure, so a run of a million users is never in memory. The first rows are
 * read before the answer starts, so a database that fails at once still gets its 503.
 */
async function sendUsersCsv(
  deps: RunsRouteDeps,
  req: Request,
  res: Response,
  runId: string,
  filter: RunUserFilter,
): Promise<void> {
  const reads = streamRunUsers(deps.sql, runId, filter, CSV_ROWS_PER_READ)[Symbol.asyncIterator]();
  const first = await databaseCall(() => reads.next());
  async function* lines() {
    yield CSV_HEADER;
    if (first.done) return;
    yield first.value.map(csvLine).join('');
    for (let read = await reads.next(); !read.done; read = await reads.next()) {
      yield read.value.map(csvLine).join('');
    }
  }
  res.status(200).attachment(`${runId}-users.csv`).type('text/csv; charset=utf-8');
  try {
    await pipeline(Readable.from(lines()), res);
  } catch (error) {
    // The answer has begun: the client sees a cut download, and we say why in the log.
    req.log?.warn({ err: error, runId }, 'users csv stopped before its end');
  } finally {
    await reads.return?.();
  }
}

/**
 * `GET /api/marketing/sync-users/:runId/users`: the run's users with outcome and reason (user ids
 * only), by user id, paged; with `Accept: text/csv`, all of them as a CSV download.
 */
async function runUsersAnswer(deps: RunsRouteDeps, req: Request, res: Response): Promise<void> {
  const { runId } = parseInput(runIdParamsSchema, req.params, 'query');
  const query = parseInput(runUsersQuerySchema, req.query, 'query');
  const afterUserId = decodeCursor(query.cursor, [USER_ID])?.[0];
  const state = await databaseCall(() => runOutcomesState(deps.sql, runId));
  if (state === 'deleted') {
    throw new ApiError(
      410,
      'outcomes_expired',
      `The users of run ${runId} were deleted after RUN_RETENTION_DAYS; the run's counts remain in its status`,
    );
  }
  // A run starts before its first activity writes its record: Temporal knows it meanwhile.
  if (state === 'no_record' && !(await syncRunInTemporal(deps, runId))) {
    throw new ApiError(404, 'run_not_found', `There is no sync run ${runId}`);
  }
  const filter: RunUserFilter = { outcome: query.outcome, reason: query.reason };
  const csv =
    query.format === undefined
      ? req.accepts(['application/json', 'text/csv']) === 'text/csv'
      : query.format === 'csv';
  if (csv) {
    await sendUsersCsv(deps, req, res, runId, filter);
    return;
  }
  const rows = await databaseCall(() =>
    readRunUsers(deps.sql, runId, filter, afterUserId, query.limit + 1),
  );
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  res.json({
    success: true,
    runId,
    users: page,
    next: rows.length > query.limit && last ? encodeCursor([last.userId]) : null,
  });
}

const syncRunInTemporal = (deps: RunsRouteDeps, runId: string): Promise<boolean> =>
  withTemporalDeadline(deps.temporal, TEMPORAL_DEADLINES.callMs, async () =>
    Boolean(await describeTemporalRun(deps.temporal, runId)),
  ).catch((error: unknown) => {
    throw isTemporalUnavailable(error)
      ? unavailableError('temporal')
      : (serviceUnavailable(error) ?? error);
  });

/** Mounted at /sync-users beside the status routes. */
export function runUsersRouter(deps: RunsRouteDeps): Router {
  const router = Router();
  router.get('/:runId/users', (req, res) => runUsersAnswer(deps, req, res));
  return router;
}
