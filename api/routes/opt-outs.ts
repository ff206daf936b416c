import express, { type Router } from 'express';
import { readOptOuts } from '../../db/consent.js';
import type { Sql } from '../../db/sql.js';
import { optOutsQuerySchema } from '../schemas.js';
import { parseInput } from '../validation.js';

/**
 * `GET /api/marketing/opt-outs`: what people did on the platform (unsubscribed, deleted,
 * suppressed) and erasures, oldest first, by a cursor that never skips or repeats an entry, so the
 * application can record them in its own tables.
 */
export function optOutsRouter(deps: { sql: Sql }): Router {
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
  return router;
}
