import { spawn } from 'node:child_process';
import { loadavg } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { seedDemoUsers } from '../db/demo-users.js';
import { createPreviewActivities } from '../db/preview.js';
import { keepPreviewCount } from '../db/preview-count-keeper.js';
import type { Sql } from '../db/sql.js';
import { inspectUsersSource } from '../db/users-source.js';
import {
  admin,
  adminAll,
  countByKind,
  isRateLimited,
  requestsSince,
  startEmulatorProcess,
} from './emulator.js';
import { benchHistory } from './history.js';
import { appUsers, MIRROR_FILTERS, wrongUsers } from './lists.js';
import { LOOPS_SCENARIOS, type LoopsScenario, runLoopsScenario } from './loops.js';
import type { NaiveMode } from './naive.js';
import { formatRecord, printRows, round } from './report.js';
import {
  type BenchContext,
  type BenchStack,
  createBenchDatabase,
  historyEventsOf,
  runThroughApi,
  type ServiceOptions,
  startBenchStack,
  withService,
} from './service.js';
import { setupSteps } from './setup-steps.js';
import {
  benchSteady,
  STEADY_DEFAULTS,
  type SteadyOptions,
  steadyRequestLogLimit,
  withoutRequestKinds,
} from './steady.js';

/**
 * `npm run bench -- --users N --rate R [--json] [--preview] [--profile DIR] [--bulk] [--mirror]`
 *   `npm run bench -- --steady [--users N,N…] [--rate R] [--max-seconds S] [--json]`
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
 * `--steady` (default `--users 100000,1000000` at 10/s) keeps a list of N users in step with
 * recurring mirror runs: the first sync, a run after 0.1% of the users changed, a run with nothing
 * changed, each timed and checked, beside a naive re-sync modelled at the limit. `--max-seconds S`
 * (600) caps each timed run's wait; a capped run is reported with its pace and extrapolated end,
 * then finished at `--finish-rate` (300/s) off the clock within `--finish-max-seconds` (3600).
 * See bench/steady.ts.
 * `--loops` (default 600 users at 10/s, then 3,000 at 50/s; or `--users N --rate R`) syncs N users
 * into a Loops mailing list on the Loops emulator at R requests per second, beside the naive loop
 * with the plain `loops` SDK. See bench/loops.ts.
 * `--in-flight 1,2 [--rounds K]` syncs the same N users once per value of SYNC_BATCHES_IN_FLIGHT,
 * alternating, K rounds, each into a fresh database and a reset emulator, so that the values share
 * the machine's load alike; one row per run, with the load average during it.
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
  /** SYNC_BATCHES_IN_FLIGHT of the worker (audience-sync with --in-flight only). */
  batchesInFlight?: number;
  /** The one-minute load average, lowest and highest while the run was timed. */
  load?: string;
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
    steady: { type: 'boolean', default: false },
    loops: { type: 'boolean', default: false },
    /** --steady: a timed run still going after this many seconds is capped. */
    'max-seconds': { type: 'string' },
    /** --steady: a capped run then finishes at this rate, off the clock, within this long. */
    'finish-rate': { type: 'string' },
    'finish-max-seconds': { type: 'string' },
    /** Per-contact runs once per value of SYNC_BATCHES_IN_FLIGHT, e.g. `1,2`, alternating. */
    'in-flight': { type: 'string' },
    rounds: { type: 'string' },
  },
});
const USERS = Number(values.users ?? (values.bulk ? 100_000 : values.mirror ? 10_000 : 2000));
const RATE = Number(values.rate ?? (values.bulk || values.mirror || values.steady ? 10 : 50));
const log = (line: string) => {
  if (!values.json) process.stderr.write(`${line}\n`);
};

/** --steady's sizes (`--users 100000,1000000`) and limits. */
function steadyOptions(): SteadyOptions {
  const option = (name: keyof typeof values, fallback: number) =>
    values[name] === undefined ? fallback : Number(values[name]);
  const options: SteadyOptions = {
    sizes: values.users ? values.users.split(',').map(Number) : STEADY_DEFAULTS.sizes,
    rate: option('rate', STEADY_DEFAULTS.rate),
    maxSeconds: option('max-seconds', STEADY_DEFAULTS.maxSeconds),
    finishRate: option('finish-rate', STEADY_DEFAULTS.finishRate),
    finishMaxSeconds: option('finish-max-seconds', STEADY_DEFAULTS.finishMaxSeconds),
  };
  const numbers = [...options.sizes, options.rate, options.maxSeconds, options.finishRate];
  if (!numbers.every((value) => Number.isInteger(value) && value > 0)) {
    throw new Error('--steady needs whole numbers: --users N[,N…] --rate R --max-seconds S …');
  }
  return options;
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
    http429: requests.filter((entry) => isRateLimited(entry)).length,
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
      // The API's own check of the platform as it started comes before the clock.
      beforeFirstRequestSeconds: round(
        (Date.parse(requests.find((entry) => Date.parse(entry.at) >= startedAt)?.at ?? '') -
          startedAt) /
          1000,
      ),
      beforeFirstWriteSeconds: round((first - startedAt) / 1000),
      writingSeconds: round((last - first) / 1000),
      contactWrites: writes.length,
      atTheLimitSeconds: round(writes.length / RATE),
      afterLastWriteSeconds: round((endedAt - last) / 1000),
    }),
  );
  log(formatRecord({ otherRequests: 'audience-sync', ...otherRequests(requests, first) }));
}

/**
 * The requests that are not contact writes, by method and path (ids left out), counted before
 * the first write (`before:`) and after it: what takes a share of the limit from the writes.
 */
function otherRequests(requests: { at: string; method: string; path: string }[], first: number) {
  const counts: Record<string, number> = {};
  for (const entry of requests) {
    if (entry.method === 'POST' && entry.path.startsWith('/contacts')) continue;
    const route = entry.path.split('?')[0]?.replace(/[0-9a-f-]{36}/g, ':id') ?? '';
    const key = `${Date.parse(entry.at) < first ? 'before:' : ''}${entry.method} ${route}`;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return counts;
}

/** The one-minute load average, sampled every 5 s until stopped: `lowest–highest`. */
function sampleLoad(): () => string {
  const samples = [loadavg()[0] ?? 0];
  const timer = setInterval(() => samples.push(loadavg()[0] ?? 0), 5000);
  return () => {
    clearInterval(timer);
    samples.push(loadavg()[0] ?? 0);
    return `${round(Math.min(...samples), 1)}–${round(Math.max(...samples), 1)}`;
  };
}

/** The worker of the per-contact, bulk and mirror scenarios, with its CPU profile if asked for. */
const serviceOptions = (): ServiceOptions => ({
  // The per-contact path, which the rate-limit targets are about, unless --bulk.
  bulk: values.bulk ? 'auto' : 'off',
  workerNodeFlags: values.profile
    ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(values.profile)}`]
    : [],
});

/** A benchmark database and the users it was seeded with. */
interface SyncBenchContext extends BenchContext {
  emails: Set<string>;
}

async function benchAudienceSync(ctx: SyncBenchContext, batchesInFlight?: number): Promise<Row> {
  const options = { ...serviceOptions(), ...(batchesInFlight ? { batchesInFlight } : {}) };
  return withService(ctx, options, async ({ apiUrl, worker }) => {
    const profileDir = values.profile;
    if (profileDir) await ctx.sql`select pg_stat_statements_reset()`;
    const load = sampleLoad();
    const started = performance.now();
    const startedAt = Date.now();
    const { runId, result } = await runThroughApi(ctx, apiUrl, '/api/marketing/sync-users', {
      audienceName: 'bench',
    });
    const wallSeconds = (performance.now() - started) / 1000;
    const loadDuring = load();
    if (!values.bulk) {
      await showTimeline(ctx.emulatorUrl, startedAt, Date.now());
      log(
        formatRecord({
          setup: 'audience-sync',
          ...(await setupSteps(ctx.client, runId, startedAt)),
        }),
      );
    }
    const peakRssMb = worker.peakRssMb() ?? null;
    const historyEvents = await historyEventsOf(ctx.client, runId);
    const found = await audit(ctx.emulatorUrl, result.listId ?? '', ctx.emails);
    if (profileDir) await showStatementTimes(ctx.sql, wallSeconds);
    return {
      ...row(
        values.bulk ? 'audience-sync-bulk' : 'audience-sync',
        wallSeconds,
        found,
        peakRssMb,
        historyEvents,
      ),
      ...(batchesInFlight ? { batchesInFlight } : {}),
      load: loadDuring,
    };
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

async function benchNaive(ctx: SyncBenchContext, mode: 'sequential' | 'parallel'): Promise<Row> {
  const result = await runNaive(ctx, mode);
  const found = await audit(ctx.emulatorUrl, result.segmentId, ctx.emails);
  return row(`naive-${mode}`, result.wallSeconds, found, result.peakRssMb, null);
}

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
  const first = await withService(ctx, serviceOptions(), ({ apiUrl }) =>
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
  const mirror = await withService(ctx, serviceOptions(), async ({ apiUrl, worker }) => {
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
      http429: sent.filter((entry) => isRateLimited(entry)).length,
      wrong,
      peakRssMb: mirror.peakRssMb,
      historyEvents: await historyEventsOf(ctx.client, mirror.runId),
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
      http429: naiveSent.filter((entry) => isRateLimited(entry)).length,
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

/** N eligible users in a new database, and their emails for the audit. */
async function seededDatabase(postgresUrl: string, name: string) {
  const db = await createBenchDatabase(postgresUrl, name);
  if (values.profile) await db.sql`create extension if not exists pg_stat_statements`;
  log(`seeding ${USERS} users`);
  await seedDemoUsers(db.sql, { count: USERS, mix: values.preview ? 'demo' : 'eligible' });
  const users = await db.sql<{ email: string }[]>`select lower(email) as email from users`;
  return { db, emails: new Set(users.map((user) => user.email)) };
}

/**
 * `--in-flight 1,2 [--rounds K]`: the per-contact sync once per value, alternating, K rounds.
 * Each run starts alike: a fresh database with the same N users and an emptied emulator.
 */
async function benchInFlight(stack: BenchStack): Promise<object[]> {
  const settings = (values['in-flight'] ?? '').split(',').map(Number);
  const rounds = Number(values.rounds ?? 1);
  if (!settings.every((value) => value === 1 || value === 2) || !(rounds >= 1)) {
    throw new Error('--in-flight takes 1 and/or 2 (e.g. 1,2), --rounds a whole number');
  }
  const rows: object[] = [];
  for (let round = 1; round <= rounds; round += 1) {
    for (const batchesInFlight of settings) {
      await admin(stack.emulatorUrl, '/reset', 'POST');
      const { db, emails } = await seededDatabase(stack.postgresUrl, `bench_${batchesInFlight}`);
      try {
        log(`audience-sync, ${batchesInFlight} in flight, round ${round} …`);
        const ctx = { ...stack, sql: db.sql, databaseUrl: db.url, emails };
        rows.push(await benchAudienceSync(ctx, batchesInFlight));
      } finally {
        await db.drop();
      }
    }
  }
  return rows;
}

/** The per-contact, bulk and mirror scenarios: one database of N users, and the baselines. */
async function benchSyncs(ctx: SyncBenchContext): Promise<object[]> {
  if (values.mirror) return benchMirror(ctx);
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
      await admin(ctx.emulatorUrl, '/reset', 'POST');
      log(`naive-${mode} …`);
      rows.push(await benchNaive(ctx, mode));
    }
  }
  return rows;
}

/** Postgres's statement statistics, for --profile and for the steady scenario's database time. */
const STATEMENT_STATISTICS = {
  shared_preload_libraries: 'pg_stat_statements',
  'pg_stat_statements.track': values.profile ? 'all' : 'top',
  'pg_stat_statements.track_planning': 'on',
  'pg_stat_statements.max': '20000',
};

/** `--loops`: each scenario on a database of its own, against one Loops emulator process. */
async function benchLoops(stack: BenchStack): Promise<object[]> {
  const scenarios: LoopsScenario[] =
    values.users || values.rate ? [{ users: USERS, rate: RATE }] : LOOPS_SCENARIOS;
  const most = Math.max(...scenarios.map((scenario) => scenario.users));
  const loops = await startEmulatorProcess(RATE, most * 20 + 10_000, 'loops');
  const rows: object[] = [];
  try {
    const { data: lists } = await admin<{ data: { id: string }[] }>(loops.url, '/lists');
    for (const scenario of scenarios) {
      const db = await createBenchDatabase(stack.postgresUrl, `bench_loops_${scenario.rate}`);
      try {
        await seedDemoUsers(db.sql, { count: scenario.users, mix: 'eligible' });
        const users = await db.sql<{ email: string }[]>`select lower(email) as email from users`;
        const ctx = {
          ...stack,
          sql: db.sql,
          databaseUrl: db.url,
          emails: new Set(users.map((user) => user.email)),
          loopsUrl: loops.url,
          loopsApiRoot: `${loops.url}/api/`,
          listId: lists[0]?.id ?? '',
        };
        const { bulk: _perContactOnly, ...service } = serviceOptions();
        rows.push(...(await runLoopsScenario(ctx, scenario, service, log)));
      } finally {
        await db.drop();
      }
    }
  } finally {
    loops.child.kill('SIGTERM');
  }
  return rows;
}

async function main(): Promise<void> {
  if (values.history) {
    await benchHistory({ rows: Number(values.users ?? 1_000_000), json: values.json });
    return;
  }
  Runtime.install({ logger: new DefaultLogger('WARN'), shutdownSignals: [] });
  log(`starting Postgres, Temporal and the Resend emulator (${RATE} requests/s)`);
  const stack = await startBenchStack({
    ...(values.profile || values.steady ? { postgresSettings: STATEMENT_STATISTICS } : {}),
    // A mirror bench sets R itself once its first sync is done.
    emulatorRate: values.mirror ? Math.max(RATE, FIRST_SYNC_RATE) : RATE,
    // Every request a scenario audits must stay in the log until it is read.
    requestLogLimit: values.steady ? steadyRequestLogLimit(steadyOptions()) : USERS * 3 + 10_000,
  });
  try {
    if (values.loops) {
      printRows(await benchLoops(stack), values.json);
      return;
    }
    if (values.steady) {
      const { rows, allCorrect } = await benchSteady(stack, steadyOptions(), log);
      // The requests by kind are printed above, one line per run, when not in JSON.
      printRows(values.json ? rows : rows.map(withoutRequestKinds), values.json);
      if (!allCorrect) process.exitCode = 1;
      return;
    }
    if (values['in-flight']) {
      printRows(await benchInFlight(stack), values.json);
      return;
    }
    const { db, emails } = await seededDatabase(stack.postgresUrl, 'bench');
    try {
      if (values.preview) {
        await benchPreview(db.sql);
        return;
      }
      const ctx = { ...stack, sql: db.sql, databaseUrl: db.url, emails };
      printRows(await benchSyncs(ctx), values.json);
    } finally {
      await db.drop();
    }
  } finally {
    await stack.stop();
  }
}

/** The error and its causes (a failed run's failure is the cause of the client's error). */
const describeError = (error: unknown): string =>
  error instanceof Error
    ? `${error.stack ?? error.message}${error.cause ? `\ncaused by: ${describeError(error.cause)}` : ''}`
    : String(error);

main().catch((error: unknown) => {
  process.stderr.write(`${describeError(error)}\n`);
  process.exit(1);
});
