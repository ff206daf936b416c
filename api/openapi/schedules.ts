import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { scheduleBodySchema, scheduleIdParams } from '../routes/schedules.js';
import {
  scheduleAnswerSchema,
  scheduleDeletedSchema,
  scheduleListSchema,
  scheduleNoteSchema,
  scheduleTriggeredSchema,
} from '../schemas.js';
import { json, marketing, NOT_AVAILABLE, PLATFORM_REFUSALS, PROPERTY_REFUSALS } from './parts.js';

/** Schedules (routes/schedules.ts): recurring syncs as Temporal Schedules. */

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

const schedulePath = { path: scheduleIdParams };

/** The schedules and each schedule, then what can be done to one. */
export const schedulePaths = (): ZodOpenApiPathsObject => ({
  ...scheduleResourcePaths(),
  ...scheduleActionPaths(),
});

function scheduleResourcePaths(): ZodOpenApiPathsObject {
  return {
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
        [409, 501],
        {
          400: `Invalid request; or a schedule that would run more often than every 5 minutes (schedule_too_frequent); or ${PLATFORM_REFUSALS}; or ${PROPERTY_REFUSALS}`,
          ...NOT_AVAILABLE,
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
  };
}

function scheduleActionPaths(): ZodOpenApiPathsObject {
  return {
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
  };
}
