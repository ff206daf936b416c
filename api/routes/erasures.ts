import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { startErasure } from '../../client/erasures.js';
import { newRunId } from '../../client/sync-runs.js';
import { TEMPORAL_DEADLINES, withTemporalDeadline } from '../../client/temporal.js';
import {
  deleteUnstartedErasure,
  type ErasureRecord,
  erasureProgressOf,
  getErasure,
  insertErasure,
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

/**
 * SPEC's erasures: POST starts an erasure run (its users recorded in Postgres, the workflow gets
 * only the erasure id); GET answers its status from its record.
 */
export function erasuresRouter(deps: ErasuresRouteDeps): Router {
  const router = Router();

  router.post('/', async (req, res) => {
    const { user_ids: userIds } = parseInput(erasureBodySchema, req.body ?? {}, 'body');
    let erasureId = newRunId('erasure');
    // An id already recorded is another request's, drawn in the same second: draw again.
    while (!(await databaseCall(() => insertErasure(deps.sql, erasureId, 'api', userIds)))) {
      erasureId = newRunId('erasure');
    }
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
