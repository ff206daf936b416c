import type { Client } from '@temporalio/client';
import { type RequestHandler, Router } from 'express';
import { DEFAULT_PLATFORM } from '../../activities/platforms/registry.js';
import {
  cancelRun,
  describeTemporalRun,
  type RunUpdateOutcome,
  setRunPause,
} from '../../client/sync-runs.js';
import { TEMPORAL_DEADLINES, waitOnTemporal, withTemporalDeadline } from '../../client/temporal.js';
import type { SyncRequest } from '../../common/sync.js';
import type { PreviewInput, PreviewOutput } from '../../db/preview.js';
import {
  answerLaunch,
  completedMessage,
  dryRunFields,
  serviceUnavailable,
  unavailableError,
} from '../answers.js';
import { ApiError } from '../errors.js';
import { requireUsablePlatform } from '../platform-rules.js';
import { previewQuerySchema, runIdParamsSchema, syncUsersBodySchema } from '../schemas.js';
import type { SyncLauncher } from '../sync-launcher.js';
import { parseInput } from '../validation.js';
import { launchOptions } from './launch-options.js';

/** How long a pause or resume waits for the run to take it before answering 202. */
const PAUSE_WAIT_MS = 30_000;

/**
 * A pause or resume, waited on for PAUSE_WAIT_MS. A run still on its step by then is `waiting`
 * (202); that is a 503 only when Temporal does not answer a short look at the run either.
 */
async function pauseOrResume(
  temporal: Client,
  runId: string,
  paused: boolean,
): Promise<RunUpdateOutcome | { state: 'waiting' }> {
  const waited = await waitOnTemporal(temporal, PAUSE_WAIT_MS, () =>
    setRunPause(temporal, runId, paused),
  ).catch((error: unknown) => {
    throw serviceUnavailable(error) ?? error;
  });
  if (waited.state === 'done') return waited.value;
  await withTemporalDeadline(temporal, TEMPORAL_DEADLINES.callMs, () =>
    describeTemporalRun(temporal, runId),
  ).catch((error: unknown) => {
    throw serviceUnavailable(error) ?? error;
  });
  return waited;
}

export const defaultAudienceName = (now: Date): string =>
  `Audience [${now.toISOString().slice(0, 10)}]`;

export interface SyncUsersRouteDeps {
  launcher: SyncLauncher;
  temporal: Client;
  previewUsers(input: PreviewInput): Promise<PreviewOutput>;
  /** The clock for defaults that depend on the day (the audience name). */
  now: () => Date;
  /** The platforms this deployment has credentials for (this route syncs into Resend). */
  configuredPlatforms: ReadonlySet<string>;
}

/** GET /: how many users a sync would add now, and a sample. */
const previewUsers =
  (deps: SyncUsersRouteDeps): RequestHandler =>
  async (req, res) => {
    const query = parseInput(previewQuerySchema, req.query, 'query');
    const preview = await deps.previewUsers(query);
    res.json({
      success: true,
      count: preview.count,
      countedAt: preview.countedAt,
      sample: preview.sample,
      filters: { ...query, activeSince: preview.activeSince },
    });
  };

/** POST /: a sync into a new audience, answered when it ends within the wait window. */
const syncUsers =
  (deps: SyncUsersRouteDeps): RequestHandler =>
  async (req, res) => {
    const body = parseInput(syncUsersBodySchema, req.body ?? {}, 'body');
    requireUsablePlatform(DEFAULT_PLATFORM, deps.configuredPlatforms);
    const request: SyncRequest = {
      platform: DEFAULT_PLATFORM,
      listName: body.audienceName ?? defaultAudienceName(deps.now()),
      ...(body.audienceDescription !== undefined ? { description: body.audienceDescription } : {}),
      syncType: 'all',
      tags: [],
      filterActive: body.filterActive,
      activeDays: body.activeDays,
      trigger: 'api',
      ...(body.dry_run ? { dryRun: true } : {}),
    };
    const launch = await deps.launcher.launch(request, launchOptions(req, 'sync-users', body));
    await answerLaunch(res, deps.launcher, launch, (result) => ({
      success: true,
      audience: { id: result.listId, name: result.listName },
      contactsAdded: result.progress.added,
      contactsFailed: result.progress.failed,
      contactsSkipped: result.progress.skipped,
      contactsUpdated: result.progress.updated,
      message: completedMessage(result),
      runId: result.runId,
      ...dryRunFields(result),
    }));
  };

/** The run the path names, as the status route shows it; 404 when there is none. */
async function namedRun(deps: SyncUsersRouteDeps, params: unknown) {
  const { runId } = parseInput(runIdParamsSchema, params, 'query');
  const view = await deps.launcher.status(runId);
  if (!view) throw new ApiError(404, 'run_not_found', `There is no run ${runId}`);
  return view;
}

/** DELETE /:runId: the run stops after the batch in flight. */
const cancelSyncRun =
  (deps: SyncUsersRouteDeps): RequestHandler =>
  async (req, res) => {
    const view = await namedRun(deps, req.params);
    const { runId } = view;
    if (view.status !== 'running' && view.status !== 'paused') {
      throw new ApiError(409, 'run_finished', `Run ${runId} already ended (${view.status})`);
    }
    if (view.temporal === 'unavailable') throw unavailableError('temporal');
    await withTemporalDeadline(deps.temporal, TEMPORAL_DEADLINES.callMs, () =>
      cancelRun(deps.temporal, runId),
    ).catch((error: unknown) => {
      throw serviceUnavailable(error) ?? error;
    });
    res.status(202).json({
      success: true,
      runId,
      status: 'cancelling',
      message: 'The run stops after the batch in flight; contacts already added stay',
    });
  };

/**
 * POST /:runId/pause and /resume: answered once the run took it in (paused between two
 * batches, or going).
 */
const pauseOrResumeRun =
  (deps: SyncUsersRouteDeps, paused: boolean): RequestHandler =>
  async (req, res) => {
    const view = await namedRun(deps, req.params);
    const { runId } = view;
    const ended = () =>
      new ApiError(409, 'run_finished', `Run ${runId} already ended (${view.status})`);
    if (view.status !== 'running' && view.status !== 'paused') throw ended();
    if (view.temporal === 'unavailable') throw unavailableError('temporal');
    // The update answers once the step in flight has ended (a batch, a bulk chunk's import);
    // one that takes longer than a client waits answers 202, and takes effect when it ends.
    const outcome = await pauseOrResume(deps.temporal, runId, paused);
    if (outcome.state === 'ended') throw ended();
    if (outcome.state === 'updated' && outcome.view.phase === 'finished') throw ended();
    const after = await deps.launcher.status(runId);
    const taken = outcome.state === 'updated';
    res.status(taken ? 200 : 202).json({
      success: true,
      runId,
      status: paused && after?.status === 'paused' ? 'paused' : 'running',
      progress: after?.progress ?? view.progress,
      message: !paused
        ? 'The run goes on from its checkpoint'
        : taken && after?.status === 'paused'
          ? 'The run is paused after its last batch; it keeps its list until resumed or cancelled'
          : 'The run pauses before its next batch; it keeps its list until resumed or cancelled',
    });
  };

/** SPEC's /api/marketing/sync-users: preview, sync into a new audience, status, cancel. */
export function syncUsersRouter(deps: SyncUsersRouteDeps): Router {
  const router = Router();
  router.get('/', previewUsers(deps));
  router.post('/', syncUsers(deps));
  router.get('/:runId', async (req, res) => {
    res.json({ success: true, ...(await namedRun(deps, req.params)) });
  });
  router.delete('/:runId', cancelSyncRun(deps));
  router.post('/:runId/pause', pauseOrResumeRun(deps, true));
  router.post('/:runId/resume', pauseOrResumeRun(deps, false));
  return router;
}
