/**
 * The SQL side of SPEC's users contract, shared by the queries that read users and by the demo
 * seeder, so a preview, a run and the recommended index agree on what a valid email is.
 */

/**
 * The one normalisation of an email, as `normaliseEmail` (common/emails.ts) does it: spaces
 * trimmed (btrim), ASCII letters lowercased. `lower` under the C collation maps A-Z only; under
 * the column's or the database's collation it would follow the locale (the Kelvin sign becomes
 * `k` in ICU and glibc, `I` becomes a dotless `ı` in Turkish).
 */
export const normalisedEmailSql = (column: string): string => `lower(btrim(${column}) collate "C")`;

/**
 * A valid email, checked on the normalised address: a local part of the characters the HTML
 * standard allows, an @, and a domain of at least two labels, in ASCII only (an address that is
 * valid only through a case mapping of other letters is not). It is deliberately simple: Postgres
 * evaluates it on every row a preview counts. The platform may still refuse an address it
 * dislikes; that user then fails with the platform's reason.
 */
export const VALID_EMAIL_PATTERN = "^[a-z0-9.!#$%&'*+/=?^_`{|}~-]+@[a-z0-9-]+(\\.[a-z0-9-]+)+$";

/** The pattern as an SQL literal, so a partial index whose predicate repeats it can serve. */
export const validEmailSql = (column: string): string =>
  `coalesce(${normalisedEmailSql(column)} ~ '${VALID_EMAIL_PATTERN.replaceAll("'", "''")}', false)`;

/**
 * The index that makes previews and activity filters fast: eligible users by activity, with the
 * email so counting needs no table access. `npm run dev` creates it on the demo users; operators
 * create it on their relation (docs/running.md, "Your own database").
 */
export const recommendedIndexSql = (relation: string, indexName: string): string =>
  `create index if not exists ${indexName} on ${relation} (last_active_at) include (email)
   where deleted_at is null and not coalesce(marketing_opt_out, false) and ${validEmailSql('email')}`;
