import { ok, type RouteRequest } from '../../common/routing.js';
import { badRequest, MESSAGES } from '../errors.js';
import type { CustomPropertyRecord, PropertyType } from '../store/records.js';
import { readJsonObject } from './contact-fields.js';
import type { LoopsContext } from './context.js';
import { defineRoute } from './context.js';

/** The default properties every team has, as `GET /v1/contacts/properties?list=all` lists them. */
export const DEFAULT_PROPERTIES: readonly CustomPropertyRecord[] = [
  { key: 'email', label: 'Email', type: 'string' },
  { key: 'firstName', label: 'First name', type: 'string' },
  { key: 'lastName', label: 'Last name', type: 'string' },
  { key: 'notes', label: 'Notes', type: 'string' },
  { key: 'source', label: 'Source', type: 'string' },
  { key: 'subscribed', label: 'Subscribed', type: 'boolean' },
  { key: 'userGroup', label: 'User group', type: 'string' },
  { key: 'userId', label: 'User ID', type: 'string' },
];

/** Names no custom property may take: the default ones and fields of the contact record. */
const RESERVED = new Set([
  ...DEFAULT_PROPERTIES.map((property) => property.key),
  'id',
  'mailingLists',
  'optInStatus',
  'createdAt',
  'updatedAt',
  'teamId',
]);
const TYPES: readonly PropertyType[] = ['string', 'number', 'boolean', 'date'];
const CAMEL_CASE = /^[a-z][A-Za-z0-9]*$/;

/** `favoriteColor` → `Favorite color`, as Loops labels the properties it lists. */
function labelOf(name: string): string {
  const words = name.replace(/([A-Z])/g, ' $1').toLowerCase();
  return words.charAt(0).toUpperCase() + words.slice(1);
}

function createProperty(request: RouteRequest, context: LoopsContext) {
  const { name, type } = readJsonObject(request);
  if (typeof name !== 'string' || typeof type !== 'string') {
    throw badRequest('`name` and `type` are required strings.');
  }
  if (!TYPES.includes(type as PropertyType)) {
    throw badRequest('Invalid property type. Use string, number, boolean or date.');
  }
  if (!CAMEL_CASE.test(name) || name.length > 100) {
    throw badRequest('Property names must be camelCase: letters and digits, starting lowercase.');
  }
  if (RESERVED.has(name)) throw badRequest(`\`${name}\` is a reserved property name.`);
  if (context.store.properties.has(name)) throw badRequest(MESSAGES.propertyExists);
  context.store.properties.set(name, {
    key: name,
    label: labelOf(name),
    type: type as PropertyType,
  });
  return ok({ success: true });
}

export const propertyRoutes = [
  defineRoute('POST', '/v1/contacts/properties', createProperty, (request) => {
    try {
      const { name } = JSON.parse(request.rawBody.toString('utf8')) as { name?: unknown };
      return typeof name === 'string' ? name : undefined;
    } catch {
      return undefined;
    }
  }),
  defineRoute('GET', '/v1/contacts/properties', (request, context) => {
    const custom = [...context.store.properties.values()];
    return ok(request.query.get('list') === 'custom' ? custom : [...DEFAULT_PROPERTIES, ...custom]);
  }),
];
