import { isValidEmail } from '../../common/email.js';
import { type RouteRequest, readJsonObjectBody } from '../../common/routing.js';
import { badRequest, LoopsError, MESSAGES } from '../errors.js';
import type { LoopsStore } from '../store/loops-store.js';
import type { ContactChanges, PropertyType, PropertyValue } from '../store/records.js';

/** Loops caps most string values of contact writes at 500 characters. */
const MAX_STRING = 500;
const STRING_FIELDS = ['firstName', 'lastName', 'source', 'userGroup'] as const;
const NULL_RESETS: Record<(typeof STRING_FIELDS)[number], string | null> = {
  firstName: null,
  lastName: null,
  source: 'API',
  userGroup: '',
};
const IDENTITY_FIELDS = new Set(['email', 'userId', 'subscribed', 'mailingLists']);

export interface FieldRules {
  store: LoopsStore;
  requireDefinedProperties: boolean;
}

/** The JSON object sent as the body; an empty body reads as `{}`. */
export function readJsonObject(request: RouteRequest): Record<string, unknown> {
  return readJsonObjectBody(request.rawBody, () => badRequest(MESSAGES.invalidJson));
}

function checkString(field: string, value: unknown): string {
  if (typeof value !== 'string') throw badRequest(`\`${field}\` must be a string.`);
  if (value.length > MAX_STRING) {
    throw badRequest(`\`${field}\` is longer than ${MAX_STRING} characters.`);
  }
  return value;
}

export function checkEmail(value: unknown): string {
  if (typeof value !== 'string' || !isValidEmail(value)) throw badRequest(MESSAGES.invalidEmail);
  return value;
}

function checkMailingLists(store: LoopsStore, value: unknown): Record<string, boolean> {
  if (!value || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest('`mailingLists` must be an object of mailing list IDs and booleans.');
  }
  for (const [id, on] of Object.entries(value)) {
    if (typeof on !== 'boolean') throw badRequest(`\`mailingLists.${id}\` must be a boolean.`);
    if (!store.listsById.has(id)) throw badRequest(`Mailing list \`${id}\` does not exist.`);
  }
  return value as Record<string, boolean>;
}

function fitsType(type: PropertyType, value: unknown): value is PropertyValue {
  if (type === 'date') {
    return (
      (typeof value === 'number' && Number.isFinite(value)) ||
      (typeof value === 'string' && !Number.isNaN(Date.parse(value)))
    );
  }
  if (type === 'number') return typeof value === 'number' && Number.isFinite(value);
  return typeof value === type;
}

/** `notes` and custom properties: defined before use, of the defined type; `null` clears one. */
function checkProperty(rules: FieldRules, key: string, value: unknown): PropertyValue | null {
  if (value === null) return null;
  const type: PropertyType | undefined =
    key === 'notes' ? 'string' : rules.store.properties.get(key)?.type;
  if (type === undefined) {
    if (rules.requireDefinedProperties) {
      throw badRequest(`The contact property \`${key}\` does not exist. Create it first.`);
    }
    if (typeof value === 'object')
      throw badRequest(`\`${key}\` must be a string, number or boolean.`);
    return value as PropertyValue;
  }
  if (!fitsType(type, value)) throw badRequest(`\`${key}\` must be a ${type}.`);
  if (typeof value === 'string') checkString(key, value);
  return value;
}

/** Every field of a create or update body, checked before anything is written. */
export function readContactChanges(
  rules: FieldRules,
  body: Record<string, unknown>,
): ContactChanges {
  const changes: ContactChanges = {};
  if (body.email !== undefined && body.email !== null) changes.email = checkEmail(body.email);
  if (body.userId !== undefined && body.userId !== null) {
    changes.userId = checkString('userId', body.userId);
  }
  for (const field of STRING_FIELDS) {
    const value = body[field];
    if (value === null) changes[field] = NULL_RESETS[field] as string;
    else if (value !== undefined) changes[field] = checkString(field, value);
  }
  if (body.subscribed !== undefined) {
    if (typeof body.subscribed !== 'boolean') throw badRequest('`subscribed` must be a boolean.');
    changes.subscribed = body.subscribed;
  }
  if (body.mailingLists !== undefined) {
    changes.mailingLists = checkMailingLists(rules.store, body.mailingLists);
  }
  const properties: Record<string, PropertyValue | null> = {};
  for (const [key, value] of Object.entries(body)) {
    if (IDENTITY_FIELDS.has(key) || (STRING_FIELDS as readonly string[]).includes(key)) continue;
    properties[key] = checkProperty(rules, key, value);
  }
  if (Object.keys(properties).length > 0) changes.properties = properties;
  return changes;
}

/** Exactly one of `email` and `userId`, from a query or a body, for find, delete and suppression. */
export function readOneIdentifier(source: {
  email: unknown;
  userId: unknown;
}): { email: string } | { userId: string } {
  const hasEmail = source.email !== undefined && source.email !== null;
  const hasUserId = source.userId !== undefined && source.userId !== null;
  if (hasEmail && hasUserId) throw badRequest(MESSAGES.onlyOneIdentifier);
  if (hasEmail) return { email: checkEmail(source.email) };
  if (hasUserId && typeof source.userId === 'string' && source.userId.length > 0) {
    return { userId: source.userId };
  }
  throw badRequest(MESSAGES.identifierRequired);
}

export const notFound = () => new LoopsError(404, MESSAGES.contactNotFound);
