import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import {
  erasureBodySchema,
  erasureIdParamsSchema,
  erasureStartedSchema,
  erasureStatusSchema,
} from '../schemas.js';
import { ERRORS, json, marketing } from './parts.js';

/** Erasures (routes/erasures.ts): start one, read how it went. */
export const erasurePaths = (): ZodOpenApiPathsObject => ({
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
});
