import { Router } from 'express';
import { PLATFORMS, type Platform, type SyncRequest } from '../../common/sync.js';
import { answerLaunch } from '../answers.js';
import { ApiError } from '../errors.js';
import { syncBodySchema } from '../schemas.js';
import type { SyncLauncher } from '../sync-launcher.js';
import { parseInput } from '../validation.js';
import { launchOptions } from './launch-options.js';
import { defaultAudienceName } from './sync-users.js';

const isPlatform = (value: string): value is Platform =>
  (PLATFORMS as readonly string[]).includes(value);

/** Turns a POST /sync body into a run request; schedules store the same body. */
export function syncRequestFromBody(body: unknown, trigger: SyncRequest['trigger']): SyncRequest {
  const parsed = parseInput(syncBodySchema, body ?? {}, 'body');
  if (!isPlatform(parsed.platform)) {
    throw new ApiError(
      400,
      'unsupported_platform',
      `Platform "${parsed.platform}" is not supported; use "resend"`,
      [{ field: 'platform', message: `must be one of ${PLATFORMS.join(', ')}` }],
    );
  }
  return {
    platform: parsed.platform,
    ...(parsed.list_id !== undefined ? { listId: parsed.list_id } : {}),
    listName:
      parsed.list_name ?? (parsed.list_id ? parsed.list_id : defaultAudienceName(new Date())),
    syncType: parsed.sync_type,
    ...(parsed.user_ids ? { userIds: [...new Set(parsed.user_ids)] } : {}),
    tags: [...new Set(parsed.tags ?? [])],
    filterActive: parsed.filterActive,
    activeDays: parsed.activeDays,
    trigger,
  };
}

/** SPEC's POST /api/marketing/sync: any platform, list, sync type and tags. */
export function syncRouter(deps: { launcher: SyncLauncher }): Router {
  const router = Router();
  router.post('/', async (req, res) => {
    const request = syncRequestFromBody(req.body, 'api');
    const launch = await deps.launcher.launch(
      request,
      launchOptions(req, `sync-${request.syncType}`),
    );
    await answerLaunch(res, deps.launcher, launch, (result) => ({
      success: true,
      message: 'Sync completed successfully',
      synced: result.progress.added,
      failed: result.progress.failed,
      skipped: result.progress.skipped,
      list_id: result.listId,
      runId: result.runId,
    }));
  });
  return router;
}
