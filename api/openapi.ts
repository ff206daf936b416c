import type { z } from 'zod';
import { createDocument, type ZodOpenApiResponsesObject } from 'zod-openapi';
import { scheduleBodySchema, scheduleIdParams } from './routes/schedules.js';
import {
  errorSchema,
  previewAnswerSchema,
  previewQuerySchema,
  runControlAnswerSchema,
  runIdParamsSchema,
  runningAnswerSchema,
  runStatusSchema,
  syncAnswerSchema,
  syncBodySchema,
  syncUsersAnswerSchema,
  syncUsersBodySchema,
} from './schemas.js';

const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });

const errors = (...statuses: number[]): ZodOpenApiResponsesObject =>
  Object.fromEntries(
    statuses.map((status) => [
      String(status),
      { description: ERROR_TEXT[status] ?? 'Error', ...json(errorSchema) },
    ]),
  );

const ERROR_TEXT: Record<number, string> = {
  400: 'Invalid request: the details name each field and the reason',
  401: 'Missing or wrong Bearer secret',
  404: 'Not found',
  409: 'Conflict with the run state',
  413: 'Body over 64 KiB',
  415: 'Body is not JSON',
  422: 'Idempotency-Key reused with another request',
  500: 'The run failed, or the server did',
};

const running = {
  '202': { description: 'Still running (or Prefer: respond-async)', ...json(runningAnswerSchema) },
};

/** The API described as OpenAPI 3.1, generated from the schemas that validate requests. */
export function openApiDocument() {
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'audience-sync',
      version: '0.1.0',
      description:
        'Preview and sync application users into Resend audiences through durable Temporal workflows.',
    },
    components: {
      securitySchemes: {
        marketingSecret: { type: 'http', scheme: 'bearer', description: 'MARKETING_API_SECRET' },
      },
    },
    security: [{ marketingSecret: [] }],
    paths: {
      '/api/marketing/sync-users': {
        get: {
          summary: 'Preview: how many users a sync would add now, and a sample',
          requestParams: { query: previewQuerySchema },
          responses: {
            '200': { description: 'Count and sample', ...json(previewAnswerSchema) },
            ...errors(400, 401, 500),
          },
        },
        post: {
          summary: 'Create a new audience and add the filtered users',
          requestBody: { ...json(syncUsersBodySchema) },
          responses: {
            '200': {
              description: 'Finished within the wait window',
              ...json(syncUsersAnswerSchema),
            },
            ...running,
            ...errors(400, 401, 409, 413, 415, 422, 500),
          },
        },
      },
      '/api/marketing/sync-users/{runId}': {
        get: {
          summary: 'Status and progress of a run',
          requestParams: { path: runIdParamsSchema },
          responses: {
            '200': { description: 'The run', ...json(runStatusSchema) },
            ...errors(401, 404),
          },
        },
        delete: {
          summary: 'Cancel a run after the batch in flight',
          requestParams: { path: runIdParamsSchema },
          responses: { '202': { description: 'Cancellation requested' }, ...errors(401, 404, 409) },
        },
      },
      '/api/marketing/sync-users/{runId}/pause': {
        post: {
          summary: 'Pause a run after the batch in flight; it keeps its list',
          requestParams: { path: runIdParamsSchema },
          responses: {
            '200': { description: 'The run is paused', ...json(runControlAnswerSchema) },
            ...errors(401, 404, 409),
          },
        },
      },
      '/api/marketing/sync-users/{runId}/resume': {
        post: {
          summary: 'Resume a paused run from its checkpoint',
          requestParams: { path: runIdParamsSchema },
          responses: {
            '200': { description: 'The run goes on', ...json(runControlAnswerSchema) },
            ...errors(401, 404, 409),
          },
        },
      },
      '/api/marketing/sync': {
        post: {
          summary: 'General sync: platform, list, sync type, tags',
          requestBody: { ...json(syncBodySchema) },
          responses: {
            '200': { description: 'Finished within the wait window', ...json(syncAnswerSchema) },
            ...running,
            ...errors(400, 401, 404, 409, 413, 415, 422, 500),
            '413': { description: 'Body over 1 MiB', ...json(errorSchema) },
          },
        },
      },
      '/api/marketing/schedules': {
        post: {
          summary: 'Create a recurring sync (a Temporal Schedule)',
          requestBody: { ...json(scheduleBodySchema) },
          responses: { '201': { description: 'The schedule' }, ...errors(400, 401, 409) },
        },
        get: {
          summary: 'List schedules',
          responses: { '200': { description: 'Schedules' }, ...errors(401) },
        },
      },
      '/api/marketing/schedules/{id}': {
        get: {
          summary: 'A schedule: spec, next run times, recent runs and their outcome',
          requestParams: { path: scheduleIdParams },
          responses: { '200': { description: 'The schedule' }, ...errors(401, 404) },
        },
        delete: {
          summary: 'Delete a schedule (runs already started go on)',
          requestParams: { path: scheduleIdParams },
          responses: { '200': { description: 'Deleted' }, ...errors(401, 404) },
        },
      },
      ...Object.fromEntries(
        (['trigger', 'pause', 'unpause'] as const).map((action) => [
          `/api/marketing/schedules/{id}/${action}`,
          {
            post: {
              summary: `${action[0]?.toUpperCase()}${action.slice(1)} a schedule`,
              requestParams: { path: scheduleIdParams },
              responses: {
                [action === 'trigger' ? '202' : '200']: { description: 'Done' },
                ...errors(401, 404),
              },
            },
          },
        ]),
      ),
      '/healthz': {
        get: {
          summary: 'Process alive',
          security: [],
          responses: { '200': { description: 'Alive' } },
        },
      },
      '/readyz': {
        get: {
          summary: 'Database and Temporal reachable',
          security: [],
          responses: { '200': { description: 'Ready' }, '503': { description: 'Not ready' } },
        },
      },
      '/metrics': {
        get: {
          summary: 'Prometheus metrics',
          security: [],
          responses: { '200': { description: 'Metrics' } },
        },
      },
    },
  });
}
