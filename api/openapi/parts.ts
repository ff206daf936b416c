import { z } from 'zod';
import type {
  ZodOpenApiOperationObject,
  ZodOpenApiResponseObject,
  ZodOpenApiResponsesObject,
} from 'zod-openapi';
import { errorSchema } from '../schemas.js';

/** The pieces every part of the API's document uses: bodies, error answers, Retry-After. */

export const json = (schema: z.ZodType) => ({ content: { 'application/json': { schema } } });

export const retryAfter = z.object({
  'Retry-After': z.string().meta({ description: 'Seconds to wait before trying again' }),
});

export const ERRORS: Record<number, ZodOpenApiResponseObject> = {
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
  501: { description: 'Not available in this version' },
  503: {
    description:
      'Postgres or Temporal cannot be reached (database_unavailable, temporal_unavailable), or the users relation lacks columns a run reads (users_source_invalid, naming them)',
    headers: retryAfter,
  },
};

/** What `properties` may not name. */
export const PROPERTY_REFUSALS =
  'properties names a column PROPERTY_COLUMNS does not list (column_not_allowed), or one the users relation lacks (unknown_column)';

/** What the platform a sync names may refuse (api/platform-rules.ts). */
export const PLATFORM_REFUSALS =
  'a platform this service does not know (unsupported_platform), a request the platform cannot serve (list_required: a platform that cannot create lists needs list_id; unsupported_option: tags on a platform without tag lists), or a platform this deployment has no credentials for (platform_not_configured)';

/** A platform declared and configured whose sync client this version does not have yet. */
export const NOT_AVAILABLE = {
  501: 'The platform is declared and configured, but this version cannot sync with it yet (platform_not_available)',
};

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
