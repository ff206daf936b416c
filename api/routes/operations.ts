import type { Client } from '@temporalio/client';
import { Router } from 'express';
import { pingDatabase } from '../../db/health.js';
import type { Sql } from '../../db/sql.js';
import { registry } from '../../telemetry/metrics.js';
import { openApiDocument } from '../openapi.js';

const withTimeout = <T>(work: Promise<T>, ms: number): Promise<T> =>
  Promise.race([
    work,
    new Promise<never>((_, reject) => setTimeout(() => reject(new Error('timed out')), ms).unref()),
  ]);

/** Health, readiness, metrics and the API description. None needs the secret or shows user data. */
export function operationsRouter(deps: { sql: Sql; temporal: Client }): Router {
  const router = Router();

  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });

  router.get('/readyz', async (_req, res) => {
    const [database, temporal] = await Promise.allSettled([
      withTimeout(pingDatabase(deps.sql), 2000),
      withTimeout(deps.temporal.connection.workflowService.getSystemInfo({}), 2000),
    ]);
    const checks = {
      database: database.status === 'fulfilled' ? 'ok' : 'unreachable',
      temporal: temporal.status === 'fulfilled' ? 'ok' : 'unreachable',
    };
    const ready = Object.values(checks).every((check) => check === 'ok');
    res.status(ready ? 200 : 503).json({ status: ready ? 'ready' : 'not_ready', checks });
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
