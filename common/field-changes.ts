import { createHash } from 'node:crypto';

/**
 * Which of a contact's fields a run patches. The app is the source of truth for the fields a sync
 * sends (names and mapped properties); what this service last sent or saw of each is kept as a
 * hash, so only fields whose value changed since cost a request, and a contact someone filled in
 * on the platform before this service met it keeps its values (only its empty fields are filled).
 */

/** A field's value as a platform receives it; null clears it. */
export type FieldValue = string | number | null;

/**
 * The fields a sync sends for one user, by field key: `first_name`, `last_name`, and
 * `properties.<key>` for each mapped property.
 */
export type ContactFields = Record<string, FieldValue>;

/** Field key → hash of the value last sent or seen. */
export type FieldHashes = Record<string, string>;

export const PROPERTY_PREFIX = 'properties.';
export const propertyField = (key: string): string => `${PROPERTY_PREFIX}${key}`;

/** The names a sync sends, as field keys; empty text is no name. */
export function nameFields(firstName: string | null, lastName: string | null): ContactFields {
  return { first_name: firstName || null, last_name: lastName || null };
}

/** Mapped properties as field keys. */
export function propertyFields(properties: Record<string, FieldValue>): ContactFields {
  return Object.fromEntries(
    Object.entries(properties).map(([key, value]) => [propertyField(key), value]),
  );
}

/** A short, typed hash of a value: `"1"` and `1` differ, as they do for the platform. */
export const hashFieldValue = (value: FieldValue): string =>
  createHash('sha256').update(JSON.stringify(value)).digest('hex').slice(0, 32);

export const hashFields = (fields: ContactFields): FieldHashes =>
  Object.fromEntries(Object.entries(fields).map(([key, value]) => [key, hashFieldValue(value)]));

const isEmpty = (value: FieldValue): boolean => value === null || value === '';

/** What is known of the user's contact on the platform before this run. */
export interface FieldBaseline {
  /**
   * What this service last sent or saw for this user and this email; absent when it never met
   * this email's contact (a first meeting).
   */
  lastSeen?: FieldHashes | undefined;
  /**
   * At a first meeting with a contact that already existed: the fields the platform showed
   * empty. Absent: not known, so every field is treated as filled in and kept.
   */
  emptyOnPlatform?: ReadonlySet<string> | undefined;
}

/**
 * The fields to patch on a contact that already exists (never the subscription):
 * - met before: every field whose value differs from what was last sent or seen;
 * - a first meeting: only fields the platform has empty, to the app's value when it has one.
 * A field mapped since the contact was met (no hash yet) is the app's from then on: it is sent
 * when the app has a value.
 */
export function fieldsToPatch(current: ContactFields, baseline: FieldBaseline): ContactFields {
  const patch: ContactFields = {};
  for (const [key, value] of Object.entries(current)) {
    const seen = baseline.lastSeen?.[key];
    if (seen !== undefined) {
      if (seen !== hashFieldValue(value)) patch[key] = value;
    } else if (isEmpty(value)) {
      // Nothing to fill in, and nothing of the platform's to clear.
    } else if (baseline.lastSeen !== undefined || baseline.emptyOnPlatform?.has(key)) {
      patch[key] = value;
    }
  }
  return patch;
}

/**
 * What to remember after the contact was created with, or patched to, `current` (or kept its
 * own values at a first meeting): the app's values, so later changes made in the app are seen.
 * Hashes of fields no longer mapped are kept, so mapping them again changes nothing.
 */
export const fieldsAfterSync = (
  current: ContactFields,
  lastSeen: FieldHashes | undefined,
): FieldHashes => ({ ...lastSeen, ...hashFields(current) });

export const isEmptyPatch = (patch: ContactFields): boolean => Object.keys(patch).length === 0;

/** A patch as the platform boundary takes it (`ContactPatch['fields']`). */
export function patchOfFields(patch: ContactFields): {
  firstName?: string | null;
  lastName?: string | null;
  properties?: Record<string, FieldValue>;
} {
  const fields: ReturnType<typeof patchOfFields> = {};
  const properties: Record<string, FieldValue> = {};
  for (const [key, value] of Object.entries(patch)) {
    if (key === 'first_name') fields.firstName = value === null ? null : String(value);
    else if (key === 'last_name') fields.lastName = value === null ? null : String(value);
    else if (key.startsWith(PROPERTY_PREFIX)) properties[key.slice(PROPERTY_PREFIX.length)] = value;
  }
  if (Object.keys(properties).length > 0) fields.properties = properties;
  return fields;
}
