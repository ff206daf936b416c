import type { Fragment } from 'postgres';
import { normaliseEmail } from '../common/emails.js';
import type { FieldValue } from '../common/field-changes.js';
import type { Platform } from '../common/sync.js';
import type { Sql } from './sql.js';
import { comparedAsType, idOfType, idsOfType } from './user-ids.js';
import { normalisedEmailSql, validEmailSql } from './users-contract.js';

/**
 * Reads the users relation named by USERS_SOURCE. The service never writes to it. Optional
 * columns (`marketing_opt_out`, `deleted_at`) are detected once, so operators whose schema lacks
 * them need no view.
 */
export interface UsersSource {
  relation: string;
  /** SQL type of `id`, e.g. `bigint` or `uuid`: cursors are cast to it so the id index is used. */
  idType: string;
  hasOptOut: boolean;
  hasDeletedAt: boolean;
  /** Every column of the relation and its SQL type, as the catalog has them. */
  columns: Record<string, string>;
}

const REQUIRED_COLUMNS = [
  'id',
  'email',
  'first_name',
  'last_name',
  'full_name',
  'created_at',
  'last_active_at',
];

export class UsersSourceError extends Error {
  override name = 'UsersSourceError';
}

export async function inspectUsersSource(sql: Sql, relation: string): Promise<UsersSource> {
  const columns = await sql<{ name: string; type: string }[]>`
    select attname as name, format_type(atttypid, atttypmod) as type
    from pg_attribute
    where attrelid = to_regclass(${relation}) and attnum > 0 and not attisdropped`;
  if (columns.length === 0) {
    throw new UsersSourceError(`USERS_SOURCE names "${relation}", which is not a table or view`);
  }
  const types = new Map(columns.map((column) => [column.name, column.type]));
  const missing = REQUIRED_COLUMNS.filter((name) => !types.has(name));
  if (missing.length > 0) {
    throw new UsersSourceError(
      `USERS_SOURCE "${relation}" lacks the column(s) ${missing.join(', ')}; create a view that provides them`,
    );
  }
  return {
    relation,
    idType: types.get('id') ?? 'text',
    hasOptOut: types.has('marketing_opt_out'),
    hasDeletedAt: types.has('deleted_at'),
    columns: Object.fromEntries(types),
  };
}

/**
 * What is wrong with the relation USERS_SOURCE names (missing, or lacking required columns), in a
 * sentence naming the columns; undefined when it is usable. Read from the catalog now.
 */
export async function usersSourceProblem(sql: Sql, relation: string): Promise<string | undefined> {
  try {
    await inspectUsersSource(sql, relation);
    return undefined;
  } catch (error) {
    if (error instanceof UsersSourceError) return error.message;
    throw error;
  }
}

/** Columns of the mapping the relation does not have. */
export const unknownColumns = (source: UsersSource, columns: string[]): string[] =>
  columns.filter((column) => !Object.hasOwn(source.columns, column));

const NUMERIC_TYPE = /^(smallint|integer|bigint|numeric|decimal|real|double precision)\b/;

/**
 * How a column's values are sent as a contact property: numeric columns as numbers; text,
 * booleans, timestamps (ISO 8601) and anything else as strings.
 */
export const propertyTypeOf = (sqlType: string): 'string' | 'number' =>
  NUMERIC_TYPE.test(sqlType) ? 'number' : 'string';

/** Inspects the relation once per process; a failed inspection is retried on the next call. */
export function usersSourceLoader(sql: Sql, relation: string): () => Promise<UsersSource> {
  let source: Promise<UsersSource> | undefined;
  return () => {
    source ??= inspectUsersSource(sql, relation).catch((error: unknown) => {
      source = undefined;
      throw error;
    });
    return source;
  };
}

export interface ActivityFilter {
  filterActive: boolean;
  /** ISO time; users active at or after it match when filterActive is set. */
  activeSince: string;
}

/** SQL fragments over alias `u`, shared by every query so previews and runs agree. */
export function userFragments(sql: Sql, source: UsersSource) {
  const notDeleted = source.hasDeletedAt ? sql`u.deleted_at is null` : sql`true`;
  const optedOut = source.hasOptOut ? sql`coalesce(u.marketing_opt_out, false)` : sql`false`;
  const emailKey = sql.unsafe(normalisedEmailSql('u.email'));
  const validEmail = sql.unsafe(validEmailSql('u.email'));
  const active = (filter: ActivityFilter): Fragment =>
    filter.filterActive ? sql`u.last_active_at >= ${filter.activeSince}::timestamptz` : sql`true`;
  const eligible = (filter: ActivityFilter): Fragment =>
    sql`${notDeleted} and not ${optedOut} and ${validEmail} and ${active(filter)}`;
  const relation = sql(source.relation);
  const idCast = sql.unsafe(source.idType);
  return { relation, notDeleted, optedOut, emailKey, validEmail, active, eligible, idCast };
}

export interface PreviewUser {
  email: string;
  full_name: string | null;
  first_name: string | null;
  last_name: string | null;
}

/**
 * Count of eligible distinct emails: what a sync with this filter would add now. Grouping hashes
 * in memory where count(distinct) would sort, so the memory for it is raised for this query only.
 */
export async function countEligibleEmails(
  sql: Sql,
  source: UsersSource,
  filter: ActivityFilter,
): Promise<number> {
  const f = userFragments(sql, source);
  return sql.begin(async (tx) => {
    await tx`set local work_mem = '64MB'`;
    const [row] = await tx<{ count: number }[]>`
      select count(*)::int as count from (
        select 1 from ${f.relation} u where ${f.eligible(filter)} group by ${f.emailKey}
      ) as emails`;
    return row?.count ?? 0;
  });
}

/**
 * The first eligible users by id, one per distinct email. Scanning eligible users in id order,
 * the first user seen with an email is the one a run would add for it.
 */
export async function sampleEligibleUsers(
  sql: Sql,
  source: UsersSource,
  filter: ActivityFilter,
  size: number,
): Promise<PreviewUser[]> {
  const f = userFragments(sql, source);
  const sample = new Map<string, PreviewUser>();
  // Small pages: a narrow window matches few users, and each page is read in id order.
  const pageSize = size * 2;
  let after: string | null = null;
  for (;;) {
    const rows: (PreviewUser & { id: string })[] = await sql`
      select u.id::text as id, btrim(u.email) as email, u.full_name, u.first_name, u.last_name
      from ${f.relation} u
      where ${f.eligible(filter)} ${after === null ? sql`` : sql`and u.id > ${after}::${f.idCast}`}
      order by u.id
      limit ${pageSize}`;
    for (const { id: _id, ...user } of rows) {
      const key = normaliseEmail(user.email);
      if (!sample.has(key)) sample.set(key, user);
      if (sample.size === size) return [...sample.values()];
    }
    if (rows.length < pageSize) return [...sample.values()];
    after = rows[rows.length - 1]?.id ?? null;
  }
}

/** A user as a run sees it. `email` stays inside the activity; only ids leave it. */
export interface BatchUser {
  userId: string;
  found: boolean;
  deleted: boolean;
  active: boolean;
  email: string | null;
  firstName: string | null;
  lastName: string | null;
  optedOut: boolean;
  validEmail: boolean;
  /** The ledger: this user was synced into the run's list before. */
  inList: boolean;
  listContactId: string | null;
  /** The hash of the email the ledger has this user in the list with (null: not recorded). */
  listEmailHash: string | null;
  listUnsubscribed: boolean;
  /** The mapped properties' values, by property key. */
  properties: Record<string, FieldValue>;
}

export interface BatchQuery {
  platform: Platform;
  /** The platform account: a 'new' run also reads members whose fields sent there changed. */
  account?: string;
  listId: string;
  filter: ActivityFilter;
  cursor: string | null;
  /**
   * The last id of a planned batch: every user up to it is read, however many, so a user added
   * inside the range since it was planned is not skipped. Null or absent: `limit` users.
   */
  upTo?: string | null;
  limit: number;
  /** Contact properties to read: property key → column. */
  properties?: Record<string, string>;
  /** Only where the batch ends is wanted: its rows carry their `userId` and nothing else. */
  idsOnly?: boolean;
}

/**
 * The next users of an 'all' or 'new' run after the cursor, in id order. A 'new' run reads users
 * never synced into the list, plus synced users who opted out since and still need unsubscribing.
 */
export async function readPopulationBatch(
  sql: Sql,
  source: UsersSource,
  query: BatchQuery & { onlyNew: boolean; runId: string },
): Promise<BatchUser[]> {
  const f = userFragments(sql, source);
  const after = query.cursor === null ? sql`` : sql`and u.id > ${query.cursor}::${f.idCast}`;
  const upTo = query.upTo == null ? sql`` : sql`and u.id <= ${query.upTo}::${f.idCast}`;
  const limit = query.upTo == null ? sql`limit ${query.limit}` : sql``;
  return selectBatchUsers(
    sql,
    source,
    f,
    query,
    { deleted: sql`false`, active: sql`true` },
    sql`${f.notDeleted} and ${f.active(query.filter)} ${after} ${upTo}
      ${onlyNewFilter(sql, source, f, query, query.runId)}
      order by u.id ${limit}`,
  );
}

export type Fragments = ReturnType<typeof userFragments>;

/**
 * The run's list in the ledger, joined to each user as `m`: one primary-key look-up per user read.
 * As a plain join, the planner's statistics of a list filling up during a run are stale (it
 * expects one member), and it scanned every member for every user read: a batch of 100 took a
 * second at 50,000 members. The LIMIT keeps the subquery from being flattened into such a join.
 */
const ledgerJoin = (sql: Sql, query: { platform: Platform; listId: string }) => sql`
  left join lateral (
    select * from audience_sync.list_members lm
    where lm.platform = ${query.platform} and lm.list_id = ${query.listId}
      and lm.user_id = u.id::text
    limit 1) m on true`;

/** A user this run already recorded: a retried batch reads the same window again. */
const recordedByRun = (sql: Sql, runId: string) =>
  sql`exists (select 1 from audience_sync.run_users r
    where r.run_id = ${runId} and r.user_id = u.id::text)`;

/**
 * 'new': never synced into the list, synced and opted out since (to unsubscribe), or synced with
 * fields or an email that changed since they were last sent (to patch, or to move). With a run
 * id, also the users this run already recorded: a retried batch then reads the same window again
 * (instead of one shifted past them) and counts what its failed attempt recorded.
 */
const onlyNewFilter = (
  sql: Sql,
  source: UsersSource,
  f: Fragments,
  query: { onlyNew: boolean; account?: string | undefined; properties?: Record<string, string> },
  runId?: string,
) => {
  if (!query.onlyNew) return sql``;
  const recorded = runId === undefined ? sql`` : sql`or ${recordedByRun(sql, runId)}`;
  const changed =
    query.account === undefined
      ? sql``
      : sql`or (m.unsubscribed_at is null and ${f.validEmail}
               and ${changedSinceSent(sql, source, query.account, query.properties)})`;
  return sql`and (m.user_id is null or (${f.optedOut} and m.unsubscribed_at is null) ${changed} ${recorded})`;
};

/** `hashFieldValue` (field-changes.ts) in SQL, of a value's JSON text. */
export const fieldHash = (sql: Sql, json: Fragment) =>
  sql`left(encode(sha256(convert_to(coalesce(${json}, 'null'), 'UTF8')), 'hex'), 32)`;

/*
 * The hashes the worker stores, computed in SQL over alias `u` so a 'new' run finds changed
 * members without reading everyone. Where SQL cannot reproduce the worker's value exactly, the
 * hash differs from the stored one, which costs a read (the batch decides again what to patch)
 * but never hides a change. test/sync/field-hashes.test.ts holds both sides to that.
 */

/** `emailHash` (emails.ts) of the user's email, normalised as the worker normalises it. */
export const emailHashSql = (sql: Sql): Fragment =>
  sql`encode(sha256(convert_to(${sql.unsafe(normalisedEmailSql('u.email'))}, 'UTF8')), 'hex')`;

/** The hash of a name as `nameFields` sends it: empty text is no name. */
export const nameHashSql = (sql: Sql, column: Fragment): Fragment =>
  fieldHash(sql, sql`to_json(nullif(${column}, ''))::text`);

/**
 * The hash of the mapped property `p.col` sent as `p.type`, as `propertiesOf` reads it and the
 * worker hashes it. A number is hashed in JavaScript's form where SQL can write it: without
 * trailing zeros (`1.50` is `1.5`) and without an exponent; beyond that (an exponent, more
 * digits than a double holds) its text differs, which costs a read.
 */
export const propertyHashSql = (sql: Sql): Fragment =>
  fieldHash(
    sql,
    sql`case when p.type <> 'number' then to_jsonb(to_jsonb(u) ->> p.col)::text
      when jsonb_typeof(to_jsonb(u) -> p.col) = 'number'
      then trim_scale((to_jsonb(u) -> p.col)::numeric)::text
      else (to_jsonb(u) -> p.col)::text end`,
  );

/**
 * A member of the list whose email, names or mapped properties differ from what this service
 * last sent for it. Members it sent nothing for (a user skipped as another's duplicate email)
 * have no record and are not read. A hash SQL cannot reproduce (NULL, or another text of the
 * same value) only costs a read.
 */
function changedSinceSent(
  sql: Sql,
  source: UsersSource,
  account: string,
  properties: Record<string, string> | undefined,
): Fragment {
  const emailHash = emailHashSql(sql);
  return sql`(
    (m.email_hash is not null and m.email_hash is distinct from ${emailHash})
    or exists (
      select 1 from audience_sync.contact_fields cf
      where cf.account = ${account} and cf.user_id = u.id::text
        and not ${sentFieldsSameSql(sql, source, properties, emailHash)}))`;
}

/** Where a statement reads the record of what was last sent to a contact: its email's hash and fields. */
export interface SentRecord {
  emailHash: Fragment;
  fields: Fragment;
}

/**
 * The record of what was last sent (`sent`, the columns of `contact_fields` row `cf` unless
 * given) holds the user's email (its hash `emailHash`) and the hashes of its names and mapped
 * properties as they are now.
 */
export function sentFieldsSameSql(
  sql: Sql,
  source: UsersSource,
  properties: Record<string, string> | undefined,
  emailHash: Fragment,
  sent: SentRecord = { emailHash: sql`cf.email_hash`, fields: sql`cf.fields` },
): Fragment {
  const entries = Object.entries(properties ?? {});
  const propertiesSame =
    entries.length === 0
      ? sql``
      : sql`and not exists (
          select 1 from unnest(${entries.map(([key]) => key)}::text[],
              ${entries.map(([, column]) => column)}::text[],
              ${entries.map(([, column]) => propertyTypeOf(source.columns[column] ?? ''))}::text[])
            as p(key, col, type)
          where ${sent.fields} ->> ('properties.' || p.key) is distinct from ${propertyHashSql(sql)})`;
  return sql`(${sent.emailHash} is not distinct from ${emailHash}
    and ${sent.fields} ->> 'first_name' is not distinct from ${nameHashSql(sql, sql`u.first_name`)}
    and ${sent.fields} ->> 'last_name' is not distinct from ${nameHashSql(sql, sql`u.last_name`)}
    ${propertiesSame})`;
}

/**
 * The mapped columns as a JSON object by property key. Column names are values here, looked up in
 * the row's JSON (never identifiers in the SQL); numbers stay numbers, everything else becomes
 * its JSON text (timestamps in ISO 8601, booleans `true`/`false`), NULL stays null.
 */
function propertiesOf(
  sql: Sql,
  source: UsersSource,
  properties: Record<string, string> | undefined,
): Fragment {
  const entries = Object.entries(properties ?? {});
  if (entries.length === 0) return sql`'{}'::jsonb`;
  const keys = entries.map(([key]) => key);
  const columns = entries.map(([, column]) => column);
  const types = columns.map((column) => propertyTypeOf(source.columns[column] ?? ''));
  return sql`(
    select jsonb_object_agg(p.key,
      case when p.type = 'number' then r.j -> p.col else to_jsonb(r.j ->> p.col) end)
    from (select to_jsonb(u) as j) r,
      unnest(${keys}::text[], ${columns}::text[], ${types}::text[]) as p(key, col, type))`;
}

/**
 * Users as a run sees them; `flags` say how deleted and active are decided for this read, `from`
 * where the users `u` come from (the relation, or it joined to what picks them).
 */
export function selectBatchUsers(
  sql: Sql,
  source: UsersSource,
  f: Fragments,
  query: {
    platform: Platform;
    listId: string;
    properties?: Record<string, string>;
    idsOnly?: boolean;
  },
  flags: { deleted: Fragment; active: Fragment },
  condition: Fragment,
  from: Fragment = sql`${f.relation} u`,
) {
  if (query.idsOnly) {
    // The ledger stays joined: a 'new' run's condition reads it.
    return sql<BatchUser[]>`
      select u.id::text as "userId" from ${from} ${ledgerJoin(sql, query)} where ${condition}`;
  }
  return sql<BatchUser[]>`
    select u.id::text as "userId", true as found, ${flags.deleted} as deleted,
      ${flags.active} as active,
      btrim(u.email) as email, u.first_name as "firstName", u.last_name as "lastName",
      ${f.optedOut} as "optedOut", ${f.validEmail} as "validEmail",
      m.user_id is not null as "inList", m.contact_id as "listContactId",
      m.email_hash as "listEmailHash",
      m.unsubscribed_at is not null as "listUnsubscribed",
      ${propertiesOf(sql, source, query.properties)} as properties
    from ${from} ${ledgerJoin(sql, query)}
    where ${condition}`;
}

/** Counts what readPopulationBatch would return over the whole run. */
export async function countPopulation(
  sql: Sql,
  source: UsersSource,
  query: Omit<BatchQuery, 'cursor' | 'limit'> & { onlyNew: boolean },
): Promise<number> {
  const f = userFragments(sql, source);
  const [row] = await sql<{ count: number }[]>`
    select count(*)::int as count
    from ${f.relation} u ${query.onlyNew ? ledgerJoin(sql, query) : sql``}
    where ${f.notDeleted} and ${f.active(query.filter)} ${onlyNewFilter(sql, source, f, query)}`;
  return row?.count ?? 0;
}

/**
 * `u.id` among these ids, each as `idOfType` spells it: compared as the id's type when it has
 * one, else as text, so no id the application wrote can make the query fail with a cast error.
 */
export function idAmong(sql: Sql, source: UsersSource, spelledIds: string[]): Fragment {
  return comparedAsType(source.idType)
    ? sql`u.id = any(${spelledIds}::${userFragments(sql, source).idCast}[])`
    : sql`u.id::text = any(${spelledIds}::text[])`;
}

/**
 * The user an id names as the app writes it (`"0042"` is user 42 of an integer id, an upper-case
 * UUID its own; see resolveUserIds): its id as the relation writes it, and its email. Null when
 * no user has the id, or none could.
 */
export async function findUser(
  sql: Sql,
  source: UsersSource,
  id: string,
): Promise<{ userId: string; email: string | null } | null> {
  const userId = (await resolveUserIds(sql, source, [id])).get(id);
  if (userId === undefined) return null;
  const f = userFragments(sql, source);
  const [row] = await sql<{ userId: string; email: string | null }[]>`
    select u.id::text as "userId", u.email from ${f.relation} u
    where ${idAmong(sql, source, idsOfType(source.idType, [userId]))} limit 1`;
  return row ?? null;
}

/**
 * The users of the relation these ids name, by the id asked for: `u.id::text`, the id as every
 * table of the service writes it. Ids of no user (or that no value of the type is written as)
 * are absent.
 */
export async function resolveUserIds(
  sql: Sql,
  source: UsersSource,
  ids: string[],
): Promise<Map<string, string>> {
  const asked = ids.flatMap((id) => {
    const spelled = idOfType(source.idType, id);
    return spelled === null ? [] : [{ id, spelled }];
  });
  if (asked.length === 0) return new Map();
  const f = userFragments(sql, source);
  const match = comparedAsType(source.idType)
    ? sql`u.id = a.spelled::${f.idCast}`
    : sql`u.id::text = a.spelled`;
  const rows = await sql<{ asked: string; userId: string }[]>`
    select a.id as asked, u.id::text as "userId"
    from unnest(${asked.map((one) => one.id)}::text[], ${asked.map((one) => one.spelled)}::text[])
      as a(id, spelled)
    join ${f.relation} u on ${match}`;
  return new Map(rows.map((row) => [row.asked, row.userId]));
}

/**
 * The next requested users of a 'specific' run after the cursor, in requested-id order. The
 * run's ids were resolved through the relation when it was prepared (resolveUserIds); ids of no
 * user come back with `found: false`, deleted or inactive ones are flagged, not dropped.
 */
export async function readRequestedBatch(
  sql: Sql,
  source: UsersSource,
  query: BatchQuery & { runId: string },
): Promise<BatchUser[]> {
  const f = userFragments(sql, source);
  const requested = await sql<{ userId: string }[]>`
    select user_id as "userId" from audience_sync.run_requested_users
    where run_id = ${query.runId} ${query.cursor === null ? sql`` : sql`and user_id > ${query.cursor}`}
      ${query.upTo == null ? sql`` : sql`and user_id <= ${query.upTo}`}
    order by user_id
    ${query.upTo == null ? sql`limit ${query.limit}` : sql``}`;
  const ids = requested.map((row) => row.userId);
  const lookup = idsOfType(source.idType, ids);
  const rows =
    lookup.length === 0
      ? []
      : await selectBatchUsers(
          sql,
          source,
          f,
          query,
          { deleted: sql`not ${f.notDeleted}`, active: f.active(query.filter) },
          idAmong(sql, source, lookup),
        );
  const byId = new Map(rows.map((row) => [row.userId, row]));
  return ids.map((userId) => byId.get(userId) ?? notFoundUser(userId));
}

/** These users as a run sees them, in no order; ids the relation does not have are left out. */
export async function readUsersById(
  sql: Sql,
  source: UsersSource,
  query: { platform: Platform; listId: string },
  userIds: string[],
): Promise<BatchUser[]> {
  const f = userFragments(sql, source);
  const ids = idsOfType(source.idType, userIds);
  if (ids.length === 0) return [];
  return selectBatchUsers(
    sql,
    source,
    f,
    query,
    { deleted: sql`not ${f.notDeleted}`, active: sql`true` },
    idAmong(sql, source, ids),
  );
}

const notFoundUser = (userId: string): BatchUser => ({
  userId,
  found: false,
  deleted: false,
  active: false,
  email: null,
  firstName: null,
  lastName: null,
  optedOut: false,
  validEmail: false,
  inList: false,
  listContactId: null,
  listEmailHash: null,
  listUnsubscribed: false,
  properties: {},
});
