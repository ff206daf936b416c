import type { IncomingMessage, ServerResponse } from 'node:http';
import type { z } from 'zod';
import { AdminError } from './admin-error.js';
import { describeIssues, faultUpdateSchema } from './fault-config-schema.js';
import { BodyTooLargeError, readBody, sendJson } from './http.js';
import type { RequestLog } from './request-log.js';
import type { EmulatorRuntime } from './runtime.js';

/** Every emulator's admin API lives under this prefix: no auth, no rate limit, no faults. */
export const ADMIN_PREFIX = '/_emulator';
const ADMIN_BODY_LIMIT = 512 * 1024 * 1024;

export function isAdminPath(path: string): boolean {
  return (
    path === ADMIN_PREFIX ||
    path.startsWith(`${ADMIN_PREFIX}/`) ||
    path.startsWith(`${ADMIN_PREFIX}?`)
  );
}

/** Answers one admin request; `path` is the full path, prefix included. */
export type AdminRoute = (
  method: string,
  path: string,
  query: URLSearchParams,
  body: () => Promise<Buffer>,
) => Promise<unknown>;

/** A JSON admin body checked against `schema`; an empty body reads as `{}`. */
export function parseAdminBody<T>(schema: z.ZodType<T>, body: Buffer): T {
  let value: unknown;
  try {
    value = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
  } catch {
    throw new AdminError(400, 'The body must be JSON.');
  }
  const result = schema.safeParse(value);
  if (!result.success) throw new AdminError(400, describeIssues(result.error));
  return result.data;
}

/** A whole-number query parameter, capped at `max`. */
export function intParam(
  query: URLSearchParams,
  name: string,
  fallback: number,
  max: number,
): number {
  const raw = query.get(name);
  if (raw === null) return fallback;
  if (!/^\d+$/.test(raw)) throw new AdminError(400, `${name} must be a whole number.`);
  return Math.min(Number(raw), max);
}

export function requestsView(log: RequestLog, query: URLSearchParams) {
  const method = query.get('method');
  const pathPrefix = query.get('path_prefix');
  const data = log.query({
    ...(query.has('since_seq')
      ? { sinceSeq: intParam(query, 'since_seq', 0, Number.MAX_SAFE_INTEGER) }
      : {}),
    ...(method === null ? {} : { method }),
    ...(pathPrefix === null ? {} : { pathPrefix }),
    limit: intParam(query, 'limit', 100_000, 100_000),
  });
  return { data };
}

/** Handles one request under {@link ADMIN_PREFIX}: JSON in, `{ error }` with a status out. */
export async function handleAdminRequest(
  label: string,
  route: AdminRoute,
  incoming: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(incoming.url ?? '/', 'http://emulator.invalid');
  try {
    const result = await route(
      (incoming.method ?? 'GET').toUpperCase(),
      url.pathname,
      url.searchParams,
      () => readBody(incoming, ADMIN_BODY_LIMIT),
    );
    sendJson(response, 200, result);
  } catch (error) {
    if (error instanceof AdminError) sendJson(response, error.status, { error: error.message });
    else if (error instanceof BodyTooLargeError)
      sendJson(response, 413, { error: 'The body is too large.' }, { connection: 'close' });
    else {
      console.error(`${label}: admin error on ${incoming.method} ${url.pathname}:`, error);
      sendJson(response, 500, { error: 'Unexpected error.' });
    }
  }
}

/**
 * The admin operations every emulator has on its runtime: `GET /requests`, `GET|PUT /faults`
 * and `GET|PUT /config` (the rate limit and the emulator's switches). Undefined for any other.
 */
export async function runtimeAdminRoute<Settings extends object>(
  runtime: EmulatorRuntime,
  settings: Settings,
  configSchema: z.ZodType<{ rateLimit?: number | undefined } & Partial<Settings>>,
  operation: string,
  query: URLSearchParams,
  body: () => Promise<Buffer>,
): Promise<unknown> {
  const config = () => ({ rateLimit: runtime.rateLimiter.requestsPerSecond, ...settings });
  switch (operation) {
    case 'GET /requests':
      return requestsView(runtime.log, query);
    case 'GET /faults':
      return runtime.faults.describe();
    case 'PUT /faults': {
      const { seed, ...faults } = parseAdminBody(faultUpdateSchema, await body());
      runtime.setFaults(faults, seed);
      return runtime.faults.describe();
    }
    case 'GET /config':
      return config();
    case 'PUT /config': {
      const { rateLimit, ...changes } = parseAdminBody(configSchema, await body());
      if (rateLimit !== undefined) runtime.rateLimiter.setLimit(rateLimit);
      Object.assign(settings, changes);
      return config();
    }
    default:
      return undefined;
  }
}

/**
 * Answers `method path` with the first of `routes` that knows the operation (`GET /stats`, the
 * path without {@link ADMIN_PREFIX}); a route answers undefined for operations it does not have.
 */
export async function firstAdminAnswer(
  method: string,
  path: string,
  routes: readonly ((operation: string) => Promise<unknown>)[],
): Promise<unknown> {
  const operation = `${method} ${path.slice(ADMIN_PREFIX.length)}`;
  for (const answer of routes) {
    const found = await answer(operation);
    if (found !== undefined) return found;
  }
  throw new AdminError(404, `No admin endpoint ${method} ${path}.`);
}
