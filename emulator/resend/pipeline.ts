import type { IncomingMessage, ServerResponse } from 'node:http';
import { type ApiDialect, handleApiRequest } from '../common/pipeline.js';
import type { RouteRequest, RouteResponse } from '../common/routing.js';
import { admit } from './admission.js';
import type { EmulatorCore } from './core.js';
import { ApiError, MESSAGES, methodNotAllowed, notFound } from './errors.js';
import { rateLimitHeaders } from './rate-limit-headers.js';
import { matchRoute, type RouteMatch } from './routes/index.js';

async function dispatch(
  core: EmulatorCore,
  match: RouteMatch,
  request: RouteRequest,
): Promise<RouteResponse> {
  try {
    if (match.kind === 'not_found') throw notFound(MESSAGES.endpointNotFound);
    if (match.kind === 'method_not_allowed') throw methodNotAllowed();
    return await match.route.handle(request, core.context);
  } catch (error) {
    if (error instanceof ApiError) return { status: error.statusCode, body: error.toBody() };
    console.error(`Resend emulator: unexpected error on ${request.method} ${request.path}:`, error);
    return {
      status: 500,
      body: new ApiError(500, 'internal_server_error', MESSAGES.internal).toBody(),
    };
  }
}

function injectedServerError(status: 500 | 502 | 503): { body: string; contentType: string } {
  if (status === 502) {
    // A failing proxy answers HTML, which the SDK reports as `application_error`.
    return { body: '<html><body><h1>502 Bad Gateway</h1></body></html>', contentType: 'text/html' };
  }
  const error =
    status === 503
      ? new ApiError(503, 'service_unavailable', MESSAGES.unavailable)
      : new ApiError(500, 'internal_server_error', MESSAGES.internal);
  return { body: JSON.stringify(error.toBody()), contentType: 'application/json; charset=utf-8' };
}

/** How the Resend API admits, limits, fails and answers. */
export function resendDialect(core: EmulatorCore): ApiDialect {
  return {
    maxBodyBytes: () => core.settings.importMaxBytes + 1024 * 1024,
    tooLarge: () => ({
      status: 413,
      body: new ApiError(413, 'validation_error', 'The request body is too large.').toBody(),
    }),
    admit: (request, method, path, nowMs) => admit(core, request, method, path, nowMs),
    limitHeaders: rateLimitHeaders,
    injectedServerError,
    resolve(method, path) {
      const match = matchRoute(method, path);
      return {
        params: match.kind === 'found' ? match.params : {},
        logKey: match.kind === 'found' ? match.route.logKey : undefined,
        answer: (request) => dispatch(core, match, request),
      };
    },
  };
}

/** Handles one request to a Resend path: admission, faults, the handler, the answer and the log. */
export function handleResendRequest(
  core: EmulatorCore,
  incoming: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  return handleApiRequest(core, core.dialect, incoming, response);
}
