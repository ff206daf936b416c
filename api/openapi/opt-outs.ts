import type { ZodOpenApiPathsObject } from 'zod-openapi';
import {
  liftAnswerSchema,
  liftParamsSchema,
  optOutsAnswerSchema,
  optOutsQuerySchema,
} from '../schemas.js';
import { json, marketing } from './parts.js';

/** Opt-outs (routes/opt-outs.ts): the feed, and lifting a user's opt-outs. */
export const optOutPaths = (): ZodOpenApiPathsObject => ({
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
});
