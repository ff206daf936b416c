import { AdminError } from '../common/admin-error.js';
import { isValidEmail } from '../common/email.js';
import { parseTimestamp } from './clock.js';
import type { ContactStore } from './store/contact-store.js';
import type { ContactInput, SegmentRecord } from './store/records.js';

type Row = Record<string, unknown>;

const FIELDS = new Set([
  'email',
  'first_name',
  'last_name',
  'unsubscribed',
  'segment_ids',
  'created_at',
]);

function fail(index: number, message: string): never {
  throw new AdminError(400, `contacts.${index}: ${message}`);
}

function optionalName(row: Row, field: string, index: number): string | null | undefined {
  const value = row[field];
  if (value === undefined || value === null || typeof value === 'string') return value;
  return fail(index, `${field} must be a string or null.`);
}

/**
 * Checks one row by hand: a seed of a million rows is parsed in chunks, and a schema library's
 * per-object copies would dominate the time.
 */
function toInput(row: unknown, index: number): { input: ContactInput; segmentIds: unknown[] } {
  if (!row || typeof row !== 'object' || Array.isArray(row))
    return fail(index, 'must be an object.');
  const fields = row as Row;
  for (const key of Object.keys(fields)) if (!FIELDS.has(key)) fail(index, `unknown field ${key}.`);
  if (typeof fields.email !== 'string' || !isValidEmail(fields.email))
    fail(index, 'email is not valid.');
  const input: ContactInput = { email: fields.email };
  const firstName = optionalName(fields, 'first_name', index);
  if (firstName !== undefined) input.firstName = firstName;
  const lastName = optionalName(fields, 'last_name', index);
  if (lastName !== undefined) input.lastName = lastName;
  if (fields.unsubscribed !== undefined) {
    if (typeof fields.unsubscribed !== 'boolean') fail(index, 'unsubscribed must be a boolean.');
    input.unsubscribed = fields.unsubscribed;
  }
  if (fields.created_at !== undefined) {
    const createdAt =
      typeof fields.created_at === 'string' ? parseTimestamp(fields.created_at) : undefined;
    if (createdAt === undefined) fail(index, 'created_at is not a timestamp.');
    input.createdAt = createdAt;
  }
  const segmentIds = fields.segment_ids ?? [];
  if (!Array.isArray(segmentIds)) return fail(index, 'segment_ids must be an array.');
  return { input, segmentIds };
}

/**
 * Loads contacts without the rate limit: upsert by email that only sets the fields given (no
 * reset of omitted fields). Everything is checked before anything is written. Lists show contacts
 * in the order they were loaded, so give `created_at` values in ascending order.
 */
export function bulkSeedContacts(
  store: ContactStore,
  body: unknown,
): { created: number; ids: string[] } {
  const rows = body && typeof body === 'object' && 'contacts' in body ? body.contacts : undefined;
  if (!Array.isArray(rows)) throw new AdminError(400, 'The body must be { "contacts": [...] }.');
  const planned = rows.map((row, index) => {
    const { input, segmentIds } = toInput(row, index);
    const segments = segmentIds.map((id): SegmentRecord => {
      const segment = typeof id === 'string' ? store.segmentsById.get(id) : undefined;
      return segment ?? fail(index, `no segment ${String(id)}.`);
    });
    return { input, segments };
  });
  let created = 0;
  const ids = planned.map(({ input, segments }) => {
    const result = store.upsertContact(input, false);
    if (result.created) created += 1;
    for (const segment of segments) store.addMembership(result.contact, segment);
    return result.contact.id;
  });
  return { created, ids };
}
