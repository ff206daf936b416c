import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import {
  runsAnswerSchema,
  runsQuerySchema,
  runUsersAnswerSchema,
  runUsersQuerySchema,
} from './console-schemas.js';
import { json, marketing } from './openapi.js';
import { runIdParamsSchema } from './schemas.js';

const CSV_DESCRIPTION =
  'With Accept: text/csv, every user matching the filters (not one page), as a CSV download with a header line: user_id,outcome,reason';

/** Paths of the routes the console reads (machines use them too). */
export function consolePaths(): ZodOpenApiPathsObject {
  return {
    '/api/marketing/runs': {
      get: marketing({
        operationId: 'listRuns',
        summary:
          'Sync runs, newest first, whoever started them (API, schedule, console); erasures and reconciliations are not sync runs',
        requestParams: { query: runsQuerySchema },
        responses: { '200': { description: 'A page of runs', ...json(runsAnswerSchema) } },
      }),
    },
    '/api/marketing/sync-users/{runId}/users': {
      get: marketing(
        {
          operationId: 'listRunUsers',
          summary: "A run's users with their outcome and reason (user ids only), by user id",
          requestParams: { path: runIdParamsSchema, query: runUsersQuerySchema },
          responses: {
            '200': {
              description: `A page of users. ${CSV_DESCRIPTION}.`,
              content: {
                'application/json': { schema: runUsersAnswerSchema },
                'text/csv': { schema: z.string() },
              },
            },
          },
        },
        [404, 410],
        {
          404: 'No sync run has this id (run_not_found)',
          410: "The run's per-user outcomes were deleted after RUN_RETENTION_DAYS (outcomes_expired)",
        },
      ),
    },
  };
}
