import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Client, Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { PLATFORM_MIGRATIONS } from '../activities/platforms/registry.js';
import { startApiServer } from '../api/server.js';
import { runHistories } from '../client/histories.js';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes.js';
import type { SyncRunResult } from '../common/sync.js';
import { apiConfigSchema, parseConfig, workerConfigSchema } from '../config/env.js';
import { seedDemoUsers } from '../db/demo-users.js';
import { migrate } from '../db/migrate.js';
import { createPreviewActivities } from '../db/preview.js';
import { keepPreviewCount } from '../db/preview-count-keeper.js';
import { createSql, type Sql } from '../db/sql.js';
import { inspectUsersSource } from '../db/users-source.js';
import { startEmbeddedPostgres, withDatabase } from '../dev/postgres.js';
import { startTemporalDevServer } from '../dev/temporal.js';
import { spawnWorkerProcess } from '../dev/worker-process.js';
import { createLogger } from '../telemetry/logger.js';
import { benchHistory } from './history.js';
import type { NaiveMode } from './naive.js';

/**
 * `npm run bench -- --users N --rate R [--json] [--preview] [--profile DIR] [--bulk] [--mirror]`
 *
 * Seeds N users, then syncs them into a new audience through the real stack (API, Temporal, a
 * worker process, Postgres) against the Resend emulator limited to R requests per second, and,
 * in the same run against the same emulator, the naive baselines. One row per system.
 * `--profile DIR` writes the worker's CPU profile to DIR and shows Postgres's statement times.
 * `--preview` times previews on N demo users instead: answering with the kept count and counting
 * exactly, with and without the recommended index, and what keeping the count costs.
 * `--bulk` (default 100,000 users at 10/s) syncs with RESEND_BULK=auto (Contact Imports), beside
 * the per-contact path's ideal (N / R seconds, N requests) and the sequential naive baseline.
 * `--mirror` (default 10,000 users at 10/s) syncs N users into a fixed list, makes 10% inactive
 * and renames another 10%, then times a mirror run keeping the list in step, beside a naive
 * re-sync of everything (run, and modelled at the rate limit). See benchMirror.
 * `--history` (default 1,000,000 rows a table) measures work that grows with the service's history
 * before and after its indexes, in Postgres only: see bench/history.ts.
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
    mirror: { type: 'boolean', default: false },
    history: { type: 'boolean', default: false },
    'no-baselines': { type: 'boolean', default: false },
  },
});
const USERS = Number(values.users ?? (values.bulk ? 100_000 : values.mirror ? 10_000 : 2000));
const RATE = Number(values.rate ?? (values.bulk || values.mirror ? 10 : 50));
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

async function admin<T>(
  emulatorUrl: string,
  pathAndQuery: string,
  method = 'GET',
  body?: unknown,
): Promise<T> {
  const response = await fetch(`${emulatorUrl}/_emulator${pathAndQuery}`, {
    method,
    ...(body === undefined
      ? {}
      : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
  if (!response.ok) {
    throw new Error(
      `emulator ${method} ${pathAndQuery}: ${response.status} ${await response.text()}`,
    );
  }
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

interface RunningService {
  apiUrl: string;
  worker: ReturnType<typeof spawnWorkerProcess>;
}

/** A worker process and an API in front of it for the span of `use`, then both stopped. */
async function withService<T>(
  ctx: BenchContext,
  use: (service: RunningService) => Promise<T>,
): Promise<T> {
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
    return await use({ apiUrl: api.url, worker });
  } finally {
    await api.close();
    worker.child.kill('SIGTERM');
    await worker.exited;
  }
}

/** Starts a run through the API (answering at once) and waits for the run's result. */
async function runThroughApi(
  ctx: BenchContext,
  apiUrl: string,
  route: string,
  body: Record<string, unknown>,
): Promise<{ runId: string; result: SyncRunResult }> {
  const response = await fetch(`${apiUrl}${route}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${API_SECRET}`,
      'content-type': 'application/json',
      prefer: 'respond-async',
    },
    body: JSON.stringify(body),
  });
  const answer = (await response.json()) as { runId?: string };
  if (!answer.runId) throw new Error(`${route} answered ${response.status} without a run id`);
  const result: SyncRunResult = await ctx.client.workflow.getHandle(answer.runId).result();
  return { runId: answer.runId, result };
}

/** History events of every execution of a run. */
async function historyEventsOf(ctx: BenchContext, runId: string): Promise<number> {
  const histories = await runHistories(ctx.client, runId);
  return histories.reduce((sum, history) => sum + (history.events?.length ?? 0), 0);
}

/**
 * Where a run's wall time went, from the emulator's request log: before its first request (the
 * API, the run's start), before its first contact write (the segment, the directory, the first
 * batch), between the first and the last contact write
 * (at the limit, `writes / R`), and after the last one (the last outcomes, the run's end).
 */
async function showTimeline(emulatorUrl: string, startedAt: number, endedAt: number) {
  const requests = await adminAll<{ at: string; method: string; path: string }>(
    emulatorUrl,
    '/requests',
    'since_seq',
  );
  const writes = requests
    .filter((entry) => entry.method === 'POST' && entry.path.startsWith('/contacts'))
    .map((entry) => Date.parse(entry.at));
  const first = writes[0];
  const last = writes.at(-1);
  if (first === undefined || last === undefined) return;
  log(
    formatRecord({
      timeline: 'audience-sync',
      beforeFirstRequestSeconds: round((Date.parse(requests[0]?.at ?? '') - startedAt) / 1000),
      beforeFirstWriteSeconds: round((first - startedAt) / 1000),
      writingSeconds: round((last - first) / 1000),
      contactWrites: writes.length,
      atTheLimitSeconds: round(writes.length / RATE),
      afterLastWriteSeconds: round((endedAt - last) / 1000),
    }),
  );
}

async function benchAudienceSync(ctx: BenchContext): Promise<Row> {
  return withService(ctx, async ({ apiUrl, worker }) => {
    const profileDir = values.profile;
    if (profileDir) await ctx.sql`select pg_stat_statements_reset()`;
    const started = performance.now();
    const startedAt = Date.now();
    const { runId, result } = await runThroughApi(ctx, apiUrl, '/api/marketing/sync-users', {
      audienceName: 'bench',
    });
    const wallSeconds = (performance.now() - started) / 1000;
    if (!values.bulk) await showTimeline(ctx.emulatorUrl, startedAt, Date.now());
    const peakRssMb = worker.peakRssMb() ?? null;
    const historyEvents = await historyEventsOf(ctx, runId);
    const found = await audit(ctx.emulatorUrl, result.listId ?? '', ctx.emails);
    if (profileDir) await showStatementTimes(ctx.sql, wallSeconds);
    return row(
      values.bulk ? 'audience-sync-bulk' : 'audience-sync',
      wallSeconds,
      found,
      peakRssMb,
      historyEvents,
    );
  });
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

interface NaiveResult {
  wallSeconds: number;
  peakRssMb: number;
  segmentId: string;
}

/** bench/naive.ts in a process of its own, as a separate cron job would be. */
async function runNaive(
  ctx: BenchContext,
  mode: NaiveMode,
  extraArgs: string[] = [],
): Promise<NaiveResult> {
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
      ...extraArgs,
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  await new Promise((resolve) => child.once('exit', resolve));
  return JSON.parse(output.trim().split('\n').at(-1) ?? '{}') as NaiveResult;
}

async function benchNaive(ctx: BenchContext, mode: 'sequential' | 'parallel'): Promise<Row> {
  const result = await runNaive(ctx, mode);
  const found = await audit(ctx.emulatorUrl, result.segmentId, ctx.emails);
  return row(`naive-${mode}`, result.wallSeconds, found, result.peakRssMb, null);
}

/** The mirror scenario's population: what both systems keep the list equal to. */
const MIRROR_FILTERS = { filterActive: true, activeDays: 30 };
/**
 * The first sync is set-up, not what is measured: the emulator allows this rate meanwhile so that
 * it takes a minute or two instead of N / R (1,000 s for 10,000 users at 10/s).
 */
const FIRST_SYNC_RATE = 300;

interface MirrorRow {
  system: 'audience-sync-mirror' | 'naive-resync-sequential' | 'naive-resync-at-limit';
  users: number;
  /** Users who left the population or were renamed since the first sync. */
  changed: number;
  rateLimit: number;
  wallSeconds: number;
  /** changed / rateLimit: one request per changed user, nothing else. */
  idealSeconds: number;
  efficiency: number;
  /** Requests the emulator answered during the run (every kind, 429s included). */
  requests: number;
  http429: number;
  /** Users whose contact is not as the app says: missing, still in the list, or with old names. */
  wrong: number;
  peakRssMb: number | null;
  historyEvents: number | null;
}

interface AppUser {
  email: string;
  firstName: string | null;
  lastName: string | null;
  /** In the mirror population (a sendable user active in the last 30 days). */
  inPopulation: boolean;
}

const appUsers = (sql: Sql) => sql<AppUser[]>`
  select lower(email) as email, first_name as "firstName", last_name as "lastName",
    last_active_at >= now() - interval '30 days' and deleted_at is null
      and not marketing_opt_out as "inPopulation"
  from users order by id`;

/** How many users' list membership or names differ from what the app says. */
async function wrongUsers(emulatorUrl: string, segmentId: string, users: AppUser[]) {
  const members = new Map(
    (
      await adminAll<{ email: string; first_name: string | null; last_name: string | null }>(
        emulatorUrl,
        `/contacts?segment_id=${segmentId}`,
        'offset',
      )
    ).map((contact) => [contact.email.toLowerCase(), contact]),
  );
  const known = new Set(users.map((user) => user.email));
  const strangers = [...members.keys()].filter((email) => !known.has(email)).length;
  return users.reduce((wrong, user) => {
    const member = members.get(user.email);
    if (!user.inPopulation) return wrong + (member ? 1 : 0);
    const right = member?.first_name === user.firstName && member?.last_name === user.lastName;
    return wrong + (right ? 0 : 1);
  }, strangers);
}

interface LoggedRequest {
  seq: number;
  method: string;
  path: string;
  outcome: string;
}

async function requestsSince(emulatorUrl: string, seq: number): Promise<LoggedRequest[]> {
  const entries: LoggedRequest[] = [];
  for (;;) {
    const since = entries.at(-1)?.seq ?? seq;
    const page = await admin<{ data: LoggedRequest[] }>(
      emulatorUrl,
      `/requests?limit=100000&since_seq=${since}`,
    );
    entries.push(...page.data);
    if (page.data.length < 100_000) return entries;
  }
}

/** `PATCH /contacts/:id`: the route, without the ids and emails in its path. */
const requestKind = ({ method, path: route }: LoggedRequest) =>
  `${method} ${route
    .split('/')
    .map((part, index, parts) =>
      ['contacts', 'segments', 'audiences', 'imports'].includes(parts[index - 1] ?? '')
        ? ':id'
        : part,
    )
    .join('/')}`;

const countByKind = (entries: LoggedRequest[]) => {
  const kinds: Record<string, number> = {};
  for (const entry of entries) {
    const kind = entry.outcome.endsWith('rate_limited')
      ? `${requestKind(entry)} (429)`
      : requestKind(entry);
    kinds[kind] = (kinds[kind] ?? 0) + 1;
  }
  return kinds;
};

const mirrorRow = (
  fields: Omit<MirrorRow, 'idealSeconds' | 'efficiency' | 'users' | 'rateLimit'>,
): MirrorRow => {
  const idealSeconds = fields.changed / RATE;
  return {
    system: fields.system,
    users: USERS,
    changed: fields.changed,
    rateLimit: RATE,
    wallSeconds: round(fields.wallSeconds),
    idealSeconds: round(idealSeconds),
    efficiency: round(idealSeconds / fields.wallSeconds, 3),
    requests: fields.requests,
    http429: fields.http429,
    wrong: fields.wrong,
    peakRssMb: fields.peakRssMb === null ? null : round(fields.peakRssMb, 1),
    historyEvents: fields.historyEvents,
  };
};

/**
 * `--mirror`: N users synced into a fixed list (set-up, not timed), then 10% made inactive and
 * another 10% renamed; a timed mirror run keeps the list in step. Its counts and the list are
 * checked exactly before any number is shown, so a wrong run cannot pass as a fast one. Then
 * the naive re-sync from the same starting list, run as bench/naive.ts runs its baselines, and
 * the same re-sync modelled at the rate limit (one request per user, no 429).
 */
async function benchMirror(ctx: BenchContext): Promise<MirrorRow[]> {
  const syncBody = { platform: 'resend', sync_type: 'all', mode: 'mirror', ...MIRROR_FILTERS };
  log(`first sync of ${USERS} users into a fixed list at ${FIRST_SYNC_RATE} requests/s (set-up)`);
  const firstStarted = performance.now();
  const first = await withService(ctx, ({ apiUrl }) =>
    runThroughApi(ctx, apiUrl, '/api/marketing/sync', { ...syncBody, list_name: 'bench-mirror' }),
  );
  const listId = first.result.listId ?? '';
  const synced = await appUsers(ctx.sql);
  const firstWrong = await wrongUsers(ctx.emulatorUrl, listId, synced);
  if (firstWrong > 0 || first.result.progress.added !== USERS) {
    throw new Error(
      `the first sync left ${firstWrong} users wrong: ${JSON.stringify(first.result.progress)}`,
    );
  }
  log(`first sync: ${round((performance.now() - firstStarted) / 1000)} s`);

  const leavers = await ctx.sql`
    update users set last_active_at = now() - interval '90 days' where id % 10 = 0 returning id`;
  const renamed = await ctx.sql`
    update users set first_name = first_name || ' Renamed' where id % 10 = 5 returning id`;
  const changed = leavers.length + renamed.length;
  const current = await appUsers(ctx.sql);
  const stayers = current.filter((user) => user.inPopulation).length;
  await admin(ctx.emulatorUrl, '/config', 'PUT', { rateLimit: RATE });
  // The first sync's grants leave the one-second window before the clock starts.
  await new Promise((resolve) => setTimeout(resolve, 1100));
  const mark = (await admin<{ requests: number }>(ctx.emulatorUrl, '/stats')).requests;

  log(
    `${leavers.length} users made inactive, ${renamed.length} renamed; mirror run at ${RATE}/s …`,
  );
  const mirror = await withService(ctx, async ({ apiUrl, worker }) => {
    const started = performance.now();
    const run = await runThroughApi(ctx, apiUrl, '/api/marketing/sync', {
      ...syncBody,
      list_id: listId,
    });
    const wallSeconds = (performance.now() - started) / 1000;
    return { ...run, wallSeconds, peakRssMb: worker.peakRssMb() ?? null };
  });
  const { progress } = mirror.result;
  const expected = {
    processed: stayers,
    added: stayers,
    skipped: 0,
    failed: 0,
    removed: leavers.length,
    unsubscribed: 0,
    updated: renamed.length,
  };
  const mismatches = Object.entries(expected).filter(
    ([count, value]) => progress[count as keyof typeof expected] !== value,
  );
  const wrong = await wrongUsers(ctx.emulatorUrl, listId, current);
  if (mismatches.length > 0 || wrong > 0) {
    throw new Error(
      `the mirror run is wrong: counts ${JSON.stringify(progress)}, expected ${JSON.stringify(expected)}; ${wrong} users wrong in the list`,
    );
  }
  const sent = await requestsSince(ctx.emulatorUrl, mark);
  emit({ system: 'audience-sync-mirror requests', ...countByKind(sent) });
  const rows = [
    mirrorRow({
      system: 'audience-sync-mirror',
      changed,
      wallSeconds: mirror.wallSeconds,
      requests: sent.length,
      http429: sent.filter((entry) => entry.outcome.endsWith('rate_limited')).length,
      wrong,
      peakRssMb: mirror.peakRssMb,
      historyEvents: await historyEventsOf(ctx, mirror.runId),
    }),
  ];
  if (values['no-baselines']) return rows;

  // The naive cron starts from the same list: the first sync's contacts, with their old names.
  await admin(ctx.emulatorUrl, '/reset', 'POST');
  const segment = await admin<{ id: string }>(ctx.emulatorUrl, '/segments', 'POST', {
    name: 'naive-resync',
  });
  await admin(ctx.emulatorUrl, '/contacts/bulk', 'POST', {
    contacts: synced.map((user) => ({
      email: user.email,
      first_name: user.firstName,
      last_name: user.lastName,
      segment_ids: [segment.id],
    })),
  });
  log('naive-resync-sequential …');
  const naive = await runNaive(ctx, 'resync', ['--segment', segment.id]);
  const naiveSent = await requestsSince(ctx.emulatorUrl, 0);
  emit({ system: 'naive-resync-sequential requests', ...countByKind(naiveSent) });
  rows.push(
    mirrorRow({
      system: 'naive-resync-sequential',
      changed,
      wallSeconds: naive.wallSeconds,
      requests: naiveSent.length,
      http429: naiveSent.filter((entry) => entry.outcome.endsWith('rate_limited')).length,
      wrong: await wrongUsers(ctx.emulatorUrl, segment.id, current),
      peakRssMb: naive.peakRssMb,
      historyEvents: null,
    }),
    // The same re-sync if it kept to the limit: every user costs a request, changed or not.
    mirrorRow({
      system: 'naive-resync-at-limit',
      changed,
      wallSeconds: USERS / RATE,
      requests: USERS,
      http429: 0,
      wrong: 0,
      peakRssMb: null,
      historyEvents: null,
    }),
  );
  return rows;
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
  if (values.history) {
    await benchHistory({ rows: Number(values.users ?? 1_000_000), json: values.json });
    return;
  }
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
    // A mirror bench sets R itself once its first sync is done.
    const emulator = await startEmulatorProcess(
      values.mirror ? Math.max(RATE, FIRST_SYNC_RATE) : RATE,
    );
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
    await migrate(sql, PLATFORM_MIGRATIONS);
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
    if (values.mirror) {
      const mirrorRows = await benchMirror(ctx);
      if (values.json) {
        for (const result of mirrorRows) process.stdout.write(`${JSON.stringify(result)}\n`);
      } else {
        console.table(mirrorRows);
      }
      return;
    }
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
