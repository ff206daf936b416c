import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emailHash, normaliseEmail } from '../../common/emails.js';
import {
  type FieldHashes,
  hashFields,
  nameFields,
  propertyFields,
} from '../../common/field-changes.js';
import { VALID_EMAIL_PATTERN } from '../../db/users-contract.js';
import {
  type BatchUser,
  emailHashSql,
  inspectUsersSource,
  nameHashSql,
  propertyHashSql,
  propertyTypeOf,
  readPopulationBatch,
  type UsersSource,
  userFragments,
} from '../../db/users-source.js';
import { createTestDatabase, type TestDatabase } from '../support/stack.js';

/**
 * A 'new' run finds members whose fields changed by recomputing, in SQL, the hashes the worker
 * stored (users-source.ts against field-changes.ts and emails.ts). Both sides are computed here by
 * the real code for a table of odd values: where they agree, an unchanged member is not read
 * again; where they cannot (listed below), the SQL hash differs, which costs a read, and for no
 * pair of values does SQL take a changed value for the old one (a missed update).
 */

let db: TestDatabase;
beforeAll(async () => {
  db = await createTestDatabase();
});
afterAll(async () => {
  await db?.drop();
});

const ACCOUNT = 'resend:hashes';
const LIST = 'list-hashes';

const TEXTS: (string | null)[] = [
  'plain',
  'Plain',
  '',
  null,
  ' ',
  '  padded  ',
  'é',
  'e\u0301',
  '日本語',
  '😀',
  '\u0001',
  '\t',
  '\n',
  '\r\n',
  '\u001f',
  '\b\f',
  'quote "x"',
  'back\\slash',
  '\\u0041',
  '/',
  '</script>',
  '\u2028',
  '\u2029',
  '\u007f',
  '\u0080\u009f',
  '\u00a0',
  '\ufeff',
  "it's",
  'null',
  '"',
];

/** Valid to the users contract (as the database's locale lowercases) or not; both are read. */
const EMAILS = [
  'plain@example.com',
  '  Padded@Example.com  ',
  'MiXeD.CaSe@ExAmPlE.CoM',
  'PLAIN@EXAMPLE.COM',
  "o'brien+tag@example.co.uk",
  '\tTabbed@example.com',
  'lf@example.com\n',
  'k\u212aelvin@example.com',
  'dotted.\u0130@example.com',
  'DOTLESS.I@EXAMPLE.COM',
  'é@example.com',
  'bad-address',
  '',
];

// Column type, values (as SQL literals' text, cast to the type).
const PROPERTY_COLUMNS: Record<string, { type: string; values: (string | null)[] }> = {
  p_text: { type: 'text', values: TEXTS },
  p_varchar: { type: 'varchar(40)', values: ['a', 'A', ' a ', null, '😀'] },
  p_int: { type: 'integer', values: ['0', '-1', '2147483647', '-2147483648', '7', null] },
  p_bigint: {
    type: 'bigint',
    values: ['9007199254740991', '9007199254740993', '-9223372036854775808', '42', null],
  },
  p_numeric: {
    type: 'numeric',
    values: [
      '1.50',
      '1.5',
      '3.00',
      '3',
      '1e20',
      '1e21',
      '0.1',
      '0.000001',
      '0.0000001',
      '-0.0',
      '12345678901234567890.5',
      '0.1000000000000000055511151231257827',
      'NaN',
      null,
    ],
  },
  p_money: { type: 'numeric(10,2)', values: ['19.90', '20.00', '0.05', '-3.10', null] },
  p_double: {
    type: 'double precision',
    values: ['0.1', '1e20', '1e-7', '-0', '123456789012345680000', 'Infinity', '1.5', null],
  },
  p_real: { type: 'real', values: ['0.1', '1.5', '3.4e38', null] },
  p_bool: { type: 'boolean', values: ['true', 'false', null] },
  p_timestamptz: {
    type: 'timestamptz',
    values: [
      '2027-01-15T10:30:00Z',
      '2027-01-15T10:30:00.123456Z',
      '2027-01-15T11:30:00+01:00',
      'infinity',
      null,
    ],
  },
  p_date: { type: 'date', values: ['2024-02-29', '0001-01-01', 'infinity', null] },
  p_jsonb: {
    type: 'jsonb',
    values: ['{"a": [1, "é"]}', '{"a":[1,"é"]}', '"text"', '1.50', 'null', '[]', null],
  },
};

const PROPERTIES = Object.fromEntries(
  Object.keys(PROPERTY_COLUMNS).map((column) => [column.slice(2), column]),
);
const ROWS = Math.max(
  TEXTS.length,
  EMAILS.length,
  ...Object.values(PROPERTY_COLUMNS).map((column) => column.values.length),
);

/** What one side says of a user: its email hash (valid emails only) and its field hashes. */
interface Hashes {
  email: string | null;
  fields: FieldHashes;
}

/** Row i holds the i-th value of every column (NULL past a column's end). */
async function createRelation(name: string, emailCollation?: string) {
  const sql = db.sql;
  const columns = Object.entries(PROPERTY_COLUMNS)
    .map(([column, { type }]) => `${column} ${type}`)
    .join(', ');
  await sql.unsafe(`
    create table ${name} (id bigint primary key,
      email text ${emailCollation ? `collate "${emailCollation}"` : ''},
      first_name text, last_name text, full_name text, created_at timestamptz default now(),
      last_active_at timestamptz, ${columns})`);
  // Every value goes as text, cast by Postgres, as the app's own writes would have stored it.
  const types: Record<string, string> = {
    id: 'bigint',
    email: 'text',
    first_name: 'text',
    last_name: 'text',
    ...Object.fromEntries(Object.entries(PROPERTY_COLUMNS).map(([c, { type }]) => [c, type])),
  };
  const names = Object.keys(types);
  const insert = `insert into ${name} (${names.join(', ')}) values (${names
    .map((column, index) => `$${index + 1}::text::${types[column]}`)
    .join(', ')})`;
  for (let row = 0; row < ROWS; row += 1) {
    const values: Record<string, string | null> = {
      id: String(row + 1),
      email: EMAILS[row % EMAILS.length] ?? null,
      first_name: TEXTS[row % TEXTS.length] ?? null,
      last_name: TEXTS[(TEXTS.length - 1 - row + TEXTS.length) % TEXTS.length] ?? null,
    };
    for (const [column, { values: list }] of Object.entries(PROPERTY_COLUMNS)) {
      values[column] = list[row] ?? null;
    }
    await sql.unsafe(
      insert,
      names.map((column) => values[column] ?? null),
    );
  }
  return inspectUsersSource(sql, name);
}

/** The worker's side: users as a batch reads them, hashed by the worker's own functions. */
async function workerHashes(source: UsersSource): Promise<Map<string, Hashes>> {
  const users = await readPopulationBatch(db.sql, source, {
    platform: 'resend',
    listId: LIST,
    filter: { filterActive: false, activeSince: new Date().toISOString() },
    cursor: null,
    limit: 1000,
    properties: PROPERTIES,
    onlyNew: false,
    runId: 'none',
  });
  expect(users).toHaveLength(ROWS);
  return new Map(
    users.map((user: BatchUser) => [
      user.userId,
      {
        email: user.validEmail ? emailHash(normaliseEmail(user.email ?? '')) : null,
        fields: hashFields({
          ...nameFields(user.firstName, user.lastName),
          ...propertyFields(user.properties),
        }),
      },
    ]),
  );
}

/** The SQL side: the fragments changedSinceSent compares with what was stored. */
async function sqlHashes(source: UsersSource): Promise<Map<string, Hashes>> {
  const sql = db.sql;
  const f = userFragments(sql, source);
  const entries = Object.entries(PROPERTIES);
  const rows = await sql<{ userId: string; email: string | null; fields: FieldHashes }[]>`
    select u.id::text as "userId",
      case when ${f.validEmail} then ${emailHashSql(sql)} end as email,
      jsonb_build_object('first_name', ${nameHashSql(sql, sql`u.first_name`)},
        'last_name', ${nameHashSql(sql, sql`u.last_name`)}) || (
        select jsonb_object_agg('properties.' || p.key, ${propertyHashSql(sql)})
        from unnest(${entries.map(([key]) => key)}::text[],
          ${entries.map(([, column]) => column)}::text[],
          ${entries.map(([, column]) => propertyTypeOf(source.columns[column] ?? ''))}::text[])
          as p(key, col, type)) as fields
    from ${f.relation} u order by u.id`;
  return new Map(rows.map(({ userId, ...hashes }) => [userId, hashes]));
}

const describeValue = async (source: UsersSource, userId: string, field: string) => {
  const column =
    field === 'email'
      ? 'email'
      : field.startsWith('properties.')
        ? (PROPERTIES[field.slice('properties.'.length)] ?? '')
        : field;
  const [row] = await db.sql<{ value: string | null }[]>`
    select (to_jsonb(u) ->> ${column}) as value from ${db.sql(source.relation)} u
    where id = ${userId}`;
  return `${field}=${JSON.stringify(row?.value ?? null)}`;
};

/** (user, field) where the two sides differ for one value, as `field=<value>`. */
async function differences(
  source: UsersSource,
  worker: Map<string, Hashes>,
  inSql: Map<string, Hashes>,
): Promise<string[]> {
  const found: string[] = [];
  for (const [userId, mine] of worker) {
    const theirs = inSql.get(userId);
    if (mine.email !== null && mine.email !== theirs?.email) {
      found.push(await describeValue(source, userId, 'email'));
    }
    for (const [field, hash] of Object.entries(mine.fields)) {
      if (theirs?.fields[field] !== hash) found.push(await describeValue(source, userId, field));
    }
  }
  return [...new Set(found)].sort();
}

/**
 * Pairs (old, new) of one field where the worker would send the new value but SQL computes, for
 * it, the hash the worker stored for the old one: a change no 'new' run would read.
 */
function missedChanges(worker: Map<string, Hashes>, inSql: Map<string, Hashes>): string[] {
  const missed: string[] = [];
  for (const [oldId, old] of worker) {
    for (const [newId, now] of worker) {
      const sqlNow = inSql.get(newId);
      if (old.email !== null && now.email !== null && old.email !== now.email) {
        if (sqlNow?.email === old.email) missed.push(`email ${oldId}→${newId}`);
      }
      for (const [field, hash] of Object.entries(old.fields)) {
        if (now.fields[field] !== hash && sqlNow?.fields[field] === hash) {
          missed.push(`${field} ${oldId}→${newId}`);
        }
      }
    }
  }
  return missed;
}

/**
 * Values whose SQL hash cannot be the worker's: each costs a read of its member in every 'new'
 * run, never a missed change. Numbers the worker holds as a double (beyond 2^53, more digits,
 * or written with an exponent by JavaScript), and jsonb numbers of a numeric column that SQL
 * writes as they are stored. Everything else agrees.
 */
const EXPECTED_DIFFERENCES = [
  'properties.bigint="9007199254740993"',
  'properties.bigint="-9223372036854775808"',
  'properties.numeric="1000000000000000000000"',
  'properties.numeric="0.0000001"',
  'properties.numeric="12345678901234567890.5"',
  'properties.numeric="0.1000000000000000055511151231257827"',
  'properties.double="0.0000001"',
  'properties.real="340000000000000000000000000000000000000"',
].sort();

/** The member ids the 'new' run's change check reads while nothing changed. */
/** The list members a 'new' run's batch read returns now, by id. */
async function membersReadAgain(source: UsersSource): Promise<string[]> {
  const read = await readPopulationBatch(db.sql, source, {
    platform: 'resend',
    account: ACCOUNT,
    listId: LIST,
    filter: { filterActive: false, activeSince: new Date().toISOString() },
    cursor: null,
    limit: 1000,
    properties: PROPERTIES,
    onlyNew: true,
    runId: 'none',
  });
  return read.map((user) => user.userId).sort();
}

async function reReadWithHashesStored(
  source: UsersSource,
  worker: Map<string, Hashes>,
): Promise<string[]> {
  const sql = db.sql;
  await sql`delete from audience_sync.list_members where list_id = ${LIST}`;
  await sql`delete from audience_sync.contact_fields where account = ${ACCOUNT}`;
  for (const [userId, hashes] of worker) {
    if (hashes.email === null) continue;
    await sql`
      insert into audience_sync.list_members (platform, list_id, user_id, contact_id, email_hash)
      values ('resend', ${LIST}, ${userId}, ${`c-${userId}`}, ${hashes.email})`;
    await sql`
      insert into audience_sync.contact_fields (account, user_id, email_hash, fields)
      values (${ACCOUNT}, ${userId}, ${hashes.email}, ${sql.json(hashes.fields)})`;
  }
  return membersReadAgain(source);
}

describe("the 'new' run's change check", () => {
  it('computes in SQL the hashes the worker stores, for odd values of every column type', async () => {
    const source = await createRelation('odd_users');
    const worker = await workerHashes(source);
    const inSql = await sqlHashes(source);

    expect(await differences(source, worker, inSql)).toEqual(EXPECTED_DIFFERENCES);
    expect(missedChanges(worker, inSql)).toEqual([]);

    // Through the real query: with the worker's hashes stored, exactly the users holding a value
    // listed above are read again (and those with an invalid email, never synced); the others
    // cost nothing.
    const differing = new Set<string>();
    for (const [userId, mine] of worker) {
      const theirs = inSql.get(userId);
      if (
        mine.email === null ||
        mine.email !== theirs?.email ||
        Object.entries(mine.fields).some(([field, hash]) => theirs?.fields[field] !== hash)
      ) {
        differing.add(userId);
      }
    }
    expect(differing.size).toBeGreaterThan(0);
    expect(await reReadWithHashesStored(source, worker)).toEqual([...differing].sort());

    // Changes the worker would send are read; new texts of the same values are not.
    await db.sql`update odd_users set first_name = 'plain ' where id = 1`;
    await db.sql`update odd_users set p_bool = false where id = 5`;
    await db.sql`update odd_users set email = ' PLAIN@example.com ' where id = 13`;
    await db.sql`update odd_users set p_numeric = 3.000 where id = 4`;
    expect(await membersReadAgain(source)).toEqual([...differing, '1', '5'].sort());
  });

  it('never takes a changed email for the old one, whatever the locale lowercases', async () => {
    // An ICU collation lowercases non-ASCII letters, some into ASCII (the Kelvin sign into k),
    // as a database created with a non-C locale does.
    const source = await createRelation('odd_users_icu', 'en-x-icu');
    const worker = await workerHashes(source);
    const inSql = await sqlHashes(source);
    const emailDifferences = (await differences(source, worker, inSql)).filter((entry) =>
      entry.startsWith('email='),
    );
    expect(emailDifferences).toEqual([]);
    expect(missedChanges(worker, inSql)).toEqual([]);
    // Valid only through a case mapping into ASCII: invalid, so it never stands for k...@.
    const [kelvin] = await db.sql<{ valid: boolean }[]>`
      select ${userFragments(db.sql, source).validEmail} as valid from odd_users_icu u
      where email = ${'k\u212aelvin@example.com'}`;
    expect(kelvin).toEqual({ valid: false });
  });

  it('normalises and validates emails in SQL exactly as the worker does, under every collation', async () => {
    const available = await db.sql<{ name: string }[]>`
      select collname as name from pg_collation
      where collname in ('C', 'default', 'en-x-icu', 'tr-x-icu') order by 1`;
    expect(available.map((row) => row.name)).toEqual(expect.arrayContaining(['C', 'en-x-icu']));
    const pattern = new RegExp(VALID_EMAIL_PATTERN);
    for (const { name } of available) {
      const relation = `emails_${name.replaceAll('-', '_').toLowerCase()}`;
      const source = await createRelation(relation, name === 'default' ? undefined : name);
      const f = userFragments(db.sql, source);
      const rows = await db.sql<{ email: string; normalised: string; valid: boolean }[]>`
        select u.email, ${f.emailKey} as normalised, ${f.validEmail} as valid
        from ${f.relation} u where u.email is not null order by u.id`;
      const worker = rows.map(({ email }) => ({
        email,
        normalised: normaliseEmail(email),
        valid: pattern.test(normaliseEmail(email)),
      }));
      expect({ collation: name, rows }).toEqual({ collation: name, rows: worker });
      expect(rows.filter((row) => row.valid && /[^\x20-\x7e]/.test(row.email))).toEqual([]);
    }
  });
});
