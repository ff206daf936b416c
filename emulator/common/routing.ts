import type { IncomingHttpHeaders } from 'node:http';
import { compilePathPattern, type PathPattern } from './route-pattern.js';

export interface RouteRequest {
  method: string;
  path: string;
  params: Record<string, string>;
  query: URLSearchParams;
  headers: IncomingHttpHeaders;
  rawBody: Buffer;
}

export interface RouteResponse {
  status: number;
  body: unknown;
}

/** One operation of an emulated API, handled against that emulator's `Context`. */
export interface RouteDefinition<Context> {
  method: string;
  pattern: PathPattern;
  handle(request: RouteRequest, context: Context): RouteResponse | Promise<RouteResponse>;
  /** What the request log records as the request's subject. */
  logKey?(request: RouteRequest): string | undefined;
}

export function defineRoute<Context>(
  method: string,
  path: string,
  handle: RouteDefinition<Context>['handle'],
  logKey?: RouteDefinition<Context>['logKey'],
): RouteDefinition<Context> {
  return { method, pattern: compilePathPattern(path), handle, ...(logKey ? { logKey } : {}) };
}

export type RouteMatch<Context> =
  | { kind: 'found'; route: RouteDefinition<Context>; params: Record<string, string> }
  | { kind: 'method_not_allowed' }
  | { kind: 'not_found' };

/** The first route for this method and path, in the order given (list literal paths first). */
export function matchRoute<Context>(
  routes: readonly RouteDefinition<Context>[],
  method: string,
  path: string,
): RouteMatch<Context> {
  let pathMatched = false;
  for (const route of routes) {
    const params = route.pattern.match(path);
    if (!params) continue;
    if (route.method === method) return { kind: 'found', route, params };
    pathMatched = true;
  }
  return pathMatched ? { kind: 'method_not_allowed' } : { kind: 'not_found' };
}

export const ok = (body: unknown): RouteResponse => ({ status: 200, body });

/**
 * The JSON object sent as the body (an empty body reads as `{}`); anything else throws what
 * `fail` makes of the problem, in the emulated API's own error shape.
 */
export function readJsonObjectBody(
  rawBody: Buffer,
  fail: (problem: 'not_json' | 'not_object') => Error,
): Record<string, unknown> {
  if (rawBody.length === 0) return {};
  let value: unknown;
  try {
    value = JSON.parse(rawBody.toString('utf8'));
  } catch {
    throw fail('not_json');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw fail('not_object');
  }
  return value as Record<string, unknown>;
}
