import type { IncomingMessage, ServerResponse } from 'node:http';
import { admit } from './admission.js';
import type { EmulatorCore } from './core.js';
import { ApiError, MESSAGES, methodNotAllowed, notFound } from './errors.js';
import type { FaultPlan } from './faults.js';
import { BodyTooLargeError, readBody, send, sendJson } from './http.js';
import { type RateLimitWindow, rateLimitHeaders } from './rate-limiter.js';
import type { RequestLogEntry, RequestOutcome } from './request-log.js';
import { matchRoute, type RouteMatch } from './routes/index.js';
import type { RouteRequest, RouteResponse } from './routes/types.js';

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

function outcomeOf(status: number): RequestOutcome {
  if (status >= 500) return 'server_error';
  return status >= 400 ? 'client_error' : 'ok';
}

/** One request in flight, and how to record it once answered. */
interface Exchange {
  core: EmulatorCore;
  response: ServerResponse;
  request: RouteRequest;
  match: RouteMatch;
  entry: RequestLogEntry;
  arrivedAt: number;
}

function finish(exchange: Exchange, status: number, outcome: RequestOutcome): void {
  const { entry } = exchange;
  entry.status = status;
  entry.outcome = outcome;
  entry.durationMs = Date.now() - exchange.arrivedAt;
  exchange.core.log.record(entry);
}

/** Handles one request to a Resend path: admission, faults, the handler, the answer and the log. */
export async function handleResendRequest(
  core: EmulatorCore,
  incoming: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const arrivedAt = Date.now();
  const seq = core.log.reserveSeq();
  const method = (incoming.method ?? 'GET').toUpperCase();
  const url = new URL(incoming.url ?? '/', 'http://emulator.invalid');
  const path = url.pathname;
  const admission = admit(core, incoming, method, path, arrivedAt);
  const at = new Date(arrivedAt).toISOString();
  const entry: RequestLogEntry = { seq, at, method, path, status: 0, outcome: 'ok', durationMs: 0 };

  let rawBody: Buffer;
  try {
    rawBody = await readBody(incoming, core.settings.importMaxBytes + 1024 * 1024);
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) return;
    const tooLarge = new ApiError(413, 'validation_error', 'The request body is too large.');
    sendJson(response, 413, tooLarge.toBody(), { connection: 'close' });
    entry.status = 413;
    entry.outcome = 'client_error';
    core.log.record(entry);
    return;
  }
  const match = matchRoute(method, path);
  const params = match.kind === 'found' ? match.params : {};
  const request: RouteRequest = {
    method,
    path,
    params,
    query: url.searchParams,
    headers: incoming.headers,
    rawBody,
  };
  const key = match.kind === 'found' ? match.route.logKey?.(request) : undefined;
  if (key !== undefined) entry.key = key;
  if (admission.team !== undefined) entry.team = admission.team;
  const exchange: Exchange = { core, response, request, match, entry, arrivedAt };

  if (!admission.admitted) {
    const { status, body, headers, outcome } = admission.rejection;
    send(response, status, body, headers);
    finish(exchange, status, outcome);
    return;
  }
  await answerAdmitted(exchange, admission.window, core.faults.plan(method, path));
}

async function answerAdmitted(
  exchange: Exchange,
  window: RateLimitWindow,
  plan: FaultPlan,
): Promise<void> {
  const { core, response, entry } = exchange;
  const headers = rateLimitHeaders(window);
  if (plan.hang) {
    core.hanging.add(response);
    finish(exchange, 0, 'hang');
    response.on('close', () => {
      core.hanging.delete(response);
      entry.durationMs = Date.now() - exchange.arrivedAt;
    });
    return;
  }
  if (plan.latencyMs > 0) {
    entry.faultLatencyMs = plan.latencyMs;
    await core.timers.delay(plan.latencyMs);
  }
  if (plan.serverErrorStatus !== undefined) {
    const { body, contentType } = injectedServerError(plan.serverErrorStatus);
    send(response, plan.serverErrorStatus, body, { ...headers, 'content-type': contentType });
    finish(exchange, plan.serverErrorStatus, 'server_error');
    return;
  }
  const answer = await dispatch(core, exchange.match, exchange.request);
  if (plan.acceptThenFail && answer.status < 300) {
    send(response, 500, injectedServerError(500).body, headers);
    finish(exchange, 500, 'accept_then_fail');
    return;
  }
  sendJson(response, answer.status, answer.body, headers);
  finish(exchange, answer.status, outcomeOf(answer.status));
}
