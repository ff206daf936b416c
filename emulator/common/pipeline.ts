import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FaultInjector, FaultPlan } from './faults.js';
import { BodyTooLargeError, readBody, send, sendJson } from './http.js';
import type { RateLimitWindow } from './rate-limiter.js';
import type { RequestLog, RequestLogEntry, RequestOutcome } from './request-log.js';
import type { RouteRequest, RouteResponse } from './routing.js';
import type { TimerRegistry } from './timers.js';

/** A request turned away before it reaches a handler. */
export interface Rejection {
  status: number;
  body: string;
  headers: Record<string, string>;
  outcome: RequestOutcome;
}

export type Admission =
  | { admitted: true; team: string; window: RateLimitWindow }
  | { admitted: false; team: string | undefined; rejection: Rejection };

/** What the request path resolved to: its parameters, its log key and how to answer it. */
export interface ResolvedRoute {
  params: Record<string, string>;
  logKey?: ((request: RouteRequest) => string | undefined) | undefined;
  /** The handler's answer, errors already turned into the API's error bodies. */
  answer(request: RouteRequest): Promise<RouteResponse>;
}

/** What one emulated API does its own way; everything else the pipeline does the same for all. */
export interface ApiDialect {
  maxBodyBytes(): number;
  /** The answer to a body over {@link maxBodyBytes} (sent with `connection: close`). */
  tooLarge(): RouteResponse;
  /** The path routes and faults see, e.g. without a mount prefix. */
  normalizePath?(path: string): string;
  /** Decided synchronously on arrival, so concurrent requests are counted in arrival order. */
  admit(request: IncomingMessage, method: string, path: string, nowMs: number): Admission;
  limitHeaders(window: RateLimitWindow): Record<string, string>;
  injectedServerError(status: 500 | 502 | 503): { body: string; contentType: string };
  resolve(method: string, path: string): ResolvedRoute;
}

/** The parts of an emulator the pipeline uses. */
export interface PipelineHost {
  log: RequestLog;
  faults: FaultInjector;
  timers: TimerRegistry;
  /** Answers deliberately left unanswered, closed when the emulator closes. */
  hanging: Set<ServerResponse>;
}

function outcomeOf(status: number): RequestOutcome {
  if (status >= 500) return 'server_error';
  return status >= 400 ? 'client_error' : 'ok';
}

/** One request in flight, and how to record it once answered. */
interface Exchange {
  host: PipelineHost;
  dialect: ApiDialect;
  response: ServerResponse;
  request: RouteRequest;
  route: ResolvedRoute;
  entry: RequestLogEntry;
  arrivedAt: number;
}

function finish(exchange: Exchange, status: number, outcome: RequestOutcome): void {
  const { entry } = exchange;
  entry.status = status;
  entry.outcome = outcome;
  entry.durationMs = Date.now() - exchange.arrivedAt;
  exchange.host.log.record(entry);
}

/** Handles one API request: admission, faults, the handler, the answer and the log. */
export async function handleApiRequest(
  host: PipelineHost,
  dialect: ApiDialect,
  incoming: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const arrivedAt = Date.now();
  const seq = host.log.reserveSeq();
  const method = (incoming.method ?? 'GET').toUpperCase();
  const url = new URL(incoming.url ?? '/', 'http://emulator.invalid');
  const path = dialect.normalizePath ? dialect.normalizePath(url.pathname) : url.pathname;
  const admission = dialect.admit(incoming, method, path, arrivedAt);
  const at = new Date(arrivedAt).toISOString();
  const entry: RequestLogEntry = { seq, at, method, path, status: 0, outcome: 'ok', durationMs: 0 };

  let rawBody: Buffer;
  try {
    rawBody = await readBody(incoming, dialect.maxBodyBytes());
  } catch (error) {
    if (!(error instanceof BodyTooLargeError)) return;
    const tooLarge = dialect.tooLarge();
    sendJson(response, tooLarge.status, tooLarge.body, { connection: 'close' });
    entry.status = tooLarge.status;
    entry.outcome = 'client_error';
    host.log.record(entry);
    return;
  }
  const route = dialect.resolve(method, path);
  const request: RouteRequest = {
    method,
    path,
    params: route.params,
    query: url.searchParams,
    headers: incoming.headers,
    rawBody,
  };
  const key = route.logKey?.(request);
  if (key !== undefined) entry.key = key;
  if (admission.team !== undefined) entry.team = admission.team;
  const exchange: Exchange = { host, dialect, response, request, route, entry, arrivedAt };

  if (!admission.admitted) {
    const { status, body, headers, outcome } = admission.rejection;
    send(response, status, body, headers);
    finish(exchange, status, outcome);
    return;
  }
  await answerAdmitted(exchange, admission.window, host.faults.plan(method, path));
}

async function answerAdmitted(
  exchange: Exchange,
  window: RateLimitWindow,
  plan: FaultPlan,
): Promise<void> {
  const { host, dialect, response, entry } = exchange;
  const headers = dialect.limitHeaders(window);
  if (plan.hang) {
    host.hanging.add(response);
    finish(exchange, 0, 'hang');
    response.on('close', () => {
      host.hanging.delete(response);
      entry.durationMs = Date.now() - exchange.arrivedAt;
    });
    return;
  }
  if (plan.latencyMs > 0) {
    entry.faultLatencyMs = plan.latencyMs;
    await host.timers.delay(plan.latencyMs);
  }
  if (plan.serverErrorStatus !== undefined) {
    const { body, contentType } = dialect.injectedServerError(plan.serverErrorStatus);
    send(response, plan.serverErrorStatus, body, { ...headers, 'content-type': contentType });
    finish(exchange, plan.serverErrorStatus, 'server_error');
    return;
  }
  const answer = await exchange.route.answer(exchange.request);
  if (plan.acceptThenFail && answer.status < 300) {
    send(response, 500, dialect.injectedServerError(500).body, headers);
    finish(exchange, 500, 'accept_then_fail');
    return;
  }
  sendJson(response, answer.status, answer.body, headers);
  finish(exchange, answer.status, outcomeOf(answer.status));
}
