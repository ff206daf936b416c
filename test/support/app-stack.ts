import type { Client } from '@temporalio/client';
import { afterEach } from 'vitest';
import { type ApiServerDeps, type StartedApi, startApiServer } from '../../api/server.js';
import type { ApiConfig, WorkerConfig } from '../../config/env.js';
import { type DemoMix, seedDemoUsers } from '../../db/demo-users.js';
import {
  type LoopsEmulatorOptions,
  type StartedLoopsEmulator,
  startLoopsEmulator,
} from '../../emulator/loops/index.js';
import {
  type ResendEmulatorOptions,
  type StartedResendEmulator,
  startResendEmulator,
} from '../../emulator/resend/index.js';
import { createLogger } from '../../telemetry/logger.js';
import {
  connectTestClient,
  createTestDatabase,
  type RunningWorker,
  startTestWorker,
  TEST_LOOPS_KEY,
  TEST_SECRET,
  type TestDatabase,
  testApiConfig,
  testWorkerConfig,
  waitFor,
} from './stack.js';

/**
 * Everything a test of the product needs, real and wired as in production: its own database with
 * users, a Resend emulator, a worker on its own task queue, the API and a Temporal client.
 */
export interface AppStack {
  db: TestDatabase;
  emulator: StartedResendEmulator;
  /** Present when the stack was asked for Loops: its emulator, configured for worker and API. */
  loops?: StartedLoopsEmulator;
  workerConfig: WorkerConfig;
  apiConfig: ApiConfig;
  /** Absent when the test runs its workers itself (e.g. as child processes). */
  worker?: RunningWorker;
  api: StartedApi;
  client: Client;
  /** Calls the API with the Bearer secret (unless headers override it). */
  call(
    method: string,
    path: string,
    body?: unknown,
    headers?: Record<string, string>,
  ): Promise<ApiAnswer>;
  stop(): Promise<void>;
}

export interface ApiAnswer {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: answers are asserted field by field in tests
  body: any;
}

export interface AppStackOptions {
  users?: number;
  mix?: DemoMix;
  emulator?: ResendEmulatorOptions;
  /** Also runs a Loops emulator, and configures the service for it (LOOPS_RATE_LIMIT its limit). */
  loops?: LoopsEmulatorOptions;
  worker?: Partial<Record<keyof WorkerConfig, string>>;
  api?: Partial<Record<keyof ApiConfig, string>>;
  /** Start a worker in this process (default true). */
  inProcessWorker?: boolean;
  /** Runs on the migrated database before the worker and the API start (e.g. to add a view). */
  beforeStart?: (db: TestDatabase) => Promise<void>;
  /** The console's pages (default: the built ones in dist/console). */
  consoleAssets?: ApiServerDeps['consoleAssets'];
}

/**
 * For files whose tests each start a stack of their own (with options of their own): the
 * function that starts it; the stack is stopped after its test.
 */
export function stackPerTest(): (options?: AppStackOptions) => Promise<AppStack> {
  let started: AppStack | undefined;
  afterEach(async () => {
    await started?.stop();
    started = undefined;
  });
  return async (options) => {
    started = await startAppStack(options);
    return started;
  };
}

export async function startAppStack(options: AppStackOptions = {}): Promise<AppStack> {
  const db = await createTestDatabase();
  if (options.users) {
    await seedDemoUsers(db.sql, { count: options.users, mix: options.mix ?? 'demo' });
  }
  await options.beforeStart?.(db);
  const emulator = await startResendEmulator({ rateLimit: 200, ...options.emulator });
  const loops = options.loops ? await startLoopsEmulator(options.loops) : undefined;
  const loopsSettings = loops
    ? {
        LOOPS_API_KEY: TEST_LOOPS_KEY,
        LOOPS_BASE_URL: loops.apiRoot,
        LOOPS_RATE_LIMIT: String(options.loops?.rateLimit ?? 10),
      }
    : {};
  const workerConfig = testWorkerConfig({
    DATABASE_URL: db.url,
    RESEND_BASE_URL: emulator.url,
    ...loopsSettings,
    ...options.worker,
  });
  const worker =
    options.inProcessWorker === false ? undefined : await startTestWorker(workerConfig, db.sql);
  const apiConfig = testApiConfig({
    DATABASE_URL: db.url,
    TEMPORAL_TASK_QUEUE: workerConfig.TEMPORAL_TASK_QUEUE,
    ...(loops ? { LOOPS_API_KEY: TEST_LOOPS_KEY } : {}),
    ...options.api,
  });
  const client = await connectTestClient();
  const api = await startApiServer({
    config: apiConfig,
    sql: db.sql,
    temporal: client,
    logger: createLogger('silent'),
    ...(options.consoleAssets ? { consoleAssets: options.consoleAssets } : {}),
  });

  return {
    db,
    emulator,
    ...(loops ? { loops } : {}),
    workerConfig,
    apiConfig,
    worker,
    api,
    client,
    call: apiCaller(api.url),
    async stop() {
      await api.close();
      await worker?.stop();
      await client.connection.close();
      await emulator.close();
      await loops?.close();
      await db.drop();
    },
  };
}

/** Calls an API at `apiUrl` with the Bearer secret (unless headers override it). */
export function apiCaller(apiUrl: string): AppStack['call'] {
  return async (method, path, body, headers = {}) => {
    const response = await fetch(`${apiUrl}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${TEST_SECRET}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        ...headers,
      },
      ...(body === undefined
        ? {}
        : { body: typeof body === 'string' ? body : JSON.stringify(body) }),
    });
    const text = await response.text();
    return {
      status: response.status,
      headers: response.headers,
      body: text ? JSON.parse(text) : undefined,
    };
  };
}

/** The emulator's admin API, for assertions on what Resend would hold. */
export async function emulatorAdmin<T>(emulator: StartedResendEmulator, path: string): Promise<T> {
  const response = await fetch(`${emulator.url}/_emulator${path}`);
  if (!response.ok) throw new Error(`emulator admin ${path} answered ${response.status}`);
  return (await response.json()) as T;
}

export interface EmulatedContact {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  unsubscribed: boolean;
  /** Contact properties by key, as the emulator stores them. */
  properties?: Record<string, string | number>;
  segment_ids: string[];
}

export async function emulatedContacts(
  emulator: StartedResendEmulator,
  query = '',
): Promise<EmulatedContact[]> {
  const answer = await emulatorAdmin<{ data: EmulatedContact[] }>(
    emulator,
    `/contacts?limit=100000${query}`,
  );
  return answer.data;
}

export interface LoggedRequest {
  seq: number;
  at: string;
  method: string;
  path: string;
  status: number;
  outcome: string;
  key?: string;
}

export async function requestLog(
  emulator: StartedResendEmulator,
  query = '',
): Promise<LoggedRequest[]> {
  const answer = await emulatorAdmin<{ data: LoggedRequest[] }>(
    emulator,
    `/requests?limit=1000000${query}`,
  );
  return answer.data;
}

/** Emails that were sent to `POST /contacts` more than once, with their counts. */
export function repeatedCreates(log: LoggedRequest[]): Map<string, number> {
  const creates = new Map<string, number>();
  for (const entry of log) {
    if (entry.method !== 'POST' || entry.path !== '/contacts' || !entry.key) continue;
    creates.set(entry.key, (creates.get(entry.key) ?? 0) + 1);
  }
  return new Map([...creates].filter(([, count]) => count > 1));
}

/** Emails that `POST /contacts` created (answered 201), with how many times each. */
export function successfulCreates(log: LoggedRequest[]): Map<string, number> {
  const creates = new Map<string, number>();
  for (const entry of log) {
    if (entry.method !== 'POST' || entry.path !== '/contacts' || entry.status !== 201) continue;
    creates.set(entry.key ?? '', (creates.get(entry.key ?? '') ?? 0) + 1);
  }
  return creates;
}

/** A segment made in the emulator directly, as someone would in Resend's dashboard. */
export async function createEmulatorSegment(
  emulator: StartedResendEmulator,
  name: string,
): Promise<string> {
  const response = await fetch(`${emulator.url}/_emulator/segments`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  if (!response.ok) throw new Error(`creating a segment answered ${response.status}`);
  return ((await response.json()) as { id: string }).id;
}

export interface SeedContact {
  email: string;
  first_name?: string | null;
  last_name?: string | null;
  unsubscribed?: boolean;
  segment_ids?: string[];
}

/** Changes the emulator's settings (rate limit, import timing and faults) while it runs. */
export async function setEmulatorConfig(
  emulator: StartedResendEmulator,
  config: Record<string, unknown>,
): Promise<void> {
  const response = await fetch(`${emulator.url}/_emulator/config`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(config),
  });
  if (!response.ok) throw new Error(`the emulator's config answered ${response.status}`);
}

/** The run's status body, as the status endpoint answers it. */
export const runStatusOf = async (stack: AppStack, runId: string) =>
  (await stack.call('GET', `/api/marketing/sync-users/${encodeURIComponent(runId)}`)).body;

/** Contacts that exist in Resend before a sync, loaded through the emulator's admin API. */
export async function seedEmulatorContacts(
  emulator: StartedResendEmulator,
  contacts: SeedContact[],
): Promise<string[]> {
  const response = await fetch(`${emulator.url}/_emulator/contacts/bulk`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ contacts }),
  });
  if (!response.ok) throw new Error(`seeding contacts answered ${response.status}`);
  return ((await response.json()) as { ids: string[] }).ids;
}

/** SPEC's eligibility, written independently of the service's own SQL, for test expectations. */
export const ELIGIBLE_SQL = `deleted_at is null and not marketing_opt_out
  and lower(btrim(email)) ~ '^[^@[:space:]]+@[^@[:space:]]+[.][^@[:space:]]+$'`;

/** Eligible distinct emails (lowercased, sorted) of the users matching an extra SQL filter. */
export async function eligibleEmails(stack: AppStack, filter = 'true'): Promise<string[]> {
  const rows = await stack.db.sql.unsafe<{ email: string }[]>(
    `select distinct lower(btrim(email)) as email from users where ${ELIGIBLE_SQL} and ${filter} order by 1`,
  );
  return rows.map((row) => row.email);
}

/** Polls the status endpoint until the run has ended; returns its status body. */
export async function waitForRunEnd(stack: AppStack, runId: string, timeoutMs = 180_000) {
  return waitFor(
    async () => {
      const status = await stack.call(
        'GET',
        `/api/marketing/sync-users/${encodeURIComponent(runId)}`,
      );
      const { status: state } = status.body;
      return status.status === 200 && state !== 'running' && state !== 'paused' && status.body;
    },
    { timeoutMs, intervalMs: 200, what: `run ${runId} to end` },
  );
}
