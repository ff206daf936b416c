import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { createPreviewActivities } from '../activities/preview.js';
import { keepPreviewCount } from '../activities/preview-counts.js';
import { inspectUsersSource } from '../activities/users-source.js';
import { startApiServer } from '../api/server.js';
import { runHistories } from '../client/histories.js';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes.js';
import { apiConfigSchema, parseConfig, workerConfigSchema } from '../config/env.js';
import { seedDemoUsers } from '../db/demo-users.js';
import { migrate } from '../db/migrate.js';
import { createSql, type Sql } from '../db/sql.js';
import { startEmbeddedPostgres, withDatabase } from '../dev/postgres.js';
import { startTemporalDevServer } from '../dev/temporal.js';
import { spawnWorkerProcess } from '../dev/worker-process.js';
import { createLogger } from '../telemetry/logger.js';

/**
 * `npm run bench -- --users N --rate R [--json] [--preview] [--profile DIR] [--bulk]`
 *
 * Seeds N users, then syncs them into a new audience through the real stack (API, Temporal, a
 * worker process, Postgres) against the Resend emulator limited to R requests per second, and,
 * in the same run against the same emulator, the naive baselines. One row per system.
 * `--profile DIR` writes the worker's CPU profile to DIR and shows Postgres's statement times.
 * `--preview` times previews on N demo users instead: answering with the kept count and counting
 * exactly, with and without the recommended index, and what keeping the count costs.
 * `--bulk` (default 100,000 users at 10/s) syncs with RESEND_BULK=auto (Contact Imports), beside
 * the per-contact path's ideal (N / R seconds, N requests) and the sequential naive baseline.
 */

interface Row {
  system:
    | 'audience-sync'
    | 'audience-sync-bulk'
    | 'per-contact-ideal'
    | 'naive-sequential'
    | 'naive-parallel';
  users: number;
  rateLimit: number;
  wallSeconds: number;
  idealSeconds: number;
  efficiency: number;
  http429: number;
  /** Requests the emulator answered (every kind, 429s included). */
  requests: number;
  lost: number;
  duplicates: number;
  peakRssMb: number | null;
  historyEvents: number | null;
}

const { values } = parseArgs({
  options: {
    users: { type: 'string' },
    rate: { type: 'string' },
    json: { type: 'boolean', default: false },
    preview: { type: 'boolean', default: false },
    /** A folder: the worker's CPU profile goes there, and Postgres's statement times are shown. */
    profile: { type: 'string' },
    bulk: { type: 'boolean', default: false },
    'no-baselines': { type: 'boolean', default: false },
  },
});
const USERS = Number(values.users ?? (values.bulk ? 100_000 : 2000));
const RATE = Number(values.rate ?? (values.bulk ? 10 : 50));
const API_SECRET = 'bench-secret-that-is-at-least-32-characters';
const RESEND_KEY = 're_bench_audience_sync_key';

const log = (line: string) => {
  if (!values.json) process.stderr.write(`${line}\n`);
};

/** The standalone emulator, in its own process like the remote service it stands for. */
async function startEmulatorProcess(rate: number): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'emulator/resend/main.ts',
      ...['--port', '0', '--rate-limit', String(rate)],
      // Every request of the largest system must stay in the log the audit reads.
      ...['--request-log-limit', String(USERS * 3 + 10_000)],
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const url = await new Promise<string>((resolve, reject) => {
    let output = '';
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = /listening on (http:\/\/\S+)/.exec(output);
      if (match?.[1]) resolve(match[1]);
    });
    child.once('exit', (code) => reject(new Error(`the emulator exited with ${code}`)));
  });
  return { url, child };
}

async function admin<T>(emulatorUrl: string, pathAndQuery: string, method = 'GET'): Promise<T> {
  const response = await fetch(`${emulatorUrl}/_emulator${pathAndQuery}`, { method });
  return (await response.json()) as T;
}

/** Every page of an admin listing (the admin API answers at most 100,000 items at a time). */
async function adminAll<T>(emulatorUrl: string, path: string, cursor: 'offset' | 'since_seq') {
  const items: T[] = [];
  for (;;) {
    const position =
      cursor === 'offset'
        ? items.length
        : ((items.at(-1) as { seq?: number } | undefined)?.seq ?? 0);
    const page = await admin<{ data: T[] }>(
      emulatorUrl,
      `${path}${path.includes('?') ? '&' : '?'}limit=100000&${cursor}=${position}`,
    );
    items.push(...page.data);
    if (page.data.length < 100_000) return items;
  }
}

/** What the emulator holds for the users: how many never arrived, how many arrived twice. */
async function audit(emulatorUrl: string, segmentId: string, emails: Set<string>) {
  const members = await adminAll<{ email: string }>(
    emulatorUrl,
    `/contacts?segment_id=${segmentId}`,
    'offset',
  );
  const all = await adminAll<{ email: string }>(emulatorUrl, '/contacts', 'offset');
  const requests = await adminAll<{ outcome: string }>(emulatorUrl, '/requests', 'since_seq');
  const stats = await admin<{ requests: number }>(emulatorUrl, '/stats');
  const memberEmails = members.map((contact) => contact.email.toLowerCase());
  const uniqueMembers = new Set(memberEmails);
  const uniqueContacts = new Set(all.map((contact) => contact.email.toLowerCase()));
  return {
    lost: [...emails].filter((email) => !uniqueMembers.has(email)).length,
    duplicates: memberEmails.length - uniqueMembers.size + (all.length - uniqueContacts.size),
    http429: requests.filter((entry) => entry.outcome.endsWith('rate_limited')).length,
    requests: stats.requests,
  };
}

const row = (
  system: Row['system'],
  wallSeconds: number,
  found: Awaited<ReturnType<typeof audit>>,
  peakRssMb: number | null,
  historyEvents: number | null,
): Row => {
  const idealSeconds = USERS / RATE;
  return {
    system,
    users: USERS,
    rateLimit: RATE,
    wallSeconds: round(wallSeconds),
    idealSeconds: round(idealSeconds),
    efficiency: round(idealSeconds / wallSeconds, 3),
    ...found,
    peakRssMb: peakRssMb === null ? null : round(peakRssMb, 1),
    historyEvents,
  };
};

const round = (value: number, digits = 2) => Number(value.toFixed(digits));

async function waitUntil(condition: () => boolean, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('the worker did not start');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

async function benchAudienceSync(ctx: BenchContext): Promise<Row> {
  const workerConfig = parseConfig(workerConfigSchema, {
    DATABASE_URL: ctx.databaseUrl,
    RESEND_API_KEY: RESEND_KEY,
    RESEND_BASE_URL: ctx.emulatorUrl,
    TEMPORAL_ADDRESS: ctx.temporalAddress,
    TEMPORAL_TASK_QUEUE: 'bench',
    LOG_LEVEL: 'info',
    // The per-contact path, which the rate-limit targets are about, unless --bulk.
    RESEND_BULK: values.bulk ? 'auto' : 'off',
  });
  // The compiled worker, as deployed: its memory is what operators will see.
  const profileDir = values.profile ? path.resolve(values.profile) : undefined;
  const worker = spawnWorkerProcess(
    workerConfig,
    'build',
    profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`] : [],
  );
  // The clock starts once the worker polls, as it would in a deployment that is already up.
  await waitUntil(() => worker.output().includes('"msg":"worker started"'), 60_000);
  const apiConfig = parseConfig(apiConfigSchema, {
    MARKETING_API_SECRET: API_SECRET,
    DATABASE_URL: ctx.databaseUrl,
    TEMPORAL_ADDRESS: ctx.temporalAddress,
    TEMPORAL_TASK_QUEUE: 'bench',
    PORT: '0',
    LOG_LEVEL: 'silent',
  });
  const api = await startApiServer({
    config: apiConfig,
    sql: ctx.sql,
    temporal: ctx.client,
    logger: createLogger('silent'),
  });
  try {
    if (profileDir) await ctx.sql`select pg_stat_statements_reset()`;
    const started = performance.now();
    const response = await fetch(`${api.url}/api/marketing/sync-users`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${API_SECRET}`,
        'content-type': 'application/json',
        prefer: 'respond-async',
      },
      body: JSON.stringify({ audienceName: 'bench' }),
    });
    const { runId } = (await response.json()) as { runId: string };
    const result = await ctx.client.workflow.getHandle(runId).result();
    const wallSeconds = (performance.now() - started) / 1000;
    const peakRssMb = worker.peakRssMb() ?? null;
    const histories = await runHistories(ctx.client, runId);
    const historyEvents = histories.reduce(
      (sum, history) => sum + (history.events?.length ?? 0),
      0,
    );
    const found = await audit(ctx.emulatorUrl, result.listId ?? '', ctx.emails);
    if (profileDir) await showStatementTimes(ctx.sql, wallSeconds);
    return row(
      values.bulk ? 'audience-sync-bulk' : 'audience-sync',
      wallSeconds,
      found,
      peakRssMb,
      historyEvents,
    );
  } finally {
    await api.close();
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
}

/** The statements of the run that took the database's time, most first. */
async function showStatementTimes(sql: Sql, wallSeconds: number): Promise<void> {
  const statements = await sql<
    { query: string; calls: string; totalMs: number; meanMs: number; share: number }[]
  >`
    select regexp_replace(left(query, 110), '[[:space:]]+', ' ', 'g') as query, calls,
      round(total_exec_time::numeric, 1)::float8 as "totalMs",
      round(mean_exec_time::numeric, 3)::float8 as "meanMs",
      round((total_exec_time / 1000 / ${wallSeconds})::numeric, 3)::float8 as share
    from pg_stat_statements
    where dbid = (select oid from pg_database where datname = current_database())
    order by total_exec_time desc limit 15`;
  log('Postgres statements during the run (share: of the wall time, summed over connections)');
  for (const statement of statements) log(formatRecord({ ...statement }));
}

async function benchNaive(ctx: BenchContext, mode: 'sequential' | 'parallel'): Promise<Row> {
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      'bench/naive.ts',
      '--mode',
      mode,
      '--database',
      ctx.databaseUrl,
      '--resend',
      ctx.emulatorUrl,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await new Promise((resolve) => child.once('exit', resolve));
  const result = JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as {
    wallSeconds: number;
    peakRssMb: number;
    segmentId: string;
  };
  const found = await audit(ctx.emulatorUrl, result.segmentId, ctx.emails);
  return row(`naive-${mode}`, result.wallSeconds, found, result.peakRssMb, null);
}

interface BenchContext {
  sql: Sql;
  databaseUrl: string;
  temporalAddress: string;
  emulatorUrl: string;
  client: Client;
  emails: Set<string>;
}

/** Filters a preview accepts, from the narrowest window to all users. */
const PREVIEW_FILTERS = [
  { filterActive: true, activeDays: 1 },
  { filterActive: true, activeDays: 7 },
  { filterActive: true, activeDays: 30 },
  { filterActive: true, activeDays: 365 },
  { filterActive: true, activeDays: 3650 },
  { filterActive: false, activeDays: 30 },
];

const percentile = (samples: number[], q: number) => {
  const sorted = [...samples].sort((a, b) => a - b);
  return round(sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? 0, 1);
};

const emit = (line: Record<string, unknown>) =>
  process.stdout.write(values.json ? `${JSON.stringify(line)}\n` : `${formatRecord(line)}\n`);

/**
 * Previews on the same users, side by side: answering with the kept count (what the API does for
 * a relation this large) and counting exactly, with the recommended index and without it; and
 * what keeping the count costs: the duration of one count, as the keeper runs it.
 */
async function benchPreview(sql: Sql): Promise<void> {
  const source = await inspectUsersSource(sql, 'users');
  const kept = createPreviewActivities({ sql, usersSource: 'users', exactMaxUsers: 10_000 });
  const exact = createPreviewActivities({ sql, usersSource: 'users' });
  const keepCount = async (label: string, times: number) => {
    const durations: number[] = [];
    for (let i = 0; i < times; i += 1) {
      const started = performance.now();
      const count = await keepPreviewCount(sql, source, 0);
      durations.push(performance.now() - started);
      if (i === times - 1 && count) {
        emit({
          system: `keeping the count ${label}`,
          users: USERS,
          refreshes: times,
          p50Ms: percentile(durations, 0.5),
          maxMs: percentile(durations, 1),
          eligibleUsers: count.eligibleUsers,
          allEmails: count.allEmails,
        });
      }
    }
  };
  const time = async (label: string, preview: typeof kept, calls: number) => {
    for (const filter of PREVIEW_FILTERS) {
      const samples: number[] = [];
      let answer: Awaited<ReturnType<typeof kept.previewUsers>> | undefined;
      for (let i = 0; i < calls; i += 1) {
        const started = performance.now();
        answer = await preview.previewUsers(filter);
        samples.push(performance.now() - started);
      }
      emit({
        system: `preview ${label}`,
        users: USERS,
        ...filter,
        count: answer?.count,
        p50Ms: percentile(samples, 0.5),
        p95Ms: percentile(samples, 0.95),
      });
    }
  };
  await keepCount('with the recommended index', 5);
  await time('kept count, with the recommended index', kept, 100);
  await time('exact count, with the recommended index', exact, 10);
  await sql`drop index users_eligible_by_activity`;
  await sql`analyze users`;
  await keepCount('without the index', 3);
  await time('kept count, without the index', kept, 100);
  await time('exact count, without the index', exact, 3);
}

const formatRecord = (record: Record<string, unknown>) =>
  Object.entries(record)
    .map(([key, value]) => `${key}=${value}`)
    .join('  ');

async function main(): Promise<void> {
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  const dataDir = path.resolve('.data', 'bench', `run-${process.pid}`);
  await mkdir(dataDir, { recursive: true });
  log(`starting Postgres, Temporal and the Resend emulator (${RATE} requests/s)`);
  // Whatever has started is stopped, newest first, however the benchmark ends.
  const stops: (() => Promise<unknown> | unknown)[] = [];
  try {
    const postgres = await startEmbeddedPostgres({
      dataDir: path.join(dataDir, 'postgres'),
      port: 57_000 + (process.pid % 1000),
      persistent: false,
      ...(values.profile
        ? {
            settings: {
              shared_preload_libraries: 'pg_stat_statements',
              'pg_stat_statements.track': 'all',
            },
          }
        : {}),
    });
    stops.push(() => postgres.stop());
    // Without a Temporal CLI this installs the pinned one (saying so), or fails with one message.
    const temporal = await startTemporalDevServer({ searchAttributes: SEARCH_ATTRIBUTES });
    stops.push(() => temporal.stop());
    const emulator = await startEmulatorProcess(RATE);
    stops.push(() => emulator.child.kill('SIGTERM'));
    log('building (npm run build)');
    execFileSync('npm', ['run', 'build'], { stdio: ['ignore', 'ignore', 'inherit'] });
    const adminSql = createSql(postgres.url, { max: 1 });
    await adminSql`create database bench`;
    await adminSql.end();
    const databaseUrl = withDatabase(postgres.url, 'bench');
    const sql = createSql(databaseUrl, { max: 10 });
    stops.push(() => sql.end());
    const client = new Client({
      connection: await Connection.connect({ address: temporal.address }),
    });
    stops.push(() => client.connection.close());
    await migrate(sql);
    if (values.profile) await sql`create extension if not exists pg_stat_statements`;
    log(`seeding ${USERS} users`);
    await seedDemoUsers(sql, { count: USERS, mix: values.preview ? 'demo' : 'eligible' });
    if (values.preview) {
      await benchPreview(sql);
      return;
    }
    const emails = new Set(
      (await sql<{ email: string }[]>`select lower(email) as email from users`).map(
        (user) => user.email,
      ),
    );
    const ctx: BenchContext = {
      sql,
      databaseUrl,
      temporalAddress: temporal.address,
      emulatorUrl: emulator.url,
      client,
      emails,
    };
    const rows: Row[] = [];
    log('audience-sync …');
    rows.push(await benchAudienceSync(ctx));
    if (values.bulk) {
      // The per-contact path at its physical limit: one request per user at R per second.
      rows.push(
        row(
          'per-contact-ideal',
          USERS / RATE,
          { lost: 0, duplicates: 0, http429: 0, requests: USERS },
          null,
          null,
        ),
      );
    }
    if (!values['no-baselines']) {
      // Promise.all over 100,000 users needs gigabytes (1.2 GB at 20,000): not run in bulk mode.
      const modes = values.bulk ? (['sequential'] as const) : (['sequential', 'parallel'] as const);
      for (const mode of modes) {
        await admin(emulator.url, '/reset', 'POST');
        log(`naive-${mode} …`);
        rows.push(await benchNaive(ctx, mode));
      }
    }
    if (values.json) {
      for (const result of rows) process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      console.table(rows);
    }
  } finally {
    for (const stop of stops.reverse()) await stop();
    await rm(dataDir, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(
    `${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
  );
  process.exit(1);
});
