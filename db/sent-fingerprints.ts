import type { Fragment } from 'postgres';
import { analyzeIfStale } from './planner-statistics.js';
import type { Sql } from './sql.js';
import { comparedAsType } from './user-ids.js';
import { VALID_EMAIL_PATTERN } from './users-contract.js';
import {
  emailHashSql,
  sentFieldsSameSql,
  type UsersSource,
  userFragments,
} from './users-source.js';

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
 * A 64-bit hash of what the full rules read from the user's row `u`: its email and names as
 * written, and its mapped columns as the JSON the full rules read them from (a number stays
 * apart from its text, dates are ISO, a column the relation no longer has is null, and no column
 * is named in the SQL), seeded by the rules, the run's account and its property map (taken for
 * another map, it never matches). Values that differ only cost the full rules.
 */
export function userFingerprintSql(
  sql: Sql,
  source: UsersSource,
  account: string,
  properties: Record<string, string> | undefined,
): Fragment {
  // Folded into one fragment: an empty list interpolated would be sent as a parameter.
  const mapped = fingerprintColumns(properties).reduce(
    (list, column) => sql`${list}, (to_jsonb(u) -> ${column}::text)::text`,
    sql``,
  );
  const seed = fingerprintSeed(account, properties, source.columns);
  return sql`hashtextextended(array[u.email::text, u.first_name::text, u.last_name::text
    ${mapped}]::text, hashtextextended(${seed}::text, 0))`;
}

export interface SentRun {
  runId: string;
  account: string;
  properties?: Record<string, string> | undefined;
}

/**
 * Fingerprints the records of what was sent to the run's users (those with an outcome, so a run
 * that sent nothing reads nothing) that match their values now, by the full rules: valid email,
 * and the email's hash, names and mapped fields as recorded. The next run's pass then finds
 * them fingerprinted instead of hashing them all, and fingerprinting a whole list once, after its
 * first sync, costs the first sync, not the run after it. A record written meanwhile is checked
 * again as it now is (Postgres re-reads a row a concurrent write changed before updating it).
 * Answers how many it fingerprinted; none when it ran out of time (the next pass fingerprints
 * what it finds unchanged).
 */
export async function fingerprintSentRecords(
  sql: Sql,
  source: UsersSource,
  run: SentRun,
): Promise<number> {
  const f = userFragments(sql, source);
  const byId = comparedAsType(source.idType)
    ? sql`u.id = r.user_id::${f.idCast}`
    : sql`u.id::text = r.user_id`;
  const fingerprint = userFingerprintSql(sql, source, run.account, run.properties);
  const statement = (tx: Sql) => tx`
    update audience_sync.contact_fields cf set fingerprint = u.fingerprint_now
    from (select u.*, ${fingerprint} as fingerprint_now, ${emailHashSql(sql)} as email_hash_now
      from audience_sync.run_users r join ${f.relation} u on ${byId}
      where r.run_id = ${run.runId} and ${f.validEmail} offset 0) u
    where cf.account = ${run.account} and cf.user_id = u.id::text
      and cf.fingerprint is null
      and ${sentFieldsSameSql(sql, source, run.properties, sql`u.email_hash_now`)}`;
  await analyzeIfStale(sql, ['run_users', 'contact_fields']);
  const [sent] = await sql<{ users: number }[]>`
    select count(*)::int as users from audience_sync.run_users where run_id = ${run.runId}`;
  try {
    return await sql.begin(async (tx) => {
      // A first sync's users are read whole (hash joins); a few are looked up by their keys.
      if ((sent?.users ?? 0) > WHOLE_READ_FROM) await tx`set local enable_nestloop = off`;
      // Fingerprints only save later passes work: a run ends on time without them (a million
      // records took 60 s on two busy cores).
      await tx`set local statement_timeout = '120s'`;
      return (await statement(tx as unknown as Sql)).count;
    });
  } catch (error) {
    if ((error as { code?: string }).code === QUERY_CANCELED) return 0;
    throw error;
  }
}

/** The run's users from which the statement reads the tables whole rather than look them up. */
const WHOLE_READ_FROM = 20_000;

/** Postgres' SQLSTATE for a statement cancelled, here by its timeout. */
const QUERY_CANCELED = '57014';

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
