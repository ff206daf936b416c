import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { startErasure } from '../../client/erasures.js';
import { newRunId } from '../../client/sync-runs.js';
import { TEMPORAL_DEADLINES, withTemporalDeadline } from '../../client/temporal.js';
import { insertErasureWithin } from '../../db/erasure-starts.js';
import {
  deleteUnstartedErasure,
  type ErasureRecord,
  erasureProgressOf,
  getErasure,
} from '../../db/erasures.js';
import type { Sql } from '../../db/sql.js';
import { databaseCall, serviceUnavailable } from '../answers.js';
import { ApiError } from '../errors.js';
import { erasureBodySchema, erasureIdParamsSchema } from '../schemas.js';
import { parseInput } from '../validation.js';

export interface ErasuresRouteDeps {
  sql: Sql;
  temporal: Client;
  taskQueue: string;
  /** MAX_ACTIVE_ERASURES */
  maxActiveErasures: number;
}

export const erasureStatusUrl = (erasureId: string): string =>
  `/api/marketing/erasures/${encodeURIComponent(erasureId)}`;

const statusView = (record: ErasureRecord) => ({
  success: true as const,
  erasureId: record.erasureId,
  status: record.status,
  trigger: record.trigger,
  progress: erasureProgressOf(record),
  startedAt: record.startedAt.toISOString(),
  ...(record.finishedAt ? { finishedAt: record.finishedAt.toISOString() } : {}),
  ...(record.errorCode
    ? { error: { code: record.errorCode, message: record.errorMessage ?? '' } }
    : {}),
});

/** What a `429 too_many_erasures` tells the client to wait: erasures take minutes. */
const TOO_MANY_ERASURES_RETRY_AFTER_SECONDS = 30;

/**
 * Records a new erasure under a fresh id, within MAX_ACTIVE_ERASURES; one more answers
 * `429 too_many_erasures` and records nothing.
 */
async function recordErasure(deps: ErasuresRouteDeps, userIds: string[]): Promise<string> {
  for (;;) {
    const erasureId = newRunId('erasure');
    const reservation = await databaseCall(() =>
      insertErasureWithin(deps.sql, deps.maxActiveErasures, erasureId, 'api', userIds),
    );
    if ('refused' in reservation) {
      const { running, limit } = reservation.refused;
      throw new ApiError(
        429,
        'too_many_erasures',
        `${running} erasure${running === 1 ? ' is' : 's are'} running, as many as MAX_ACTIVE_ERASURES (${limit}) allows; try again when one has ended`,
        [{ running, limit }],
        { 'retry-after': String(TOO_MANY_ERASURES_RETRY_AFTER_SECONDS) },
      );
    }
    // An id already recorded is another request's, drawn in the same second: draw again.
    if (reservation.inserted) return erasureId;
  }
}

/**
 * SPEC's erasures: POST starts an erasure run (its users recorded in Postgres, the workflow gets
 * only the erasure id); GET answers its status from its record.
 */
export function erasuresRouter(deps: ErasuresRouteDeps): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const { user_ids: userIds } = parseInput(erasureBodySchema, req.body ?? {}, 'body');
    const erasureId = await recordErasure(deps, userIds);
    try {
      await withTemporalDeadline(deps.temporal, TEMPORAL_DEADLINES.callMs, () =>
        startErasure(deps.temporal, deps.taskQueue, erasureId, 'api'),
      );
    } catch (error) {
      await deleteUnstartedErasure(deps.sql, erasureId).catch(() => undefined);
      throw serviceUnavailable(error) ?? error;
    }
    const record = await databaseCall(() => getErasure(deps.sql, erasureId));
    res
      .status(202)
      .location(erasureStatusUrl(erasureId))
      .json({
        success: true,
        erasureId,
        status: 'running',
        progress: record
          ? erasureProgressOf(record)
          : {
              requested: userIds.length,
              erased: 0,
              notFound: 0,
              contactsDeleted: 0,
              failed: 0,
              pending: 0,
            },
        statusUrl: erasureStatusUrl(erasureId),
      });
  });

  router.get('/:erasureId', async (req, res) => {
    const { erasureId } = parseInput(erasureIdParamsSchema, req.params, 'query');
    const record = await databaseCall(() => getErasure(deps.sql, erasureId));
    if (!record) throw new ApiError(404, 'erasure_not_found', `There is no erasure ${erasureId}`);
    res.json(statusView(record));
  });

  return router;
}
