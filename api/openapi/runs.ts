import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import {
  cancelAnswerSchema,
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
} from '../schemas.js';
import { json, marketing, NOT_AVAILABLE, PLATFORM_REFUSALS, PROPERTY_REFUSALS } from './parts.js';

/** The routes that start runs and act on them (routes/sync-users.ts, routes/sync.ts). */

/** The limits a run start meets, in the 429 of the routes that start runs. */
const RUN_LIMITS =
  'Too many failed Bearer checks from this address (too_many_auth_failures); or MAX_CONCURRENT_RUNS (default 10) runs that write are running or paused (too_many_runs); or, for a dry run, MAX_CONCURRENT_DRY_RUNS (default 5) dry runs are running (too_many_dry_runs)';

/** Links from an answer with a run id to the operations on that run (stateful tests follow them). */
const runLinks = {
  links: Object.fromEntries(
    ['getRun', 'cancelRun', 'pauseRun', 'resumeRun'].map((operationId) => [
      operationId,
      { operationId, parameters: { runId: '$response.body#/runId' } },
    ]),
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

/** Runs in the document's order: a sync into a new audience, a run, its controls, the general sync. */
export const runPaths = (): ZodOpenApiPathsObject => ({
  ...syncUsersPaths(),
  ...runControlPaths(),
  ...syncPaths(),
});

function syncUsersPaths(): ZodOpenApiPathsObject {
  return {
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
        {
          400: `Invalid request; or Resend, whose audiences this route creates, is not configured here (platform_not_configured)`,
          429: RUN_LIMITS,
        },
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
  };
}

function runControlPaths(): ZodOpenApiPathsObject {
  return {
    '/api/marketing/sync-users/{runId}/pause': {
      post: marketing(
        {
          operationId: 'pauseRun',
          summary: 'Pause a run after the batch in flight; it keeps its list',
          requestParams: runPath,
          responses: {
            '200': { description: 'The run took the pause', ...json(runControlAnswerSchema) },
            '202': {
              description: 'Its batch in flight is still running; the pause takes effect after it',
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
  };
}

function syncPaths(): ZodOpenApiPathsObject {
  return {
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
        [404, 409, 422, 501],
        {
          400: `Invalid request; also ${PLATFORM_REFUSALS}; or ${PROPERTY_REFUSALS}`,
          404: 'list_id names no list',
          413: 'Body over 1 MiB',
          429: RUN_LIMITS,
          ...NOT_AVAILABLE,
        },
      ),
    },
  };
}
