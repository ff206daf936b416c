import {
  type RouteMatch as GenericRouteMatch,
  matchRoute as matchGenericRoute,
} from '../../common/routing.js';
import { audienceRoutes } from './audiences.js';
import { contactRoutes } from './contacts.js';
import { definitionRoutes } from './definitions.js';
import { importRoutes } from './imports.js';
import { membershipRoutes } from './memberships.js';
import { segmentRoutes } from './segments.js';
import { suppressionRoutes } from './suppressions.js';
import type { RouteContext, RouteDefinition } from './types.js';
import { webhookRoutes } from './webhooks.js';

/** Literal paths first: `/contacts/imports` must win over `/contacts/:contact`. */
const ROUTES: readonly RouteDefinition[] = [
  ...importRoutes,
  ...contactRoutes,
  ...membershipRoutes,
  ...segmentRoutes,
  ...audienceRoutes,
  ...definitionRoutes,
  ...suppressionRoutes,
  ...webhookRoutes,
];

export type RouteMatch = GenericRouteMatch<RouteContext>;

export function matchRoute(method: string, path: string): RouteMatch {
  return matchGenericRoute(ROUTES, method, path);
}
