import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import type { SyncCounts, SyncRunResult } from '../common/sync.js';
import { seedDemoUsers } from '../db/demo-users.js';
import type { Sql } from '../db/sql.js';
import type { WorkerProcess } from '../dev/worker-process.js';
import { progressQuery } from '../workflows/definitions.js';
import {
  admin,
  countByKind,
  isRateLimited,
  type LoggedRequest,
  requestCount,
  requestsSince,
} from './emulator.js';
import { appUsers, listDifferences, MIRROR_FILTERS } from './lists.js';
import { formatRecord, round } from './report.js';
import {
  type BenchContext,
  type BenchStack,
  createBenchDatabase,
  historyEventsOf,
  type RunningService,
  type ServiceOptions,
  startRunThroughApi,
  withService,
} from './service.js';

/**
 * `npm run bench -- --steady`: a list of N users kept by a recurring mirror sync. A first sync
 * through the default path (RESEND_BULK=auto), then 0.1% of the users change (a third renamed, a
 * third leave the population, a third new) and a mirror run keeps the list in step, then a run
 * with nothing changed. Each run is timed at R requests per second and checked exactly; a run
 * still going after `maxSeconds` is measured as far as it got, then finished off the clock.
 */

export interface SteadyOptions {
  sizes: number[];
  rate: number;
  /** A timed run still going after this is reported as capped, with its extrapolation. */
  maxSeconds: number;
  /** A capped run then finishes at `finishRate`, off the clock, for at most this long. */
  finishMaxSeconds: number;
  finishRate: number;
}

export const STEADY_DEFAULTS: SteadyOptions = {
  sizes: [100_000, 1_000_000],
  rate: 10,
  maxSeconds: 600,
  finishMaxSeconds: 3600,
  finishRate: 300,
};

export type SteadyRunName = 'first sync' | '0.1% changed' | 'nothing changed';

export interface SteadyRow {
  users: number;
  run: SteadyRunName;
  system: 'audience-sync' | 'naive-resync-at-limit';
  /** Users who joined, left or changed since the run before (every user for the first sync). */
  changed: number;
  rateLimit: number;
  /** Null when the run was capped: see cappedAtSeconds and extrapolatedSeconds. */
  wallSeconds: number | null;
  cappedAtSeconds: number | null;
  extrapolatedSeconds: number | null;
  /** A capped run that finished off the clock (the rate raised at the cap): when it did. */
  finishedAtSeconds: number | null;
  /** changed / R: one request per changed user, nothing else. */
  idealSeconds: number;
  /** SPEC's bound for this run (see targetOf). */
  targetSeconds: number;
  /** Within SPEC's bounds on time and requests (see withinTarget); null: capped before it. */
  withinTarget: boolean | null;
  requests: number;
  http429: number;
  /** Statement time of the worker's connections (execution and planning), summed. */
  postgresSeconds: number | null;
  postgresStatements: number | null;
  peakRssMb: number | null;
  historyEvents: number | null;
  /** Users the run had looked at when it ended or was capped, of those it expected. */
  processed: number | null;
  total: number | null;
  /** The one-minute load average, lowest and highest while the run was timed. */
  load: string;
  /** `exact`, or what differs, or why nothing was checked. */
  verdict: string;
  requestsByKind: Record<string, number>;
}

/** Postgres's statement statistics for one role in one database: the worker's own time. */
export interface StatementClock {
  read(): Promise<{ ms: number; calls: number; evictions: number }>;
  /** Each statement's time and calls so far, by query id: a run's top statements are the change. */
  byStatement?(): Promise<Map<string, StatementTime>>;
}

export interface StatementTime {
  query: string;
  ms: number;
  calls: number;
}

export interface SteadyDeps {
  ctx: BenchContext;
  /** How the worker runs; bulk is always the default path (auto). */
  service: Omit<ServiceOptions, 'bulk'>;
  /** Null when Postgres keeps no statement statistics (the database time is then not shown). */
  statements: StatementClock | null;
  /**
   * The emulator's requests before its last reset: its request numbers go on across resets,
   * while its count starts again.
   */
  requestSeqBase: number;
  log: (line: string) => void;
}

/** The number of the last request the emulator has seen. */
const lastRequestSeq = async (deps: SteadyDeps) =>
  deps.requestSeqBase + (await requestCount(deps.ctx.emulatorUrl));

/** One size: seeds N users into an empty database and runs the three timed runs. */
export async function runSteadyScenario(
  deps: SteadyDeps,
  users: number,
  options: SteadyOptions,
): Promise<SteadyRow[]> {
  const { ctx, log } = deps;
  log(`seeding ${users} users`);
  await seedDemoUsers(ctx.sql, { count: users, mix: 'eligible' });
  const service = { ...deps.service, bulk: 'auto', previewCountRefreshSeconds: '0' } as const;
  return withService(ctx, service, async (running) => {
    const timed = timedRunner(deps, running, users, options);
    const rows: SteadyRow[] = [];
    const first = await timed('first sync', { list_name: 'steady' }, users, {
      population: users,
      removed: 0,
      updated: 0,
      tableUsers: users,
    });
    rows.push(...first.rows);
    const listId = first.listId;
    if (!first.finished || !listId) return rows;
    const change = await changeUsers(ctx.sql, users);
    log(`${change.renamed} renamed, ${change.leavers} left, ${change.joiners} new`);
    const population = users - change.leavers + change.joiners;
    const tableUsers = users + change.joiners;
    const changedRun = await timed('0.1% changed', { list_id: listId }, change.total, {
      population,
      removed: change.leavers,
      updated: change.renamed,
      tableUsers,
    });
    rows.push(...changedRun.rows);
    if (!changedRun.finished) return rows;
    const unchanged = await timed('nothing changed', { list_id: listId }, 0, {
      population,
      removed: 0,
      updated: 0,
      tableUsers,
    });
    rows.push(...unchanged.rows);
    return rows;
  });
}

/** What a finished mirror run's counts must be, and how many users the table holds. */
interface Expected {
  population: number;
  removed: number;
  updated: number;
  tableUsers: number;
}

interface ChangeSet {
  renamed: number;
  leavers: number;
  joiners: number;
  total: number;
}

/**
 * 0.1% of N (at least 3): a third renamed (`first_name`), a third out of the population (last
 * active 90 days ago, outside the 30-day filter), a third new users after the last id. The
 * changed users are spread evenly over the ids, so every part of the list has some.
 */
export async function changeUsers(sql: Sql, users: number): Promise<ChangeSet> {
  const total = Math.max(3, Math.round(users / 1000));
  const third = Math.floor(total / 3);
  const stride = Math.floor(users / third);
  const renamed = await sql`
    update users set first_name = first_name || ' Renamed'
    where id in (select 1 + i * ${stride} from generate_series(0, ${third - 1}) as i)
    returning id`;
  const leavers = await sql`
    update users set last_active_at = now() - interval '90 days'
    where id in (select 2 + i * ${stride} from generate_series(0, ${third - 1}) as i)
    returning id`;
  const joiners = total - 2 * third;
  const [last] = await sql<{ id: string }[]>`select max(id) as id from users`;
  await seedDemoUsers(sql, { count: joiners, mix: 'eligible', firstId: Number(last?.id) + 1 });
  return { renamed: renamed.length, leavers: leavers.length, joiners, total };
}

interface TimedOutcome {
  rows: SteadyRow[];
  finished: boolean;
  listId: string | null;
}

/** Runs one mirror run at R, timed, capped, measured and checked; then its naive baseline row. */
function timedRunner(
  deps: SteadyDeps,
  running: RunningService,
  users: number,
  options: SteadyOptions,
) {
  return async (
    run: SteadyRunName,
    list: { list_name: string } | { list_id: string },
    changed: number,
    expected: Expected,
  ): Promise<TimedOutcome> => {
    const { ctx, log } = deps;
    log(`${run}: ${users} users, ${changed} changed, at ${options.rate} requests/s …`);
    await admin(ctx.emulatorUrl, '/config', 'PUT', { rateLimit: options.rate });
    // The grants of what ran before leave the emulator's one-second window before the clock starts.
    await new Promise((resolve) => setTimeout(resolve, 1100));
    const statementsBefore = await deps.statements?.byStatement?.();
    const before = await measuresNow(deps, running.worker, 'start');
    const runId = await startRunThroughApi(running.apiUrl, '/api/marketing/sync', {
      platform: 'resend',
      sync_type: 'all',
      mode: 'mirror',
      ...MIRROR_FILTERS,
      ...list,
    });
    const watched = await watchRun(deps, running.worker, runId, before, options);
    const sent = await requestsSince(ctx.emulatorUrl, before.requestSeq);
    const window = sent.filter((entry) => entry.seq <= watched.atEnd.requestSeq);
    const seen = watched.atEnd.requestSeq - before.requestSeq;
    if (watched.result && window.length !== seen) {
      throw new Error(`the emulator saw ${seen} requests but its log holds ${window.length}`);
    }
    const row = steadyRow({ users, run, changed, options, watched, before, window });
    row.withinTarget = withinTarget(row);
    // As soon as measured (a capped run's before its untimed finish, which can take an hour), so
    // that a later failure or an interrupted benchmark loses nothing.
    log(`  ${formatRecord(withoutRequestKinds(row))}`);
    log(`  requests by kind: ${JSON.stringify(row.requestsByKind)}`);
    await logTopStatements(deps, statementsBefore);
    const result = watched.result ?? (await finishOffTheClock(deps, runId, options));
    if (!watched.result && result) {
      row.finishedAtSeconds = round((performance.now() - before.at) / 1000, 0);
    }
    row.historyEvents = result ? await historyEventsOf(ctx.client, runId) : null;
    if (row.historyEvents !== null) log(`  history events: ${row.historyEvents}`);
    row.verdict = result ? await checkedVerdict(deps, result, expected) : DID_NOT_FINISH;
    log(`  verdict: ${row.verdict}`);
    return {
      rows: [row, naiveRow(row, expected)],
      finished: result !== undefined,
      listId: result?.listId ?? null,
    };
  };
}

/** The run's costliest statements (time in ms, calls, the statement's first characters). */
async function logTopStatements(deps: SteadyDeps, before: Map<string, StatementTime> | undefined) {
  const after = await deps.statements?.byStatement?.();
  if (!before || !after) return;
  for (const time of topStatements(before, after, 6)) {
    const text = time.query.replace(/\s+/g, ' ').slice(0, 160);
    deps.log(`  statement: ${round(time.ms, 0)} ms, ${time.calls} calls: ${text}`);
  }
}

/** What is measured at the start of a run and at its end (or cap), to take differences of. */
interface Measures {
  at: number;
  /** The emulator's request count: the sequence number of the last request it has seen. */
  requestSeq: number;
  postgres: { ms: number; calls: number; evictions: number } | null;
  peakRssMb: number | null;
  load: number;
}

async function measuresNow(
  deps: SteadyDeps,
  worker: WorkerProcess,
  moment: 'start' | 'end',
  at = performance.now(),
): Promise<Measures> {
  // The kernel's high-water mark starts again from the worker's present size: a peak per run.
  if (moment === 'start' && worker.child.pid) {
    writeFileSync(`/proc/${worker.child.pid}/clear_refs`, '5');
  }
  return {
    at,
    requestSeq: await lastRequestSeq(deps),
    postgres: deps.statements ? await deps.statements.read() : null,
    peakRssMb: moment === 'end' ? (worker.peakRssMb() ?? null) : null,
    load: loadavg()[0] ?? 0,
  };
}

interface Sample {
  seconds: number;
  processed: number;
  total: number;
  requests: number;
  load: number;
}

interface Watched {
  result: SyncRunResult | undefined;
  atEnd: Measures;
  samples: Sample[];
}

const SAMPLE_MS = 5000;

/**
 * Waits for the run's result, at most `maxSeconds`, sampling its progress, the requests sent and
 * the load average every few seconds (printed every 30 s, so a long run shows its pace).
 */
async function watchRun(
  deps: SteadyDeps,
  worker: WorkerProcess,
  runId: string,
  before: Measures,
  options: SteadyOptions,
): Promise<Watched> {
  const handle = deps.ctx.client.workflow.getHandle(runId);
  let ended: { result: SyncRunResult; at: number } | undefined;
  const ending = handle.result().then((result: SyncRunResult) => {
    ended = { result, at: performance.now() };
  });
  const samples: Sample[] = [];
  const deadline = before.at + options.maxSeconds * 1000;
  while (ended === undefined && performance.now() < deadline) {
    const wait = Math.min(SAMPLE_MS, deadline - performance.now());
    await Promise.race([ending, new Promise((resolve) => setTimeout(resolve, wait))]);
    if (ended !== undefined) break;
    const sample = await sampleRun(deps, runId, before);
    samples.push(sample);
    if (samples.length % (30_000 / SAMPLE_MS) === 0) deps.log(describeSample(sample));
  }
  // The end of the run, or the cap: what was sent, spent and used up to then.
  const end = ended as { result: SyncRunResult; at: number } | undefined;
  const atEnd = await measuresNow(deps, worker, 'end', end?.at);
  if (!end) samples.push(await sampleRun(deps, runId, before));
  return { result: end?.result, atEnd, samples };
}

/**
 * The run's pace: its users in checkpointed batches, as its record counts them (the workflow's
 * own count moves only between activities, and a bulk chunk's batches run inside one), of the
 * users it expects.
 */
async function sampleRun(deps: SteadyDeps, runId: string, before: Measures): Promise<Sample> {
  const view = await deps.ctx.client.workflow.getHandle(runId).query(progressQuery);
  const [checkpointed] = await deps.ctx.sql<{ processed: number }[]>`
    select processed from audience_sync.runs where run_id = ${runId}`;
  return {
    seconds: (performance.now() - before.at) / 1000,
    processed: checkpointed?.processed ?? 0,
    total: view.progress.total,
    requests: (await lastRequestSeq(deps)) - before.requestSeq,
    load: loadavg()[0] ?? 0,
  };
}

const describeSample = (sample: Sample) =>
  `  ${round(sample.seconds, 0)} s: ${sample.processed} of ${sample.total} users, ` +
  `${sample.requests} requests (${round(sample.requests / sample.seconds, 1)}/s), ` +
  `load ${round(sample.load, 1)}`;

/**
 * A capped run is finished at `finishRate` (the worker learns the new limit from the answers'
 * headers), off the clock, so the list is in step for the next run; one that still does not
 * finish within `finishMaxSeconds` is terminated, and the runs after it are not made.
 */
async function finishOffTheClock(
  deps: SteadyDeps,
  runId: string,
  options: SteadyOptions,
): Promise<SyncRunResult | undefined> {
  deps.log(`  capped at ${options.maxSeconds} s; finishing at ${options.finishRate}/s, untimed`);
  await admin(deps.ctx.emulatorUrl, '/config', 'PUT', { rateLimit: options.finishRate });
  const handle = deps.ctx.client.workflow.getHandle(runId);
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const outOfTime = new Promise<undefined>((resolve) => {
    timer = setTimeout(() => resolve(undefined), options.finishMaxSeconds * 1000);
  });
  const result = await Promise.race([handle.result() as Promise<SyncRunResult>, outOfTime]);
  clearTimeout(timer);
  if (result === undefined) {
    await handle.terminate('the benchmark ran out of time to finish it');
    deps.log(`  not finished after ${options.finishMaxSeconds} s more: terminated`);
  } else {
    deps.log(`  finished ${round((performance.now() - started) / 1000)} s after the cap`);
  }
  return result;
}

const DID_NOT_FINISH = 'not checked: the run did not finish';

/** The verdict, or why there is none (the emulator or Postgres failed the check itself). */
async function checkedVerdict(
  deps: SteadyDeps,
  result: SyncRunResult,
  expected: Expected,
): Promise<string> {
  try {
    return await verdictOf(deps, result, expected);
  } catch (error) {
    return `not checked: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** `exact` when the counts add up as expected and the list holds exactly the population. */
async function verdictOf(
  deps: SteadyDeps,
  result: SyncRunResult,
  expected: Expected,
): Promise<string> {
  const want: Partial<SyncCounts> = {
    processed: expected.population,
    added: expected.population,
    skipped: 0,
    failed: 0,
    removed: expected.removed,
    unsubscribed: 0,
    updated: expected.updated,
  };
  const counts = Object.entries(want)
    .filter(([count, value]) => result.progress[count as keyof SyncCounts] !== value)
    .map(([count, value]) => `${count} ${result.progress[count as keyof SyncCounts]} ≠ ${value}`);
  const list = await listDifferences(
    deps.ctx.emulatorUrl,
    result.listId ?? '',
    await appUsers(deps.ctx.sql),
  );
  const wrong = Object.entries(list)
    .filter(([, value]) => value > 0)
    .map(([difference, value]) => `${difference} ${value}`);
  const problems = [...counts, ...wrong];
  return problems.length === 0 ? 'exact' : `wrong: ${problems.join(', ')}`;
}

/**
 * SPEC's bound for the run: a bulk first sync 50 times faster than N / R; a run after changes
 * within 1.15 × (changed / R) + 10 s; a run with nothing changed under 10 s.
 */
const targetOf = (run: SteadyRunName, changed: number, rate: number) =>
  run === 'first sync' ? changed / rate / 50 : 1.15 * (changed / rate) + 10;

/**
 * SPEC's bounds: the time (a capped run is over it once capped past it), and the requests: a
 * bulk first sync 100 times fewer than N; a run after changes at most one per changed user plus
 * the directory pages; a run with nothing changed at most 5.
 */
function withinTarget(row: SteadyRow): boolean | null {
  const seconds = row.wallSeconds ?? row.cappedAtSeconds ?? Number.POSITIVE_INFINITY;
  if (row.wallSeconds === null && seconds <= row.targetSeconds) return null;
  const pages = row.requestsByKind['GET /contacts'] ?? 0;
  const requestBound =
    row.run === 'first sync'
      ? row.changed / 100
      : row.run === 'nothing changed'
        ? 5
        : row.changed + pages;
  return seconds <= row.targetSeconds && row.requests <= requestBound;
}

/**
 * A capped run's end, from its pace over the second half of the wait (after its start-up):
 * the users still to look at, at the users per second it managed then.
 */
function extrapolate(samples: Sample[]): number | null {
  const last = samples.at(-1);
  const middle = samples.find((sample) => last && sample.seconds >= last.seconds / 2);
  if (!last || !middle || last.seconds <= middle.seconds) return null;
  const pace = (last.processed - middle.processed) / (last.seconds - middle.seconds);
  return pace > 0 ? round(last.seconds + (last.total - last.processed) / pace, 0) : null;
}

interface RowInput {
  users: number;
  run: SteadyRunName;
  changed: number;
  options: SteadyOptions;
  watched: Watched;
  before: Measures;
  window: LoggedRequest[];
}

function steadyRow(input: RowInput): SteadyRow {
  const { watched, before, options } = input;
  const { atEnd, samples } = watched;
  const capped = watched.result === undefined;
  const loads = [before.load, ...samples.map((sample) => sample.load), atEnd.load];
  // Entries the statistics dropped for room would make the sum short: then it is not shown.
  const postgres =
    atEnd.postgres && before.postgres && atEnd.postgres.evictions === before.postgres.evictions
      ? {
          ms: atEnd.postgres.ms - before.postgres.ms,
          calls: atEnd.postgres.calls - before.postgres.calls,
        }
      : null;
  return {
    users: input.users,
    run: input.run,
    system: 'audience-sync',
    changed: input.changed,
    rateLimit: options.rate,
    wallSeconds: capped ? null : round((atEnd.at - before.at) / 1000),
    cappedAtSeconds: capped ? options.maxSeconds : null,
    extrapolatedSeconds: capped ? extrapolate(samples) : null,
    finishedAtSeconds: null,
    idealSeconds: round(input.changed / options.rate),
    targetSeconds: round(targetOf(input.run, input.changed, options.rate)),
    withinTarget: null,
    requests: input.window.length,
    http429: input.window.filter(isRateLimited).length,
    postgresSeconds: postgres ? round(postgres.ms / 1000, 3) : null,
    postgresStatements: postgres?.calls ?? null,
    peakRssMb: atEnd.peakRssMb === null ? null : round(atEnd.peakRssMb, 1),
    historyEvents: null,
    processed: watched.result?.progress.processed ?? samples.at(-1)?.processed ?? null,
    total: watched.result?.progress.total ?? samples.at(-1)?.total ?? null,
    load: `${round(Math.min(...loads), 1)}–${round(Math.max(...loads), 1)}`,
    verdict: 'not checked yet',
    requestsByKind: countByKind(input.window),
  };
}

/**
 * The naive re-sync a cron would do with the plain SDK, modelled at the limit: one request per
 * user of the table (an upsert for each user in the population, a removal for each other one),
 * changed or not.
 */
function naiveRow(measured: SteadyRow, expected: Expected): SteadyRow {
  return {
    ...measured,
    system: 'naive-resync-at-limit',
    wallSeconds: round(expected.tableUsers / measured.rateLimit),
    withinTarget: expected.tableUsers / measured.rateLimit <= measured.targetSeconds,
    cappedAtSeconds: null,
    extrapolatedSeconds: null,
    finishedAtSeconds: null,
    requests: expected.tableUsers,
    http429: 0,
    postgresSeconds: null,
    postgresStatements: null,
    peakRssMb: null,
    historyEvents: null,
    processed: null,
    total: null,
    verdict: 'modelled',
    requestsByKind: {},
  };
}

/** The role the worker connects as, so that its statements are told apart from everyone else's. */
const WORKER_ROLE = 'steady_worker';

/**
 * The worker's database time: pg_stat_statements summed over the worker's role in the
 * benchmark's database (top-level statements, execution and planning). `evictions` counts entries
 * the extension dropped for room, which would make the sum short.
 */
export function statementClock(sql: Sql, role: string): StatementClock {
  return {
    async read() {
      const [sums] = await sql<{ ms: number; calls: number }[]>`
        select coalesce(sum(total_exec_time + total_plan_time), 0)::float8 as ms,
          coalesce(sum(calls), 0)::float8 as calls
        from pg_stat_statements
        where toplevel and userid = (select oid from pg_roles where rolname = ${role})
          and dbid = (select oid from pg_database where datname = current_database())`;
      const [info] = await sql<{ dealloc: number }[]>`
        select dealloc::float8 as dealloc from pg_stat_statements_info`;
      return { ms: sums?.ms ?? 0, calls: sums?.calls ?? 0, evictions: info?.dealloc ?? 0 };
    },
    async byStatement() {
      const rows = await sql<(StatementTime & { id: string })[]>`
        select queryid::text as id, query, (total_exec_time + total_plan_time)::float8 as ms,
          calls::float8 as calls
        from pg_stat_statements
        where toplevel and userid = (select oid from pg_roles where rolname = ${role})
          and dbid = (select oid from pg_database where datname = current_database())`;
      return new Map(rows.map(({ id, ...time }) => [id, time]));
    },
  };
}

/** The statements that took the most time between two readings, most first. */
export function topStatements(
  before: Map<string, StatementTime>,
  after: Map<string, StatementTime>,
  count: number,
): StatementTime[] {
  return [...after.entries()]
    .map(([id, time]) => ({
      query: time.query,
      ms: time.ms - (before.get(id)?.ms ?? 0),
      calls: time.calls - (before.get(id)?.calls ?? 0),
    }))
    .filter((time) => time.calls > 0)
    .sort((a, b) => b.ms - a.ms)
    .slice(0, count);
}

/**
 * The same database as the worker's role: a superuser of the throwaway cluster like ours, finding
 * relations where ours does (`"$user"` is the service's schema for our role, not for this one).
 */
async function workerConnection(sql: Sql, databaseUrl: string): Promise<string> {
  const [{ path } = { path: '' }] = await sql<{ path: string }[]>`
    select array_to_string(current_schemas(false), ', ') as path`;
  await sql.unsafe(`
    do $$ begin
      if not exists (select from pg_roles where rolname = '${WORKER_ROLE}') then
        create role ${WORKER_ROLE} login superuser password '${WORKER_ROLE}';
      end if;
    end $$`);
  await sql.unsafe(`alter role ${WORKER_ROLE} set search_path to ${path}`);
  const url = new URL(databaseUrl);
  url.username = WORKER_ROLE;
  url.password = WORKER_ROLE;
  return url.toString();
}

/**
 * Every size in turn, each in a database of its own on the same stack (the emulator reset in
 * between). `allCorrect` is false when a run's counts or list were wrong, or could not be checked.
 */
export async function benchSteady(
  stack: BenchStack,
  options: SteadyOptions,
  log: (line: string) => void,
): Promise<{ rows: SteadyRow[]; allCorrect: boolean }> {
  const rows: SteadyRow[] = [];
  let requestSeqBase = 0;
  for (const users of options.sizes) {
    requestSeqBase += await requestCount(stack.emulatorUrl);
    await admin(stack.emulatorUrl, '/reset', 'POST');
    const db = await createBenchDatabase(stack.postgresUrl, `steady_${users}`);
    try {
      await db.sql`create extension if not exists pg_stat_statements`;
      const deps: SteadyDeps = {
        ctx: { ...stack, sql: db.sql, databaseUrl: db.url },
        service: { workerDatabaseUrl: await workerConnection(db.sql, db.url) },
        statements: statementClock(db.sql, WORKER_ROLE),
        requestSeqBase,
        log,
      };
      rows.push(...(await runSteadyScenario(deps, users, options)));
    } finally {
      await db.drop();
    }
  }
  // A run that did not finish in the time given is a measure; a wrong or unchecked one is not.
  const allCorrect = rows.every((row) =>
    ['exact', 'modelled', DID_NOT_FINISH].includes(row.verdict),
  );
  return { rows, allCorrect };
}

/**
 * The emulator's log must hold a timed run's requests until they are read: at most the cap at R,
 * with room for refusals; a finished run at R sends no more than that either.
 */
export const steadyRequestLogLimit = (options: SteadyOptions) =>
  Math.max(100_000, 4 * options.maxSeconds * options.rate);

/** A row for the printed table: the requests by kind are printed one line per run instead. */
export const withoutRequestKinds = (row: SteadyRow): Omit<SteadyRow, 'requestsByKind'> => {
  const { requestsByKind: _printedApart, ...rest } = row;
  return rest;
};
