import { isIP } from 'node:net';
import { z } from 'zod';
import { DECLARATIONS, PLATFORM_SETTINGS } from '../activities/platforms/registry.js';
import { booleanFromEnv, httpUrl, intFromEnv } from './fields.js';

/**
 * Every environment variable the service reads, validated in one place. Each process picks the
 * fields it needs, so the worker does not demand the marketing secret. The platforms' variables
 * come from their declarations (the platform registry): both processes read them, the API to know
 * which platforms are configured and for their webhook secrets, the worker to reach them.
 */

/** `users`, or `schema.relation`: plain identifiers only, so the name is never a place for SQL. */
const relationName = z
  .string()
  .regex(
    /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/,
    'must be a table or view name, optionally schema-qualified (letters, digits, underscores)',
  );

/** Names Express (proxy-addr) knows for address ranges, besides addresses and subnets. */
const PROXY_RANGE_NAMES = ['loopback', 'linklocal', 'uniquelocal'];

const isProxyAddress = (item: string): boolean => {
  if (PROXY_RANGE_NAMES.includes(item)) return true;
  const [address = '', prefix, ...rest] = item.split('/');
  const version = isIP(address);
  if (version === 0 || rest.length > 0) return false;
  if (prefix === undefined) return true;
  return /^\d{1,3}$/.test(prefix) && Number(prefix) <= (version === 4 ? 32 : 128);
};

/**
 * Which proxies in front of the API Express believes about the client's address
 * (X-Forwarded-For): unset or `false` trusts none (the socket's address is the client's), a
 * number trusts that many hops, a comma-separated list trusts those addresses, subnets or
 * ranges. `true` (trust everyone) is refused: any client could then pick its own address.
 */
const trustProxy = z.string().transform((value, context): false | number | string[] => {
  const setting = value.trim();
  if (setting === 'false' || setting === '0') return false;
  if (/^\d+$/.test(setting)) {
    const hops = Number(setting);
    if (hops <= 10) return hops;
  }
  const items = setting.split(',').map((item) => item.trim());
  if (setting !== 'true' && items.every(isProxyAddress)) return items;
  context.addIssue({
    code: 'custom',
    message:
      setting === 'true'
        ? 'must not be true (any client could then choose its address): give the number of proxies in front of the API (1..10) or their addresses'
        : 'must be false, a number of proxies (1..10), or a comma-separated list of addresses, subnets (10.0.0.0/8) or loopback, linklocal, uniquelocal',
  });
  return z.NEVER;
});

/**
 * Columns of USERS_SOURCE that `properties` may send, comma-separated; empty: none, so nothing
 * beyond the email and names leaves the database unless an operator allows it.
 */
const columnList = z.string().transform((value, context): string[] => {
  const columns = [...new Set(value.split(',').map((item) => item.trim()))].filter(Boolean);
  const bad = columns.filter((column) => column.length > 63 || column.includes('\u0000'));
  if (bad.length === 0) return columns;
  context.addIssue({
    code: 'custom',
    message: `must be column names (at most 63 characters each), comma-separated; not ${bad.map((column) => JSON.stringify(column.slice(0, 70))).join(', ')}`,
  });
  return z.NEVER;
});

const fields = {
  MARKETING_API_SECRET: z.string().min(32, 'must be at least 32 characters long'),
  DATABASE_URL: z
    .string()
    .regex(/^postgres(ql)?:\/\//, 'must be a postgres:// or postgresql:// connection URL'),
  USERS_SOURCE: relationName.default('users'),
  SYNC_BATCH_SIZE: intFromEnv(1, 1000).default(100),
  // 2: the next batch reads and plans while the one before it sends, so the limit never idles.
  SYNC_BATCHES_IN_FLIGHT: intFromEnv(1, 2).default(2),
  SYNC_WAIT_SECONDS: intFromEnv(0, 600).default(20),
  MAX_CONCURRENT_RUNS: intFromEnv(1, 10_000).default(10),
  // Dry runs write nothing to a platform: they have their own limit.
  MAX_CONCURRENT_DRY_RUNS: intFromEnv(1, 10_000).default(5),
  MAX_SCHEDULES: intFromEnv(1, 100_000).default(100),
  MAX_ACTIVE_ERASURES: intFromEnv(1, 10_000).default(5),
  PROPERTY_COLUMNS: columnList.default([]),
  // Per-user outcomes, idempotency keys and processed webhook ids are deleted after this many days.
  RUN_RETENTION_DAYS: intFromEnv(1, 36_500).default(30),
  // The daily reconciliation erases users whose deleted_at is set.
  ERASE_DELETED_USERS: booleanFromEnv.default(false),
  // At most 55, so a kept count (this old plus one count's duration) stays under SPEC's 60 s.
  PREVIEW_COUNT_REFRESH_SECONDS: intFromEnv(0, 55).default(30),
  PREVIEW_EXACT_MAX_USERS: intFromEnv(0, 1_000_000_000).default(10_000),
  TEMPORAL_ADDRESS: z.string().min(1).default('localhost:7233'),
  TEMPORAL_NAMESPACE: z.string().min(1).default('default'),
  TEMPORAL_TASK_QUEUE: z.string().min(1).default('audience-sync'),
  TEMPORAL_API_KEY: z.string().min(1).optional(),
  TEMPORAL_TLS: booleanFromEnv.optional(),
  TEMPORAL_TLS_CLIENT_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_CLIENT_KEY_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: z.string().min(1).optional(),
  TEMPORAL_TLS_SERVER_NAME: z.string().min(1).optional(),
  WORKFLOW_BUNDLE_PATH: z.string().min(1).optional(),
  // Worker Versioning: the Worker Deployment this worker belongs to and the build it runs.
  // Temporal builds ids from both (with room for a prefix), so each stays short.
  TEMPORAL_DEPLOYMENT_NAME: z
    .string()
    .max(100, 'must be at most 100 characters')
    .regex(/^(?!__)[^.:]+$/, "must not contain '.' or ':' nor start with '__'")
    .optional(),
  TEMPORAL_WORKER_BUILD_ID: z
    .string()
    .max(100, 'must be at most 100 characters')
    .regex(/^(?!__)/, "must not start with '__'")
    .optional(),
  PORT: intFromEnv(0, 65_535).default(3000),
  AUTH_FAILURES_PER_MINUTE: intFromEnv(1, 1_000_000).default(20),
  TRUST_PROXY: trustProxy.default(false),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
  // Where people open the Temporal Web UI; the console links each run to its page there.
  TEMPORAL_UI_URL: httpUrl().optional(),
  // Where the platforms reach this service's API; set, the worker registers the webhook endpoint
  // of each platform whose API allows it and whose webhook secret is not configured.
  PUBLIC_URL: httpUrl().optional(),
};

const temporalFields = {
  TEMPORAL_ADDRESS: fields.TEMPORAL_ADDRESS,
  TEMPORAL_NAMESPACE: fields.TEMPORAL_NAMESPACE,
  TEMPORAL_TASK_QUEUE: fields.TEMPORAL_TASK_QUEUE,
  TEMPORAL_API_KEY: fields.TEMPORAL_API_KEY,
  TEMPORAL_TLS: fields.TEMPORAL_TLS,
  TEMPORAL_TLS_CLIENT_CERT_PATH: fields.TEMPORAL_TLS_CLIENT_CERT_PATH,
  TEMPORAL_TLS_CLIENT_KEY_PATH: fields.TEMPORAL_TLS_CLIENT_KEY_PATH,
  TEMPORAL_TLS_SERVER_CA_CERT_PATH: fields.TEMPORAL_TLS_SERVER_CA_CERT_PATH,
  TEMPORAL_TLS_SERVER_NAME: fields.TEMPORAL_TLS_SERVER_NAME,
};

const mtlsPairIsComplete = (env: {
  TEMPORAL_TLS_CLIENT_CERT_PATH?: string | undefined;
  TEMPORAL_TLS_CLIENT_KEY_PATH?: string | undefined;
}) => !env.TEMPORAL_TLS_CLIENT_CERT_PATH === !env.TEMPORAL_TLS_CLIENT_KEY_PATH;
const mtlsPairMessage = {
  message: 'must be set together with TEMPORAL_TLS_CLIENT_CERT_PATH (mTLS needs both), or neither',
  path: ['TEMPORAL_TLS_CLIENT_KEY_PATH'],
  // Report this even when other fields are invalid, so one message names every problem.
  when: () => true,
};

const versioningPairIsComplete = (env: {
  TEMPORAL_DEPLOYMENT_NAME?: string | undefined;
  TEMPORAL_WORKER_BUILD_ID?: string | undefined;
}) => !env.TEMPORAL_DEPLOYMENT_NAME === !env.TEMPORAL_WORKER_BUILD_ID;
const versioningPairMessage = {
  message:
    'must be set together with TEMPORAL_DEPLOYMENT_NAME (Worker Versioning needs both), or neither',
  path: ['TEMPORAL_WORKER_BUILD_ID'],
  when: () => true,
};

/** A deployment configures at least one platform, and none in particular. */
const somePlatformIsConfigured = (env: Record<string, unknown>) =>
  DECLARATIONS.some((platform) => {
    const credential = env[platform.credential];
    return typeof credential === 'string' && credential !== '';
  });
const somePlatformMessage = {
  message: `needs at least one platform: set ${DECLARATIONS.map(
    (platform) => `${platform.credential} (${platform.title})`,
  ).join(' or ')}`,
  path: [],
  when: () => true,
};

export const apiConfigSchema = z
  .object({
    MARKETING_API_SECRET: fields.MARKETING_API_SECRET,
    DATABASE_URL: fields.DATABASE_URL,
    USERS_SOURCE: fields.USERS_SOURCE,
    SYNC_WAIT_SECONDS: fields.SYNC_WAIT_SECONDS,
    MAX_CONCURRENT_RUNS: fields.MAX_CONCURRENT_RUNS,
    MAX_CONCURRENT_DRY_RUNS: fields.MAX_CONCURRENT_DRY_RUNS,
    MAX_SCHEDULES: fields.MAX_SCHEDULES,
    MAX_ACTIVE_ERASURES: fields.MAX_ACTIVE_ERASURES,
    PROPERTY_COLUMNS: fields.PROPERTY_COLUMNS,
    PREVIEW_COUNT_REFRESH_SECONDS: fields.PREVIEW_COUNT_REFRESH_SECONDS,
    PREVIEW_EXACT_MAX_USERS: fields.PREVIEW_EXACT_MAX_USERS,
    PORT: fields.PORT,
    AUTH_FAILURES_PER_MINUTE: fields.AUTH_FAILURES_PER_MINUTE,
    TRUST_PROXY: fields.TRUST_PROXY,
    LOG_LEVEL: fields.LOG_LEVEL,
    TEMPORAL_UI_URL: fields.TEMPORAL_UI_URL,
    ...PLATFORM_SETTINGS,
    ...temporalFields,
  })
  .refine(mtlsPairIsComplete, mtlsPairMessage)
  .refine(somePlatformIsConfigured, somePlatformMessage);

export const workerConfigSchema = z
  .object({
    DATABASE_URL: fields.DATABASE_URL,
    USERS_SOURCE: fields.USERS_SOURCE,
    SYNC_BATCH_SIZE: fields.SYNC_BATCH_SIZE,
    SYNC_BATCHES_IN_FLIGHT: fields.SYNC_BATCHES_IN_FLIGHT,
    // Runs started by schedules begin in the worker, which keeps them within the same limits.
    MAX_CONCURRENT_RUNS: fields.MAX_CONCURRENT_RUNS,
    MAX_CONCURRENT_DRY_RUNS: fields.MAX_CONCURRENT_DRY_RUNS,
    PROPERTY_COLUMNS: fields.PROPERTY_COLUMNS,
    RUN_RETENTION_DAYS: fields.RUN_RETENTION_DAYS,
    ERASE_DELETED_USERS: fields.ERASE_DELETED_USERS,
    WORKFLOW_BUNDLE_PATH: fields.WORKFLOW_BUNDLE_PATH,
    TEMPORAL_DEPLOYMENT_NAME: fields.TEMPORAL_DEPLOYMENT_NAME,
    TEMPORAL_WORKER_BUILD_ID: fields.TEMPORAL_WORKER_BUILD_ID,
    LOG_LEVEL: fields.LOG_LEVEL,
    PUBLIC_URL: fields.PUBLIC_URL,
    ...PLATFORM_SETTINGS,
    ...temporalFields,
  })
  .refine(mtlsPairIsComplete, mtlsPairMessage)
  .refine(versioningPairIsComplete, versioningPairMessage)
  .refine(somePlatformIsConfigured, somePlatformMessage);

export type ApiConfig = z.infer<typeof apiConfigSchema>;
export type WorkerConfig = z.infer<typeof workerConfigSchema>;
export type TemporalConfig = Pick<WorkerConfig, keyof typeof temporalFields>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`Invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
    this.name = 'ConfigError';
  }
}

type Env = Record<string, string | undefined>;

/** Empty strings count as unset, as in most .env files. */
const withoutEmptyValues = (env: Env): Env =>
  Object.fromEntries(
    Object.entries(env).filter(([, value]) => value !== undefined && value !== ''),
  );

/** Parses the environment with a schema; throws one ConfigError naming every problem. */
export function parseConfig<Schema extends z.ZodType>(schema: Schema, env: Env): z.infer<Schema> {
  const present = withoutEmptyValues(env);
  const result = schema.safeParse(present);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const name = issue.path.join('.') || 'environment';
    const missing = issue.code === 'invalid_type' && present[String(issue.path[0])] === undefined;
    return `${name} ${missing ? 'is required' : issue.message}`;
  });
  throw new ConfigError(problems);
}

/** For process entry points: parse, or print every problem and exit with code 1. */
export function loadConfigOrExit<Schema extends z.ZodType>(
  schema: Schema,
  env: Env = process.env,
): z.infer<Schema> {
  try {
    return parseConfig(schema, env);
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`${error.message}\n`);
    process.exit(1);
  }
}
