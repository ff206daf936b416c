import { createHash } from 'node:crypto';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { columnsNamingUsers, eraseUserRows, knownEmailHashes } from '../db/erasures.js';
import { type Migration, migrations } from '../db/migrations.js';
import { deleteExpiredRunData, perUserRunTables } from '../db/retention.js';
import { createSql, type Sql } from '../db/sql.js';
import { startEmbeddedPostgres, withDatabase } from '../dev/postgres.js';

/**
 * `npm run bench -- --history [--users N]`: work that grows with the service's history, measured
 * on tables of N rows each (default 1,000,000) in a local Postgres, before and after the
 * migration that indexes it (found by its name, so renumbering does not matter):
 * - an erasure's per-user work: the look-ups of a user's email hashes and contacts, and the
 *   deletes of its rows (before: the statements as they were, under the opt-outs feed's lock;
 *   after: `eraseUserRows`);
 * - a webhook's look-up of the accounts that know a contact (by id or email hash);
 * - a day of retention over N runs that ended over 400 days (before: every run that ended more
 *   than 30 days ago is visited again, timed for a while and extrapolated; after: the runs
 *   marked by the day before are skipped, `deleteExpiredRunData` timed whole);
 * - counting running runs under the run-start lock;
 * - what the indexes cost: a sync's writes of outcomes and email claims.
 * Figures are milliseconds; the plan's first scan node says how a statement reads its table.
 */

const INDEX_MIGRATION = 'indexes for work that grows with history';

interface Measurement {
  measurement: string;
  beforeMs: number;
  afterMs: number;
  before: string;
  after: string;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

const elapsed = async (work: () => Promise<unknown>): Promise<number> => {
  const started = performance.now();
  await work();
  return performance.now() - started;
};

const median = (values: number[]): number =>
  [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

async function applyMigrations(sql: Sql, which: Migration[]): Promise<void> {
  await sql`create schema if not exists audience_sync`;
  for (const migration of which) await sql.unsafe(migration.sql);
}

/** N rows in every table the measured statements read, shaped like a long-lived service's. */
async function seed(sql: Sql, rows: number): Promise<void> {
  const statements: [string, string][] = [
    [
      'runs',
      `insert into audience_sync.runs (run_id, platform, sync_type, trigger, filter_active,
         active_days, active_since, status, started_at, finished_at)
       select 'run-' || i, 'resend', 'all', 'api', false, 30, now(),
         case when i <= 10 then 'running' else 'completed' end,
         now() - make_interval(days => i % 400, hours => 1),
         case when i > 10 then now() - make_interval(days => i % 400) end
       from generate_series(1, $1) i`,
    ],
    [
      'run_users',
      `insert into audience_sync.run_users (run_id, user_id, outcome)
       select 'run-' || (1 + i % least(100000, $1)), 'u' || (i / 4), 'added' from generate_series(1, $1) i`,
    ],
    [
      'run_emails',
      `insert into audience_sync.run_emails (run_id, email_hash, user_id)
       select 'run-' || (1 + i % least(100000, $1)), md5('e' || i), 'u' || (i / 4)
       from generate_series(1, $1) i`,
    ],
    [
      'run_requested_users',
      `insert into audience_sync.run_requested_users (run_id, user_id)
       select 'run-' || (1 + i % least(100000, $1)), 'u' || (i / 4) from generate_series(1, $1) i`,
    ],
    [
      'run_leavers',
      `insert into audience_sync.run_leavers (run_id, user_id, unsubscribe)
       select 'run-' || (1 + i % least(100000, $1)), 'u' || (i / 4), false from generate_series(1, $1) i`,
    ],
    [
      'run_batches',
      `insert into audience_sync.run_batches (run_id, batch_no, cursor_after)
       select 'run-' || (1 + i % least(100000, $1)), i, 'u' || (i / 4) from generate_series(1, $1) i`,
    ],
    [
      'bulk_chunks',
      `insert into audience_sync.bulk_chunks (run_id, chunk_no, cursor_after, population_done,
         user_ids)
       select 'run-' || (1 + i % least(100000, $1)), i, 'u' || (i / 4), false,
         array['u' || (i / 4), 'u' || ((i + 1) / 4), 'u' || ((i + 2) / 4)]
       from generate_series(1, $1) i`,
    ],
    [
      'bulk_created',
      `insert into audience_sync.bulk_created (run_id, user_id)
       select 'run-' || (1 + i % least(100000, $1)), 'u' || (i / 4) from generate_series(1, $1) i`,
    ],
    [
      'list_members',
      `insert into audience_sync.list_members (platform, list_id, user_id, contact_id, email_hash)
       select 'resend', 'list-' || (i % 100), 'u' || (i / 4), 'c' || i, md5('e' || i)
       from generate_series(1, $1) i`,
    ],
    [
      'contact_fields',
      `insert into audience_sync.contact_fields (account, user_id, email_hash)
       select 'resend:' || (i % 4), 'u' || (i / 4), md5('e' || i) from generate_series(1, $1) i`,
    ],
    [
      'contact_directory',
      `insert into audience_sync.contact_directory (account, email_hash, contact_id)
       select 'resend:bench', md5('e' || i), 'c' || i from generate_series(1, $1) i`,
    ],
    [
      'platform_consent',
      `insert into audience_sync.platform_consent (platform, account, email_hash, contact_id,
         unsubscribed)
       select 'resend', 'resend:bench', md5('e' || i), 'c' || i, true
       from generate_series(1, $1) i`,
    ],
  ];
  for (const [table, statement] of statements) {
    const ms = await elapsed(() => sql.unsafe(statement, [rows]));
    log(`  ${table}: ${rows} rows in ${(ms / 1000).toFixed(1)} s`);
  }
  await sql`vacuum analyze`;
}

/** Execution time and first scan node of a statement, from EXPLAIN ANALYZE (median of 5). */
async function explain(
  sql: Sql,
  statement: string,
  parameters: (string | number)[],
): Promise<{ ms: number; plan: string }> {
  const times: number[] = [];
  let plan = '';
  for (let run = 0; run < 5; run += 1) {
    const [row] = await sql.unsafe<{ 'QUERY PLAN': unknown[] }[]>(
      `explain (analyze, format json) ${statement}`,
      parameters,
    );
    const plans = (row?.['QUERY PLAN'] ?? []) as { 'Execution Time': number; Plan: PlanNode }[];
    const root = plans[0];
    times.push(root?.['Execution Time'] ?? Number.NaN);
    plan = root ? scansOf(root.Plan).join(' + ') : '';
  }
  return { ms: median(times), plan };
}

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  Plans?: PlanNode[];
}

const scansOf = (node: PlanNode): string[] => [
  ...(node['Relation Name'] ? [`${node['Node Type']} on ${node['Relation Name']}`] : []),
  ...(node.Plans ?? []).flatMap(scansOf),
];

/** The statement of db/consent.ts that finds the accounts knowing a contact (a webhook's). */
const ACCOUNTS_OF_CONTACT = `
  select account from audience_sync.contact_directory
  where contact_id = $1 or email_hash = $2
  union
  select account from audience_sync.platform_consent
  where platform = 'resend' and account <> '' and (contact_id = $1 or email_hash = $2)
  order by 1`;

/** The run-start count of db/runs.ts reserveRun. */
const RUNNING_RUNS = `
  select count(*)::int as running from audience_sync.runs where status = 'running' and not dry_run`;

/** An erasure's per-user deletes as they were: by `user_id::text`, under the feed's lock. */
async function wipeAsBefore(sql: Sql, userId: string): Promise<void> {
  const columns = await columnsNamingUsers(sql);
  await sql.begin(async (tx) => {
    await tx`select pg_advisory_xact_lock(hashtext('audience_sync.opt_out_seq'))`;
    for (const table of columns.userIdTables) {
      await tx`delete from ${tx(`audience_sync.${table}`)} where user_id::text = ${userId}`;
    }
    for (const { table, column } of columns.userIdLists) {
      await tx`
        update ${tx(`audience_sync.${table}`)}
        set ${tx(column)} = array_remove(${tx(column)}, ${userId}::text)
        where ${userId}::text = any(${tx(column)})`;
    }
    for (const { table, column } of columns.cursors) {
      await tx`
        update ${tx(`audience_sync.${table}`)} as t set ${tx(column)} = null
        where t.${tx(column)} = ${userId} and not exists (
          select 1 from audience_sync.runs r where r.run_id = t.run_id and r.status = 'running')`;
    }
  });
}

/** The same through today's `eraseUserRows` (one pending id of an erasure each). */
async function wipeAsNow(sql: Sql, userId: string): Promise<void> {
  await sql`
    insert into audience_sync.erasures (erasure_id, trigger, requested)
    values ('bench', 'api', 0) on conflict do nothing`;
  await sql`
    insert into audience_sync.erasure_users (erasure_id, position, user_id)
    values ('bench', 0, ${userId})`;
  const columns = await columnsNamingUsers(sql);
  await eraseUserRows(sql, 'bench', columns, userId, {
    userId,
    contactsDeleted: 0,
    failed: false,
  });
}

/** An erasure's look-ups of a user: its email hashes, its contacts in the ledger. */
async function lookUpUser(sql: Sql, userId: string): Promise<void> {
  await knownEmailHashes(sql, [userId]);
  await sql`
    select contact_id from audience_sync.list_members
    where platform = 'resend' and user_id = any(${[userId]}::text[]) and contact_id is not null`;
}

/**
 * What the indexes cost a sync's writes: 100,000 outcomes and email claims of a new run, rolled
 * back so each try writes into the same tables (median of 3). One statement per table, so the
 * time is the tables' and indexes' work, not round trips.
 */
async function recordOutcomes(sql: Sql, run: string): Promise<number> {
  const times: number[] = [];
  for (let attempt = 0; attempt < 3; attempt += 1) {
    const started = performance.now();
    await sql
      .begin(async (tx) => {
        await tx`
          insert into audience_sync.runs (run_id, platform, sync_type, trigger, filter_active,
            active_days, active_since)
          values (${run}, 'resend', 'all', 'api', false, 30, now())`;
        await tx`
          insert into audience_sync.run_users (run_id, user_id, outcome)
          select ${run}, 'w' || i, 'added' from generate_series(1, 100000) i`;
        await tx`
          insert into audience_sync.run_emails (run_id, email_hash, user_id)
          select ${run}, md5('w' || i), 'w' || i from generate_series(1, 100000) i`;
        times.push(performance.now() - started);
        throw new RolledBack();
      })
      .catch((error: unknown) => {
        if (!(error instanceof RolledBack)) throw error;
      });
  }
  return median(times);
}

class RolledBack extends Error {}

/** The median over these users, one after the other. */
async function timedUsers(users: string[], work: (userId: string) => Promise<void>) {
  const times: number[] = [];
  for (const user of users) times.push(await elapsed(() => work(user)));
  return median(times);
}

/** The runs retention visits in a day, as it did: every run that ended over 30 days ago. */
async function retentionAsBefore(
  sql: Sql,
  budgetMs: number,
): Promise<{ ms: number; runs: number }> {
  const tables = await perUserRunTables(sql);
  const started = performance.now();
  const due = await sql<{ runId: string }[]>`
    select run_id as "runId" from audience_sync.runs
    where status <> 'running' and finished_at < now() - interval '30 days' order by finished_at`;
  let visited = 0;
  for (const { runId } of due) {
    await sql.begin(async (tx) => {
      for (const table of tables) {
        await tx`delete from ${tx(`audience_sync.${table}`)} where run_id = ${runId}`;
      }
    });
    visited += 1;
    if (performance.now() - started > budgetMs) break;
  }
  const spent = performance.now() - started;
  // Extrapolated from the runs visited within the budget to all the runs due.
  return { ms: (spent / visited) * due.length, runs: due.length };
}

export async function benchHistory(options: { rows: number; json: boolean }): Promise<void> {
  const indexMigration = migrations.find((m) => m.name.startsWith(INDEX_MIGRATION));
  if (!indexMigration) throw new Error(`no migration named "${INDEX_MIGRATION}…"`);
  const dataDir = path.resolve('.data', 'bench', `history-${process.pid}`);
  const postgres = await startEmbeddedPostgres({
    dataDir,
    port: 58_000 + (process.pid % 1000),
    persistent: false,
  });
  const admin = createSql(postgres.url, { max: 1 });
  const sql = createSql(withDatabase(postgres.url, 'history'), { max: 4 });
  try {
    await admin`create database history`;
    await applyMigrations(
      sql,
      migrations.filter((m) => m.version < indexMigration.version),
    );
    log(`seeding ${options.rows} rows per table`);
    await seed(sql, options.rows);
    const results = await measureAround(sql, indexMigration, options.rows);
    if (options.json) {
      for (const result of results) process.stdout.write(`${JSON.stringify(result)}\n`);
    } else console.table(results);
  } finally {
    await sql.end();
    await admin.end();
    await postgres.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function measureAround(
  sql: Sql,
  indexMigration: Migration,
  rows: number,
): Promise<Measurement[]> {
  // Users in the middle of the id range, distinct for each side (each side deletes its own).
  const usersBefore = ['u100001', 'u100002', 'u100003'];
  const usersAfter = ['u200001', 'u200002', 'u200003'];
  const contact = ['c500000', md5Of(500_000)] as const;
  log('measuring before the indexes');
  const before = {
    lookUp: await timedUsers(usersBefore, (user) => lookUpUser(sql, user)),
    wipe: await timedUsers(usersBefore, (user) => wipeAsBefore(sql, user)),
    webhook: await explain(sql, ACCOUNTS_OF_CONTACT, [...contact]),
    running: await explain(sql, RUNNING_RUNS, []),
    writes: await recordOutcomes(sql, 'bench-writes-before'),
    retention: await retentionAsBefore(sql, 20_000),
  };
  log('applying the index migration');
  const migrating = await elapsed(() => sql.unsafe(indexMigration.sql));
  log(`  took ${(migrating / 1000).toFixed(1)} s`);
  await sql`vacuum analyze`;
  // Yesterday's pass marked every run due then: today finds the runs that ended since.
  await sql`
    update audience_sync.runs set per_user_rows_deleted_at = now() - interval '1 day'
    where status <> 'running' and finished_at < now() - interval '31 days'`;
  log('measuring after');
  const after = {
    lookUp: await timedUsers(usersAfter, (user) => lookUpUser(sql, user)),
    wipe: await timedUsers(usersAfter, (user) => wipeAsNow(sql, user)),
    webhook: await explain(sql, ACCOUNTS_OF_CONTACT, [...contact]),
    running: await explain(sql, RUNNING_RUNS, []),
    writes: await recordOutcomes(sql, 'bench-writes-after'),
  };
  const [due] = await sql<{ runs: number }[]>`
    select count(*)::int as runs from audience_sync.runs
    where status <> 'running' and finished_at < now() - interval '30 days'
      and per_user_rows_deleted_at is null`;
  const retentionMs = await elapsed(() => deleteExpiredRunData(sql, 30));
  return [
    {
      measurement: `erasure: look up one user's hashes and contacts (${rows} rows a table)`,
      beforeMs: before.lookUp,
      afterMs: after.lookUp,
      before: 'run_emails and list_members scanned',
      after: 'by user_id indexes',
    },
    {
      measurement: "erasure: delete one user's rows",
      beforeMs: before.wipe,
      afterMs: after.wipe,
      before: 'one scan per table, under the opt-outs feed lock',
      after: 'by index, without the feed lock',
    },
    {
      measurement: 'webhook: accounts that know a contact',
      beforeMs: before.webhook.ms,
      afterMs: after.webhook.ms,
      before: before.webhook.plan,
      after: after.webhook.plan,
    },
    {
      measurement: 'run start: count running runs (under the lock)',
      beforeMs: before.running.ms,
      afterMs: after.running.ms,
      before: before.running.plan,
      after: after.running.plan,
    },
    {
      measurement: 'sync: write 100,000 outcomes and email claims',
      beforeMs: before.writes,
      afterMs: after.writes,
      before: 'primary keys only',
      after: 'and the user_id indexes',
    },
    {
      measurement: `retention: a day's pass over ${rows} runs`,
      beforeMs: before.retention.ms,
      afterMs: retentionMs,
      before: `${before.retention.runs} runs visited (extrapolated)`,
      after: `${due?.runs ?? 0} runs visited: those that ended since the day before`,
    },
  ].map((row) => ({
    ...row,
    beforeMs: Math.round(row.beforeMs * 100) / 100,
    afterMs: Math.round(row.afterMs * 100) / 100,
  }));
}

const md5Of = (i: number): string =>
  // md5('e' || i), as seeded: the directory row of contact c<i>.
  createHash('md5').update(`e${i}`).digest('hex');
