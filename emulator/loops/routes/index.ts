import { ok } from '../../common/routing.js';
import { mailingListBody } from '../serialize.js';
import { contactRoutes } from './contacts.js';
import { defineRoute, type LoopsRoute } from './context.js';
import { propertyRoutes } from './properties.js';
import { suppressionRoutes } from './suppression.js';

const accountRoutes = [
  defineRoute('GET', '/v1/api-key', (_request, context) =>
    ok({ success: true, teamName: context.teamName }),
  ),
  defineRoute('GET', '/v1/lists', (_request, context) =>
    ok(context.store.lists.map(mailingListBody)),
  ),
];

/** The operations a sync needs, with the paths of Loops' OpenAPI (under `/api` too). */
export const LOOPS_ROUTES: readonly LoopsRoute[] = [
  ...accountRoutes,
  ...contactRoutes,
  ...suppressionRoutes,
  ...propertyRoutes,
];
