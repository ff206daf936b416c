import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes, randomInt } from 'node:crypto';
import { openSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ensureSchemathesis } from './schemathesis.js';
import { type DocumentPaths, formatCoverage, statusCoverage } from './statuses.js';

/**
 * `npm run fuzz`: property-based tests of the whole API, generated from its own /openapi.json by
 * schemathesis, against the real stack on this machine: an embedded Postgres with demo users, a
 * Temporal dev server, the Resend emulator, a worker and the API (dev/stack.ts, as `npm run dev`
 * starts them, here in a process of its own, test/fuzz/stack.ts, on free ports and with a data
 * folder of its own, removed afterwards; its logs go to .data/fuzz-report/stack.log).
 *
 * The checks: no 5xx for any request (not_a_server_error); every status, content type, header
 * and body documented and valid against the document (the *_conformance checks); the API refuses
 * what the document says is invalid and accepts what it says is valid (negative_data_rejection,
 * positive_data_acceptance, with the exceptions test/fuzz/schemathesis.toml explains); 401
 * without the secret (ignored_auth). All four phases run: the document's examples, coverage
 * (boundary and invalid values of every parameter), fuzzing, and stateful sequences that follow
 * the document's links (a run id or schedule id from one answer into the next request).
 *
 * Exits with schemathesis's code: 0 when every check passed. Options: --max-examples N (test
 * cases per operation in the fuzzing phase, default 40), --seed N (default FUZZ_SEED, else random;
 * printed, so a run can be repeated), --deadline SECONDS (schemathesis is stopped past it,
 * default 420).
 */

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const reportDir = path.join(projectRoot, '.data', 'fuzz-report');
const stackLog = path.join(reportDir, 'stack.log');
const schemathesisLog = path.join(reportDir, 'schemathesis.log');

const CHECKS = [
  'not_a_server_error',
  'status_code_conformance',
  'content_type_conformance',
  'response_headers_conformance',
  'response_schema_conformance',
  'negative_data_rejection',
  'positive_data_acceptance',
  'ignored_auth',
];

const { values: options } = parseArgs({
  options: {
    'max-examples': { type: 'string', default: '40' },
    seed: { type: 'string', default: process.env.FUZZ_SEED || String(randomInt(1, 2 ** 31)) },
    deadline: { type: 'string', default: '420' },
  },
});

const say = (line: string) => process.stdout.write(`fuzz: ${line}\n`);
const seconds = (since: number) => `${Math.round((Date.now() - since) / 1000)} s`;

/** A port no one listens on now. */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** What a run printed to its log, briefly: its case counts, or its last lines when it failed. */
function schemathesisOutcome(code: number): string {
  const relative = path.relative(projectRoot, schemathesisLog);
  if (code !== 0) {
    return [
      `its last lines (whole log: ${relative}):\n${lastLines(schemathesisLog, 120)}`,
      `the stack's errors (whole log: ${path.relative(projectRoot, stackLog)}):\n${stackErrors()}`,
    ].join('\n');
  }
  const counts = [...readFileSync(schemathesisLog, 'utf8').matchAll(/(\d+) generated/g)];
  const generated = counts.at(-1)?.[1] ?? 'some';
  return `${generated} requests generated, none failed a check (log: ${relative})`;
}

const lastLines = (file: string, count: number): string => {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-count).join('\n');
  } catch {
    return '(no log)';
  }
};

/** The stack's log entries at level error or above (ids and messages only, as every log). */
function stackErrors(): string {
  const errors = lastLines(stackLog, 100_000)
    .split('\n')
    .filter((line) => /"level":(50|60)/.test(line));
  return errors.length > 0 ? errors.slice(-20).join('\n') : '(none)';
}

/** Starts test/fuzz/stack.ts; resolves with the API's URL once it answers. */
function startStack(env: NodeJS.ProcessEnv): { child: ChildProcess; ready: Promise<string> } {
  const log = openSync(stackLog, 'w');
  const entry = path.join(projectRoot, 'test', 'fuzz', 'stack.ts');
  const child = spawn(process.execPath, ['--import', 'tsx', entry], {
    cwd: projectRoot,
    env,
    // A group of its own: a Ctrl-C reaches this process only, which stops the stack in order.
    detached: true,
    stdio: ['ignore', log, log, 'ipc'],
  });
  const ready = new Promise<string>((resolve, reject) => {
    child.once('message', (message: { apiUrl?: string }) => {
      if (message.apiUrl) resolve(message.apiUrl);
    });
    child.once('error', reject);
    child.once('exit', (code) => {
      reject(
        new Error(`the stack exited (${code}) before it was ready:\n${lastLines(stackLog, 30)}`),
      );
    });
  });
  return { child, ready };
}

const stopping = new Map<ChildProcess, Promise<number | null>>();

/** Asks the stack to stop (once), then kills its process group if it is not gone in time. */
function stopStack(child: ChildProcess): Promise<number | null> {
  const already = stopping.get(child);
  if (already) return already;
  const stopped = (async () => {
    if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    child.kill('SIGTERM');
    const timer = setTimeout(() => {
      say('the stack did not stop within 90 s: killing it');
      if (child.pid) process.kill(-child.pid, 'SIGKILL');
    }, 90_000);
    const code = await exited;
    clearTimeout(timer);
    return code;
  })();
  stopping.set(child, stopped);
  return stopped;
}

/**
 * Data for the fuzzer to find: a finished run, its segment and a paused schedule into it. Their
 * ids go into the dictionaries test/fuzz/schemathesis.toml reads, so that the operations on a run
 * or a schedule also get ids that exist (and answer 200, not only 404).
 */
async function seedData(apiUrl: string, secret: string): Promise<void> {
  const call = async (method: string, route: string, body: unknown) => {
    const response = await fetch(`${apiUrl}${route}`, {
      method,
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    const answer = (await response.json()) as {
      runId?: string;
      audience?: { id: string };
      schedule?: { scheduleId: string };
    };
    if (!response.ok) throw new Error(`${method} ${route} answered ${response.status}`);
    return answer;
  };
  const run = await call('POST', '/api/marketing/sync-users', { audienceName: 'Fuzz seed' });
  if (!run.runId || !run.audience) throw new Error('the seed sync did not finish in time');
  const schedule = await call('POST', '/api/marketing/schedules', {
    scheduleId: 'fuzz-weekly',
    cron: '0 6 * * 1',
    paused: true,
    sync: { platform: 'resend', list_id: run.audience.id, sync_type: 'new' },
  });
  const dictionary = (values: string[]) =>
    `${values.map((value) => JSON.stringify(value)).join('\n')}\n`;
  await writeFile(path.join(reportDir, 'run-ids.dict'), dictionary([run.runId]));
  await writeFile(path.join(reportDir, 'segment-ids.dict'), dictionary([run.audience.id]));
  await writeFile(
    path.join(reportDir, 'schedule-ids.dict'),
    dictionary([schedule.schedule?.scheduleId ?? 'fuzz-weekly']),
  );
}

/**
 * Runs schemathesis to its end (or the deadline); resolves with its exit code. On a terminal its
 * progress is shown; otherwise (CI) it goes to a log file, and only its outcome is printed, so the
 * thousands of progress lines and its own closing line do not bury the test suite's summary.
 */
function runSchemathesis(cli: string, args: string[], deadlineMs: number): Promise<number> {
  const output = process.stdout.isTTY ? 'inherit' : openSync(schemathesisLog, 'w');
  return new Promise((resolve, reject) => {
    const child = spawn(cli, args, {
      cwd: projectRoot,
      stdio: ['ignore', output, output],
      env: { ...process.env, NO_COLOR: '1', PYTHONUNBUFFERED: '1' },
    });
    const deadline = setTimeout(() => {
      say(`schemathesis is still running after ${deadlineMs / 1000} s: stopping it`);
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }, deadlineMs);
    const relay = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', relay);
    process.on('SIGTERM', relay);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(deadline);
      process.off('SIGINT', relay);
      process.off('SIGTERM', relay);
      resolve(code ?? 1);
    });
  });
}

async function main(): Promise<number> {
  const started = Date.now();
  await rm(reportDir, { recursive: true, force: true });
  await mkdir(reportDir, { recursive: true });
  const cli = await ensureSchemathesis(projectRoot, say);
  const secret = randomBytes(32).toString('base64url');
  const [postgresPort, temporalPort, temporalUiPort, emulatorPort, loopsPort] = await Promise.all([
    freePort(),
    freePort(),
    freePort(),
    freePort(),
    freePort(),
  ]);
  const dataDir = path.join(projectRoot, '.data', `fuzz-${process.pid}`);
  await mkdir(dataDir, { recursive: true });
  // Nothing from this environment but what finds the tools: never your database or Resend key.
  const env: NodeJS.ProcessEnv = {
    PATH: process.env.PATH,
    HOME: process.env.HOME,
    ...(process.env.TEMPORAL_CLI_PATH ? { TEMPORAL_CLI_PATH: process.env.TEMPORAL_CLI_PATH } : {}),
    FUZZ_DATA_DIR: dataDir,
    MARKETING_API_SECRET: secret,
    PORT: '0',
    LOG_LEVEL: 'info',
    // The fuzzer sends many requests without the secret (ignored_auth expects a 401 to each);
    // the failure limit and its 429 are tested in test/api/auth-failures.test.ts.
    AUTH_FAILURES_PER_MINUTE: '1000000',
    // Long enough for a sync of the demo users to answer 200, short enough to answer 202 often.
    SYNC_WAIT_SECONDS: '3',
    DEV_POSTGRES_PORT: String(postgresPort),
    DEV_TEMPORAL_PORT: String(temporalPort),
    DEV_TEMPORAL_UI_PORT: String(temporalUiPort),
    RESEND_EMULATOR_PORT: String(emulatorPort),
    LOOPS_EMULATOR_PORT: String(loopsPort),
    RESEND_EMULATOR_RATE_LIMIT: '1000',
    DEMO_USERS: '30',
    // The stack's Loops emulator signs with this: a delivery without a valid signature is a 401,
    // as the fuzzer's are.
    LOOPS_WEBHOOK_SECRET: `whsec_${randomBytes(24).toString('base64')}`,
  };

  say(
    `starting Postgres, Temporal, the Resend emulator, a worker and the API (log: ${path.relative(projectRoot, stackLog)})`,
  );
  const { child, ready } = startStack(env);
  const stopOnSignal = () => void stopStack(child);
  process.once('SIGINT', stopOnSignal);
  process.once('SIGTERM', stopOnSignal);
  try {
    const apiUrl = await ready;
    say(`stack ready in ${seconds(started)} at ${apiUrl}`);
    await seedData(apiUrl, secret);
    say(`seed ${options.seed} (FUZZ_SEED=${options.seed} npm run fuzz repeats this run)`);
    const fuzzStarted = Date.now();
    const code = await runSchemathesis(
      cli,
      [
        '--config-file',
        path.join(projectRoot, 'test', 'fuzz', 'schemathesis.toml'),
        'run',
        `${apiUrl}/openapi.json`,
        '--header',
        `Authorization: Bearer ${secret}`,
        '--checks',
        CHECKS.join(','),
        '--max-examples',
        options['max-examples'],
        '--seed',
        options.seed,
        '--report',
        'junit,json,har',
        '--report-dir',
        reportDir,
      ],
      Number(options.deadline) * 1000,
    );
    say(
      `schemathesis ${code === 0 ? 'found no failure' : `failed (exit ${code})`} in ${seconds(fuzzStarted)}`,
    );
    if (!process.stdout.isTTY) say(schemathesisOutcome(code));
    const har = readdirSync(reportDir).find((file) => /^har-.*\.json$/.test(file));
    if (har) {
      const document = (await (await fetch(`${apiUrl}/openapi.json`)).json()) as DocumentPaths;
      const coverage = statusCoverage(path.join(reportDir, har), document);
      say(`the documented statuses each operation answered:\n${formatCoverage(coverage)}`);
    }
    return code;
  } finally {
    const stopped = await stopStack(child);
    if (stopped !== 0) {
      say(
        `the stack did not stop cleanly (exit ${stopped}); its last lines:\n${lastLines(stackLog, 20)}`,
      );
    }
    await rm(dataDir, { recursive: true, force: true });
    say(`done in ${seconds(started)}`);
  }
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`fuzz: ${error instanceof Error ? error.message : String(error)}\n`);
    process.exit(1);
  },
);
