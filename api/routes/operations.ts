import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { withTemporalDeadline } from '../../client/temporal.js';
import { pingDatabase } from '../../db/health.js';
import type { Sql } from '../../db/sql.js';
import { registry } from '../../telemetry/metrics.js';
import { errorBody } from '../errors.js';
import { openApiDocument } from '../openapi.js';

const withTimeout = <T>(work: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    work,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms).unref()),
  ]);

const READY_CHECK_MS = 2000;

export type DependencyCheck = 'ok' | 'unreachable';

/** Whether Postgres and Temporal answer, each within its own 2 s deadline. */
export async function checkDependencies(deps: {
  sql: Sql;
  temporal: Client;
}): Promise<{ database: DependencyCheck; temporal: DependencyCheck }> {
  const [database, temporal] = await Promise.allSettled([
    withTimeout(pingDatabase(deps.sql), READY_CHECK_MS),
    withTemporalDeadline(deps.temporal, READY_CHECK_MS, () =>
      deps.temporal.connection.workflowService.getSystemInfo({}),
    ),
  ]);
  return {
    database: database.status === 'fulfilled' ? 'ok' : 'unreachable',
    temporal: temporal.status === 'fulfilled' ? 'ok' : 'unreachable',
  };
}

/** Health, readiness, metrics and the API description. None needs the secret or shows user data. */
export function operationsRouter(deps: { sql: Sql; temporal: Client }): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // 200 `{ status: 'ready', checks }`; 503 in SPEC's error body naming the parts that are down,
  // with the same `status` and `checks`. Each check has its own deadline, so it answers in 2 s.
  router.get('/readyz', async (_req, res) => {
    const checks = await checkDependencies(deps);
    const down = Object.entries(checks)
      .filter(([, check]) => check !== 'ok')
      .map(([part]) => part);
    if (down.length === 0) {
      res.json({ status: 'ready', checks });
      return;
    }
    res
      .status(503)
      .set('retry-after', '5')
      .json({
        ...errorBody(
          'not_ready',
          `Not ready: ${down.map((part) => (part === 'database' ? 'the database' : 'Temporal')).join(' and ')} ${down.length > 1 ? 'are' : 'is'} unreachable`,
          down.map((part) => ({ part, status: 'unreachable' })),
        ),
        status: 'not_ready',
        checks,
      });
  });

  router.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  const document = openApiDocument();
  router.get('/openapi.json', (_req, res) => {
    res.json(document);
  });

  return router;
}
