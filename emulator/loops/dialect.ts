import type { IncomingMessage } from 'node:http';
import type { Admission, ApiDialect } from '../common/pipeline.js';
import type { RateLimitWindow } from '../common/rate-limiter.js';
import {
  matchRoute,
  type RouteMatch,
  type RouteRequest,
  type RouteResponse,
} from '../common/routing.js';
import type { LoopsCore } from './core.js';
import { LoopsError, MESSAGES } from './errors.js';
import type { LoopsContext } from './routes/context.js';
import { LOOPS_ROUTES } from './routes/index.js';

export const DEFAULT_TEAM = 'default';
const MAX_BODY_BYTES = 1024 * 1024;

/** Loops' headers: `x-ratelimit-limit` and `x-ratelimit-remaining`, nothing else. */
export function loopsLimitHeaders(window: RateLimitWindow): Record<string, string> {
  return {
    'x-ratelimit-limit': String(window.limit),
    'x-ratelimit-remaining': String(window.remaining),
  };
}

const json = (error: LoopsError) => JSON.stringify(error.toBody());
const unauthorizedBody = JSON.stringify({
  success: false,
  message: MESSAGES.invalidApiKey,
  error: MESSAGES.invalidApiKey,
});

/** The key's team, or undefined for a missing or refused key. */
function authenticate(core: LoopsCore, authorization: string | undefined): string | undefined {
  const key = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
  if (!key || (core.apiKeys && !core.apiKeys.has(key))) return undefined;
  return core.apiKeyTeams[key] ?? DEFAULT_TEAM;
}

/** Authentication, then a 429 storm, then the team's limit; a 429 never says `Retry-After`. */
function admit(
  core: LoopsCore,
  request: IncomingMessage,
  method: string,
  path: string,
  nowMs: number,
): Admission {
  const team = authenticate(core, request.headers.authorization);
  if (team === undefined) {
    const headers = loopsLimitHeaders(core.rateLimiter.peek(DEFAULT_TEAM, nowMs));
    const rejection = {
      status: 401,
      body: unauthorizedBody,
      headers,
      outcome: 'unauthorized' as const,
    };
    return { admitted: false, team: undefined, rejection };
  }
  const rateLimited = (
    window: RateLimitWindow,
    outcome: 'rate_limited' | 'storm_rate_limited',
  ) => ({
    admitted: false as const,
    team,
    rejection: {
      status: 429,
      body: json(new LoopsError(429, MESSAGES.rateLimited)),
      headers: loopsLimitHeaders({ ...window, remaining: 0 }),
      outcome,
    },
  });
  if (core.faults.storm(method, path, nowMs)) {
    return rateLimited(core.rateLimiter.peek(team, nowMs), 'storm_rate_limited');
  }
  const window = core.rateLimiter.take(team, nowMs);
  if (!window.allowed) return rateLimited(window, 'rate_limited');
  return { admitted: true, team, window };
}

async function dispatch(
  context: LoopsContext,
  match: RouteMatch<LoopsContext>,
  request: RouteRequest,
): Promise<RouteResponse> {
  try {
    if (match.kind === 'not_found') throw new LoopsError(404, MESSAGES.notFound);
    if (match.kind === 'method_not_allowed') throw new LoopsError(405, MESSAGES.methodNotAllowed);
    return await match.route.handle(request, context);
  } catch (error) {
    if (error instanceof LoopsError) return { status: error.status, body: error.toBody() };
    console.error(`Loops emulator: unexpected error on ${request.method} ${request.path}:`, error);
    return { status: 500, body: new LoopsError(500, MESSAGES.internal).toBody() };
  }
}

function injectedServerError(status: 500 | 502 | 503): { body: string; contentType: string } {
  if (status === 502) {
    return { body: '<html><body><h1>502 Bad Gateway</h1></body></html>', contentType: 'text/html' };
  }
  const message = status === 503 ? MESSAGES.unavailable : MESSAGES.internal;
  return {
    body: json(new LoopsError(status, message)),
    contentType: 'application/json; charset=utf-8',
  };
}

/** How the Loops API admits, limits, fails and answers. */
export function loopsDialect(core: LoopsCore): ApiDialect {
  return {
    maxBodyBytes: () => MAX_BODY_BYTES,
    tooLarge: () => ({ status: 413, body: new LoopsError(413, MESSAGES.tooLarge).toBody() }),
    // The API lives under /api (https://app.loops.so/api/v1/…); bare /v1/… is served too.
    normalizePath: (path) => (path.startsWith('/api/') ? path.slice(4) : path),
    admit: (request, method, path, nowMs) => admit(core, request, method, path, nowMs),
    limitHeaders: loopsLimitHeaders,
    injectedServerError,
    resolve(method, path) {
      const match = matchRoute(LOOPS_ROUTES, method, path);
      return {
        params: match.kind === 'found' ? match.params : {},
        logKey: match.kind === 'found' ? match.route.logKey : undefined,
        answer: (request) => dispatch(core.context, match, request),
      };
    },
  };
}
