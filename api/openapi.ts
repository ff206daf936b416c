import { z } from 'zod';
import {
  createDocument,
  type ZodOpenApiOperationObject,
  type ZodOpenApiResponseObject,
  type ZodOpenApiResponsesObject,
} from 'zod-openapi';
import { CONSOLE_SECURITY_SCHEME, consolePaths } from './console-openapi.js';
import { scheduleBodySchema, scheduleIdParams } from './routes/schedules.js';
import {
  cancelAnswerSchema,
  erasureBodySchema,
  erasureIdParamsSchema,
  erasureStartedSchema,
  erasureStatusSchema,
  errorSchema,
  healthSchema,
  liftAnswerSchema,
  liftParamsSchema,
  notReadySchema,
  optOutsAnswerSchema,
  optOutsQuerySchema,
  previewAnswerSchema,
  previewQuerySchema,
  readySchema,
  runControlAnswerSchema,
  runIdParamsSchema,
  runningAnswerSchema,
  runStatusSchema,
  scheduleAnswerSchema,
  scheduleDeletedSchema,
  scheduleListSchema,
  scheduleNoteSchema,
  scheduleTriggeredSchema,
  syncAnswerSchema,
  syncBodySchema,
  syncUsersAnswerSchema,
  syncUsersBodySchema,
  webhookAnswerSchema,
} from './schemas.js';

export const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });

const retryAfter = z.object({
  'Retry-After': z.string().meta({ description: 'Seconds to wait before trying again' }),
});

const ERRORS: Record<number, ZodOpenApiResponseObject> = {
  400: {
    description:
      'Invalid request (body, query, path parameter or header): the details name each field and the reason',
  },
  401: {
    description: 'Missing or wrong Bearer secret, or the console session ended',
    headers: z.object({
      'WWW-Authenticate': z.string().meta({ example: 'Bearer realm="audience-sync"' }),
    }),
  },
  403: {
    description:
      'With the console session cookie: a request other than GET without its CSRF token (csrf_token_invalid)',
  },
  404: { description: 'Not found' },
  409: { description: 'Conflict with the state of the run or schedule' },
  413: { description: 'Body over 64 KiB' },
  415: { description: 'Body is not JSON' },
  422: { description: 'Idempotency-Key reused with another request' },
  429: {
    description:
      'Too many failed Bearer checks or webhook signatures from this address (too_many_auth_failures, AUTH_FAILURES_PER_MINUTE)',
    headers: retryAfter,
  },
  500: { description: 'The run failed, or the server did' },
  503: {
    description:
      'Postgres or Temporal cannot be reached (database_unavailable, temporal_unavailable), or the users relation lacks columns a run reads (users_source_invalid, naming them)',
    headers: retryAfter,
  },
};

/** The limits a run start meets, in the 429 of the routes that start runs. */
const RUN_LIMITS =
  'Too many failed Bearer checks from this address (too_many_auth_failures); or MAX_CONCURRENT_RUNS (default 10) runs that write are running or paused (too_many_runs); or, for a dry run, MAX_CONCURRENT_DRY_RUNS (default 5) dry runs are running (too_many_dry_runs)';

/** What `properties` may not name. */
const PROPERTY_REFUSALS =
  'properties names a column PROPERTY_COLUMNS does not list (column_not_allowed), or one the users relation lacks (unknown_column)';

/** Error answers in SPEC's body; `overrides` replaces the description of some. */
export const errors = (
  statuses: number[],
  overrides: Record<number, string> = {},
): ZodOpenApiResponsesObject =>
  Object.fromEntries(
    statuses.map((status) => [
      String(status),
      {
        ...ERRORS[status],
        description: overrides[status] ?? ERRORS[status]?.description ?? 'Error',
        ...json(errorSchema),
      },
    ]),
  );

/**
 * Every route under /api/marketing can answer these: the Bearer or session check (401, 403, 429), the body
 * checks that run before any route (400 invalid JSON, 413, 415), and failures of the server or
 * of what it depends on (500, 503).
 */
const MARKETING_ERRORS = [400, 401, 403, 413, 415, 429, 500, 503];

/** An operation under /api/marketing: its own answers plus the ones every route has. */
export const marketing = (
  operation: ZodOpenApiOperationObject,
  statuses: number[] = [],
  overrides: Record<number, string> = {},
): ZodOpenApiOperationObject => ({
  ...operation,
  responses: {
    ...operation.responses,
    ...errors(
      [...new Set([...MARKETING_ERRORS, ...statuses])].sort((a, b) => a - b),
      overrides,
    ),
  },
});

/** Links from an answer with a run id to the operations on that run (stateful tests follow them). */
const runLinks = {
  links: Object.fromEntries(
    ['getRun', 'cancelRun', 'pauseRun', 'resumeRun'].map((operationId) => [
      operationId,
      { operationId, parameters: { runId: '$response.body#/runId' } },
    ]),
  ),
};

const scheduleLinks = {
  links: Object.fromEntries(
    ['getSchedule', 'triggerSchedule', 'pauseSchedule', 'unpauseSchedule', 'deleteSchedule'].map(
      (operationId) => [
        operationId,
        { operationId, parameters: { id: '$response.body#/schedule/scheduleId' } },
      ],
    ),
  ),
};

const running = {
  '202': {
    description: 'Still running (or Prefer: respond-async); Location is the status URL',
    headers: z.object({ Location: z.string().meta({ description: 'The run status URL' }) }),
    ...json(runningAnswerSchema),
    ...runLinks,
  },
};

const runPath = { path: runIdParamsSchema };
const schedulePath = { path: scheduleIdParams };

const syncHeaders = z.object({
  'idempotency-key': z
    .string()
    .regex(/^[\x21-\x7e]{1,255}$/)
    .optional()
    .meta({ description: 'A repeat with the same key and body answers with the first run' }),
  prefer: z
    .string()
    .optional()
    .meta({ description: '`respond-async`: answer 202 at once instead of waiting' }),
});

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
        ...CONSOLE_SECURITY_SCHEME,
      },
    },
    security: [{ marketingSecret: [] }, { consoleSession: [] }],
    paths: {
      '/api/marketing/sync-users': {
        get: marketing({
          operationId: 'previewUsers',
          summary: 'Preview: how many users a sync would add now, and a sample',
          requestParams: { query: previewQuerySchema },
          responses: { '200': { description: 'Count and sample', ...json(previewAnswerSchema) } },
        }),
        post: marketing(
          {
            operationId: 'syncUsers',
            summary: 'Create a new audience and add the filtered users',
            requestParams: { header: syncHeaders },
            requestBody: { ...json(syncUsersBodySchema) },
            responses: {
              '200': {
                description: 'Finished within the wait window',
                ...json(syncUsersAnswerSchema),
                ...runLinks,
              },
              ...running,
            },
          },
          [409, 422],
          { 429: RUN_LIMITS },
        ),
      },
      '/api/marketing/sync-users/{runId}': {
        get: marketing(
          {
            operationId: 'getRun',
            summary: 'Status and progress of a run',
            requestParams: runPath,
            responses: { '200': { description: 'The run', ...json(runStatusSchema) } },
          },
          [404],
        ),
        delete: marketing(
          {
            operationId: 'cancelRun',
            summary: 'Cancel a run after the batch in flight',
            requestParams: runPath,
            responses: {
              '202': { description: 'Cancellation requested', ...json(cancelAnswerSchema) },
            },
          },
          [404, 409],
        ),
      },
      '/api/marketing/sync-users/{runId}/pause': {
        post: marketing(
          {
            operationId: 'pauseRun',
            summary: 'Pause a run after the batch in flight; it keeps its list',
            requestParams: runPath,
            responses: {
              '200': { description: 'The run took the pause', ...json(runControlAnswerSchema) },
              '202': {
                description:
                  'Its batch in flight is still running; the pause takes effect after it',
                ...json(runControlAnswerSchema),
              },
            },
          },
          [404, 409],
        ),
      },
      '/api/marketing/sync-users/{runId}/resume': {
        post: marketing(
          {
            operationId: 'resumeRun',
            summary: 'Resume a paused run from its checkpoint',
            requestParams: runPath,
            responses: {
              '200': { description: 'The run goes on', ...json(runControlAnswerSchema) },
              '202': {
                description: 'The run has not taken the resume yet; it goes on once it does',
                ...json(runControlAnswerSchema),
              },
            },
          },
          [404, 409],
        ),
      },
      '/api/marketing/sync': {
        post: marketing(
          {
            operationId: 'sync',
            summary: 'General sync: platform, list, sync type, tags',
            requestParams: { header: syncHeaders },
            requestBody: { required: true, ...json(syncBodySchema) },
            responses: {
              '200': {
                description: 'Finished within the wait window',
                ...json(syncAnswerSchema),
                ...runLinks,
              },
              ...running,
            },
          },
          [404, 409, 422],
          {
            400: `Invalid request; also ${PROPERTY_REFUSALS}`,
            404: 'list_id names no list',
            413: 'Body over 1 MiB',
            429: RUN_LIMITS,
          },
        ),
      },
      '/api/marketing/erasures': {
        post: marketing(
          {
            operationId: 'startErasure',
            summary:
              'Erase users: delete their contacts on the platform and every row naming them (a tombstone stays)',
            requestBody: { required: true, ...json(erasureBodySchema) },
            responses: {
              '202': {
                description: 'The erasure started; Location is its status URL',
                headers: z.object({
                  Location: z.string().meta({ description: 'The erasure status URL' }),
                }),
                ...json(erasureStartedSchema),
                links: {
                  getErasure: {
                    operationId: 'getErasure',
                    parameters: { erasureId: '$response.body#/erasureId' },
                  },
                },
              },
            },
          },
          [],
          {
            413: 'Body over 1 MiB',
            429: `${ERRORS[429]?.description}; or MAX_ACTIVE_ERASURES (default 5) erasures already run (too_many_erasures)`,
          },
        ),
      },
      '/api/marketing/erasures/{erasureId}': {
        get: marketing(
          {
            operationId: 'getErasure',
            summary: 'Status and counts of an erasure',
            requestParams: { path: erasureIdParamsSchema },
            responses: { '200': { description: 'The erasure', ...json(erasureStatusSchema) } },
          },
          [404],
        ),
      },
      '/api/marketing/schedules': {
        post: marketing(
          {
            operationId: 'createSchedule',
            summary: 'Create a recurring sync (a Temporal Schedule)',
            requestBody: { required: true, ...json(scheduleBodySchema) },
            responses: {
              '201': {
                description: 'The schedule',
                ...json(scheduleAnswerSchema),
                ...scheduleLinks,
              },
            },
          },
          [409],
          {
            400: `Invalid request; or a schedule that would run more often than every 5 minutes (schedule_too_frequent); or ${PROPERTY_REFUSALS}`,
            409: 'A schedule with this id exists (schedule_exists), or MAX_SCHEDULES (default 100) schedules exist (too_many_schedules)',
          },
        ),
        get: marketing({
          operationId: 'listSchedules',
          summary: 'List schedules',
          responses: { '200': { description: 'Schedules', ...json(scheduleListSchema) } },
        }),
      },
      '/api/marketing/schedules/{id}': {
        get: marketing(
          {
            operationId: 'getSchedule',
            summary: 'A schedule: spec, next run times, recent runs and their outcome',
            requestParams: schedulePath,
            responses: { '200': { description: 'The schedule', ...json(scheduleAnswerSchema) } },
          },
          [404],
        ),
        delete: marketing(
          {
            operationId: 'deleteSchedule',
            summary: 'Delete a schedule (runs already started go on)',
            requestParams: schedulePath,
            responses: { '200': { description: 'Deleted', ...json(scheduleDeletedSchema) } },
          },
          [404],
        ),
      },
      '/api/marketing/schedules/{id}/trigger': {
        post: marketing(
          {
            operationId: 'triggerSchedule',
            summary: 'Trigger a schedule: a run starts now unless one is running',
            requestParams: schedulePath,
            responses: { '202': { description: 'Triggered', ...json(scheduleTriggeredSchema) } },
          },
          [404],
        ),
      },
      ...Object.fromEntries(
        (['pause', 'unpause'] as const).map((action) => [
          `/api/marketing/schedules/{id}/${action}`,
          {
            post: marketing(
              {
                operationId: `${action}Schedule`,
                summary: `${action === 'pause' ? 'Pause' : 'Unpause'} a schedule`,
                requestParams: schedulePath,
                requestBody: { required: false, ...json(scheduleNoteSchema) },
                responses: {
                  '200': { description: 'The schedule', ...json(scheduleAnswerSchema) },
                },
              },
              [404],
            ),
          },
        ]),
      ),
      '/api/marketing/opt-outs': {
        get: marketing({
          operationId: 'listOptOuts',
          summary:
            'Opt-outs made on the platform (unsubscribed, deleted, suppressed) and erasures, oldest first, by cursor',
          requestParams: { query: optOutsQuerySchema },
          responses: { '200': { description: 'A page of the feed', ...json(optOutsAnswerSchema) } },
        }),
      },
      '/api/marketing/opt-outs/{userId}/lift': {
        post: marketing(
          {
            operationId: 'liftOptOuts',
            summary:
              "The app's word that the person consented again: the user's platform records (unsubscribed, deleted, suppressed) stop counting, so the next sync may create or re-add the contact; the feed says lifted",
            requestParams: { path: liftParamsSchema },
            responses: { '200': { description: 'Lifted', ...json(liftAnswerSchema) } },
          },
          [404],
          { 404: 'No user of the users relation has this id (user_not_found)' },
        ),
      },
      ...consolePaths(),
      '/webhooks/resend': {
        post: {
          operationId: 'resendWebhook',
          summary:
            "Resend's contact and suppression events, signed by Svix with RESEND_WEBHOOK_SECRET (no Bearer)",
          security: [],
          requestParams: {
            header: z.object({
              'svix-id': z
                .string()
                .meta({ description: 'The message id; a repeat is processed once' }),
              'svix-timestamp': z.string().meta({ description: 'Seconds since the epoch' }),
              'svix-signature': z.string().meta({ description: 'v1,<base64 HMAC-SHA256>' }),
            }),
          },
          requestBody: {
            required: true,
            content: {
              'application/json': { schema: z.record(z.string(), z.unknown()) },
            },
          },
          responses: {
            '200': { description: 'Recorded (or a repeat)', ...json(webhookAnswerSchema) },
            ...errors([400, 413, 415, 429, 500, 503], {
              400: 'A correctly signed body that is not a Resend event',
              413: 'Body over 64 KiB (a declared length is refused before the body is read)',
              415: 'A compressed body (any Content-Encoding): refused before it is read',
              429: 'Too many failed signatures or Bearer checks from this address (too_many_auth_failures)',
              503: 'RESEND_WEBHOOK_SECRET is not set, or Postgres cannot be reached',
            }),
            // The signature is not an HTTP authentication scheme, so no WWW-Authenticate.
            '401': {
              description:
                'Unsigned, wrongly signed, or more than 5 minutes off (headers and time are checked before the body is read); counts against the failed-auth limit',
              ...json(errorSchema),
            },
          },
        },
      },
      '/healthz': {
        get: {
          operationId: 'health',
          summary: 'Process alive',
          security: [],
          responses: { '200': { description: 'Alive', ...json(healthSchema) } },
        },
      },
      '/readyz': {
        get: {
          operationId: 'ready',
          summary:
            'Database and Temporal reachable, and the users relation has the columns a run reads',
          security: [],
          responses: {
            '200': { description: 'Ready', ...json(readySchema) },
            '503': { description: 'Not ready', headers: retryAfter, ...json(notReadySchema) },
          },
        },
      },
      '/metrics': {
        get: {
          operationId: 'metrics',
          summary: 'Prometheus metrics',
          security: [],
          responses: {
            '200': {
              description: 'Metrics in Prometheus text format',
              content: { 'text/plain': { schema: z.string() } },
            },
          },
        },
      },
      '/openapi.json': {
        get: {
          operationId: 'openApiDocument',
          summary: 'This document',
          security: [],
          responses: {
            '200': {
              description: 'OpenAPI 3.1',
              ...json(z.record(z.string(), z.unknown())),
            },
          },
        },
      },
    },
  });
}
