import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import {
  healthAnswerSchema,
  runsAnswerSchema,
  runsQuerySchema,
  runUsersAnswerSchema,
  runUsersQuerySchema,
  sessionAnswerSchema,
  sessionBodySchema,
  signedOutSchema,
} from './console-schemas.js';
import { errors, json, marketing } from './openapi/parts.js';
import { errorSchema, runIdParamsSchema } from './schemas.js';
import { CSRF_HEADER, SESSION_COOKIE } from './session-cookie.js';

/** The console's session, as an alternative to the Bearer secret on every /api/marketing route. */
export const CONSOLE_SECURITY_SCHEME = {
  consoleSession: {
    type: 'apiKey' as const,
    in: 'cookie' as const,
    name: SESSION_COOKIE,
    description: `The console's session cookie from POST /console/session. With it, every request other than GET needs the session's CSRF token in ${CSRF_HEADER} (else 403 csrf_token_invalid).`,
  },
};

const CSV_DESCRIPTION =
  'With Accept: text/csv or format=csv, every user matching the filters (not one page), as a CSV download with a header line: user_id,outcome,reason';

/** Paths of the routes the console reads (machines use them too) and of its sign-in. */
export const consolePaths = (): ZodOpenApiPathsObject => ({ ...readPaths(), ...sessionPaths() });

function readPaths(): ZodOpenApiPathsObject {
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
    '/api/marketing/health': {
      get: marketing({
        operationId: 'serviceHealth',
        summary:
          'Postgres, Temporal and each platform: reachable, key accepted, rate limit learned, webhooks and their last delivery',
        responses: { '200': { description: 'What each part says', ...json(healthAnswerSchema) } },
      }),
    },
  };
}

function sessionPaths(): ZodOpenApiPathsObject {
  return {
    '/console/session': {
      post: {
        operationId: 'signIn',
        summary:
          'Console sign-in: exchanges the marketing secret for an HttpOnly session cookie (12 hours) and a CSRF token',
        security: [],
        requestBody: { required: true, ...json(sessionBodySchema) },
        responses: {
          '200': {
            description: `Signed in; Set-Cookie carries ${SESSION_COOKIE}`,
            headers: z.object({ 'Set-Cookie': z.string() }),
            ...json(sessionAnswerSchema),
          },
          ...errors([400, 413, 415, 429, 500], {
            429: 'Too many failed sign-ins or Bearer checks from this address',
          }),
          // A form's answer, not an HTTP authentication scheme: no WWW-Authenticate.
          '401': {
            description: 'The secret is wrong (counted with the failed Bearer checks)',
            ...json(errorSchema),
          },
        },
      },
      get: {
        operationId: 'getSession',
        summary: "The session's CSRF token again (after a page reload)",
        security: [{ consoleSession: [] }],
        responses: {
          '200': { description: 'The session', ...json(sessionAnswerSchema) },
          ...errors([401, 500, 503], { 401: 'No session, or it ended' }),
        },
      },
      delete: {
        operationId: 'signOut',
        summary: 'Sign out: the cookie is cleared and the session stops working',
        security: [{ consoleSession: [] }, {}],
        requestParams: {
          header: z.object({
            [CSRF_HEADER.toLowerCase()]: z
              .string()
              .optional()
              .meta({ description: "The session's CSRF token (needed while the session works)" }),
          }),
        },
        responses: {
          '200': { description: 'Signed out', ...json(signedOutSchema) },
          ...errors([403, 500, 503], {
            403: 'The session works but the CSRF token is missing or wrong',
          }),
        },
      },
    },
  };
}
