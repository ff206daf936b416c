import { audienceRoutes } from './audiences.js';
import { contactRoutes } from './contacts.js';
import { definitionRoutes } from './definitions.js';
import { importRoutes } from './imports.js';
import { membershipRoutes } from './memberships.js';
import { segmentRoutes } from './segments.js';
import { suppressionRoutes } from './suppressions.js';
import type { RouteDefinition } from './types.js';

/** Literal paths first: `/contacts/imports` must win over `/contacts/:contact`. */
const ROUTES: readonly RouteDefinition[] = [
  ...importRoutes,
  ...contactRoutes,
  ...membershipRoutes,
  ...segmentRoutes,
  ...audienceRoutes,
  ...definitionRoutes,
  ...suppressionRoutes,
];

export type RouteMatch =
  | { kind: 'found'; route: RouteDefinition; params: Record<string, string> }
  | { kind: 'method_not_allowed' }
  | { kind: 'not_found' };

export function matchRoute(method: string, path: string): RouteMatch {
  let pathMatched = false;
  for (const route of ROUTES) {
    const params = route.pattern.match(path);
    if (!params) continue;
    if (route.method === method) return { kind: 'found', route, params };
    pathMatched = true;
  }
  return pathMatched ? { kind: 'method_not_allowed' } : { kind: 'not_found' };
}
