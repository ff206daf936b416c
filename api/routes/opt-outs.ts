import express, { type Router } from 'express';
import { readOptOuts } from '../../db/consent.js';
import type { createConsentLift } from '../../db/consent-lift.js';
import type { Sql } from '../../db/sql.js';
import { databaseCall } from '../answers.js';
import { ApiError } from '../errors.js';
import { liftParamsSchema, optOutsQuerySchema } from '../schemas.js';
import { parseInput } from '../validation.js';

/**
 * `GET /api/marketing/opt-outs`: what people did on the platform (unsubscribed, deleted,
 * suppressed), erasures and the app's lifts, oldest first, by a cursor that never skips or repeats
 * an entry, so the application can record them in its own tables. `POST …/:userId/lift`: the
 * app's word that the person consented again; the next sync may create or re-add the contact.
 */
export function optOutsRouter(deps: {
  sql: Sql;
  lift: ReturnType<typeof createConsentLift>;
}): Router {
  const router = express.Router();
  router.get('/', async (req, res) => {
    const { after, limit } = parseInput(optOutsQuerySchema, req.query, 'query');
    const rows = await readOptOuts(deps.sql, after, limit);
    res.json({
      success: true,
      data: rows.map((row) => ({
        userId: row.userId,
        origin: row.origin,
        at: row.at.toISOString(),
      })),
      next: rows.at(-1)?.seq ?? after,
    });
  });
  router.post('/:userId/lift', async (req, res) => {
    const { userId } = parseInput(liftParamsSchema, req.params, 'query');
    const lifted = await databaseCall(() => deps.lift.liftUser(userId));
    if (!lifted) {
      throw new ApiError(
        404,
        'user_not_found',
        `No user of the users relation has the id ${userId}`,
      );
    }
    res.json({ success: true, ...lifted });
  });
  return router;
}
