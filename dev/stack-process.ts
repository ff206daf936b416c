import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Runtime } from '@temporalio/worker';
import { ConfigError } from '../config/env.js';
import { createLogger } from '../telemetry/logger.js';
import { temporalLogger } from '../telemetry/temporal-logger.js';
import { renderBanner } from './banner.js';
import { DEV_SECRET_FILE, keptDevSecret } from './dev-secret.js';
import { type DevSettings, readDevSettings } from './settings.js';
import { type DevStack, startDevStack } from './stack.js';
import { describeStartFailure } from './start-failure.js';
import { DATA_DIR, OWN_PROCESS_GROUP, STARTED_AT } from './supervisor-env.js';

/**
 * The local stack in one process: Postgres, Temporal and the platforms' emulators (those
 * whose credentials are unset), the worker and the API in here. Normally started by dev/main.ts in a process group of its own.
 */

/** A terminal's Ctrl-C can arrive twice (directly and relayed by npm); only a later one forces. */
const FORCE_AFTER_MS = 1000;

const projectRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dataDir = path.resolve(process.env[DATA_DIR] || path.join(projectRoot, '.data'));
const startedAt = Number(process.env[STARTED_AT]) || Date.now() - performance.now();

const envFile = path.join(projectRoot, '.env');
// Variables already in the environment win over the file.
if (existsSync(envFile)) process.loadEnvFile(envFile);

let settings: DevSettings;
try {
  settings = readDevSettings(process.env, () => ({
    value: keptDevSecret(dataDir),
    file: path.join(dataDir, DEV_SECRET_FILE),
  }));
} catch (error) {
  if (!(error instanceof ConfigError)) throw error;
  process.stderr.write(`${error.message}\n`);
  process.exit(1);
}

// Written synchronously: this process ends itself with process.exit, right after its last lines
// (the teardown's `stopped`, then the failure message), and those must come out in order.
const logger = createLogger(settings.logLevel, 'audience-sync-dev', { sync: true });
// Installed before anything Temporal starts (the dev server too), so every Temporal log line goes
// through our logger, and without signal handlers: the stack decides when the worker stops.
Runtime.install({
  logger: temporalLogger(logger, settings.logLevel),
  shutdownSignals: [],
});

const abort = new AbortController();
let stack: DevStack | undefined;
let stopRequestedAt: number | undefined;
let exitCode = 0;
let stopping: Promise<never> | undefined;
/** What ended the start, when something did (not a Ctrl-C): the message the stack exits with. */
let startFailure: { error: unknown } | undefined;

function requestStop(reason: string, code: number): void {
  if (stopRequestedAt !== undefined) return;
  stopRequestedAt = Date.now();
  exitCode = code;
  logger.info({ reason }, 'stopping');
  abort.abort(new Error(`stopped: ${reason}`));
  if (stack) void stopStack(stack);
}

function stopStack(started: DevStack): Promise<never> {
  stopping ??= started.teardown.run(logger).then((clean) => {
    logger.info('stopped');
    process.exit(clean ? exitCode : 1);
  });
  return stopping;
}

function forceExit(signal: string): never {
  logger.warn({ signal }, 'forced exit');
  if (process.env[OWN_PROCESS_GROUP] === '1') {
    // Postgres and the Temporal server are in this process's group: do not leave them running.
    process.kill(-process.pid, 'SIGTERM');
  }
  process.exit(130);
}

function onSignal(signal: NodeJS.Signals): void {
  if (stopRequestedAt === undefined) requestStop(signal, 0);
  else if (Date.now() - stopRequestedAt >= FORCE_AFTER_MS) forceExit(signal);
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, onSignal);
// The supervisor holds an IPC channel: when it goes away, nobody is left to send Ctrl-C.
process.on('disconnect', () => requestStop('supervisor exited', 1));
const fail = (what: string) => (error: unknown) => {
  logger.fatal({ err: error instanceof Error ? error.message : String(error) }, what);
  if (!stack) startFailure ??= { error };
  requestStop(what, 1);
};
process.on('uncaughtException', fail('uncaught exception'));
process.on('unhandledRejection', fail('unhandled rejection'));

try {
  stack = await startDevStack({ settings, dataDir, logger, signal: abort.signal });
} catch (error) {
  // startDevStack has stopped whatever started, and waited for what was still starting.
  if (!abort.signal.aborted) startFailure ??= { error };
  if (startFailure) {
    process.stderr.write(`\n${describeStartFailure(startFailure.error, stackPorts(settings))}\n`);
    process.exit(1);
  }
  process.exit(exitCode);
}

if (abort.signal.aborted) {
  await stopStack(stack);
}
stack.workerStopped.then(() => requestStop('worker stopped', 1), fail('worker failed'));
process.stdout.write(
  renderBanner({
    info: stack.info,
    secret: {
      value: settings.marketingSecret,
      generated: settings.secretGenerated,
      ...(settings.secretFile ? { file: settings.secretFile } : {}),
    },
    startupMs: Date.now() - startedAt,
    cwd: process.cwd(),
  }),
);

/** The ports the stack opens itself, by the variable that moves each. */
function stackPorts(started: DevSettings): Record<string, number> {
  return {
    ...(started.externalDatabaseUrl ? {} : { DEV_POSTGRES_PORT: started.DEV_POSTGRES_PORT }),
    ...(started.externalTemporalAddress
      ? {}
      : {
          DEV_TEMPORAL_PORT: started.DEV_TEMPORAL_PORT,
          DEV_TEMPORAL_UI_PORT: started.DEV_TEMPORAL_UI_PORT,
        }),
    ...Object.fromEntries(
      started.emulators.flatMap(({ platform, port }) =>
        platform.emulator ? [[platform.emulator.port.variable, port]] : [],
      ),
    ),
    PORT: Number(started.env.PORT) || 3000,
  };
}
