import type { Fragment } from 'postgres';
import type { Sql } from './sql.js';
import { VALID_EMAIL_PATTERN } from './users-contract.js';
import type { UsersSource } from './users-source.js';

/**
 * Fingerprints of what was last sent (`contact_fields.fingerprint`, migration 26): a 64-bit hash
 * of the app's values that the change set's pass found matching a record of what was sent. The
 * next pass takes a record whose fingerprint matches the values as matching them, without
 * hashing the email (sha256), matching it against the pattern, or hashing and comparing the
 * names and mapped fields: at a million users that is most of the pass. Any other write to the
 * record forgets its fingerprint (a trigger), so a fingerprint never outlives the record it was
 * taken against, whichever path wrote it.
 */

/**
 * The rules a fingerprint stands for: raise it when what the pass compares changes (how an
 * email is normalised or hashed, how a name or a property is hashed), so that no fingerprint
 * taken under the old rules matches.
 */
const FINGERPRINT_RULES = 1;

/**
 * A 64-bit hash of what the full rules read from the user's row `u`: its email as written, its
 * names and its mapped columns as text, seeded by the run's account, property map and rules
 * (taken for another map, it never matches). Text that differs only costs the full rules; the
 * same text is the same value.
 */
export function userFingerprintSql(
  sql: Sql,
  source: UsersSource,
  account: string,
  properties: Record<string, string> | undefined,
): Fragment {
  // A mapped column the relation lacks reads as null, as the full rules read it. Folded into one
  // fragment: an empty list interpolated would be sent as a parameter.
  const columns = fingerprintColumns(properties).reduce(
    (list, column) =>
      column in source.columns ? sql`${list}, u.${sql(column)}::text` : sql`${list}, null`,
    sql``,
  );
  const seed = fingerprintSeed(account, properties, source.columns);
  return sql`hashtextextended(array[u.email::text, u.first_name::text, u.last_name::text
    ${columns}]::text, hashtextextended(${seed}::text, 0))`;
}

/** The columns a fingerprint covers beyond the email and names: the mapped ones, by key. */
export function fingerprintColumns(properties: Record<string, string> | undefined): string[] {
  return sortedEntries(properties).map(([, column]) => column);
}

/**
 * The seed of a fingerprint: the rules (and the email pattern they check), the account, and the
 * property map with each column's type.
 */
export function fingerprintSeed(
  account: string,
  properties: Record<string, string> | undefined,
  columnTypes: Record<string, string>,
): string {
  const map = sortedEntries(properties).map(([key, column]) => [
    key,
    column,
    columnTypes[column] ?? '',
  ]);
  return JSON.stringify([FINGERPRINT_RULES, VALID_EMAIL_PATTERN, account, map]);
}

const sortedEntries = (properties: Record<string, string> | undefined) =>
  Object.entries(properties ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
