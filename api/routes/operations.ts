import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { withTemporalDeadline } from '../../client/temporal.js';
import { pingDatabase } from '../../db/health.js';
import type { Sql } from '../../db/sql.js';
import { usersSourceProblem } from '../../db/users-source.js';
import { registry } from '../../telemetry/metrics.js';
import { errorBody } from '../errors.js';
import { openApiDocument } from '../openapi.js';

const withTimeout = <T>(work: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    work,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms).unref()),
  ]);

/** How long /readyz waits for each part to answer. */
export const READY_CHECK_MS = 2000;

export type DependencyCheck = 'ok' | 'unreachable';

type Check = DependencyCheck | 'invalid' | 'unknown';

const PART_NAMES: Record<string, string> = {
  database: 'the database is unreachable',
  temporal: 'Temporal is unreachable',
};

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

/**
 * Readiness: Postgres and Temporal answer, and the users relation has the columns a run reads
 * (unknown while the database does not answer). Each check has its own deadline.
 */
async function readiness(deps: { sql: Sql; temporal: Client; usersSource: string }) {
  const [dependencies, usersSource] = await Promise.all([
    checkDependencies(deps),
    withTimeout(usersSourceProblem(deps.sql, deps.usersSource), READY_CHECK_MS).then(
      (problem) => ({ problem }),
      () => undefined,
    ),
  ]);
  const checks: Record<'database' | 'temporal' | 'usersSource', Check> = {
    ...dependencies,
    usersSource: usersSource === undefined ? 'unknown' : usersSource.problem ? 'invalid' : 'ok',
  };
  return { checks, problem: usersSource?.problem };
}

/** Health, readiness, metrics and the API description. None needs the secret or shows user data. */
export function operationsRouter(deps: {
  sql: Sql;
  temporal: Client;
  usersSource: string;
}): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  // 200 `{ status: 'ready', checks }`; 503 in SPEC's error body naming the parts that are not
  // ready, with the same `status` and `checks`. It answers within 2 s.
  router.get('/readyz', async (_req, res) => {
    const { checks, problem } = await readiness(deps);
    if (Object.values(checks).every((check) => check === 'ok')) {
      res.json({ status: 'ready', checks });
      return;
    }
    // `unknown` follows from an unreachable database, which is named already.
    const down = Object.entries(checks).filter(
      ([, check]) => check !== 'ok' && check !== 'unknown',
    );
    const reasons = down.map(([part]) =>
      part === 'usersSource' ? (problem ?? '') : (PART_NAMES[part] ?? part),
    );
    res
      .status(503)
      .set('retry-after', '5')
      .json({
        ...errorBody(
          'not_ready',
          `Not ready: ${reasons.join('; ')}`,
          down.map(([part, status]) => ({
            part,
            status,
            ...(part === 'usersSource' && problem ? { message: problem } : {}),
          })),
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
