import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import {
  type ApiConfig,
  apiConfigSchema,
  ConfigError,
  parseConfig,
  workerConfigSchema,
} from '../config/env.js';

type Env = Record<string, string | undefined>;

/** The Resend key the local stack gives the worker when it runs the emulator. */
export const DEV_RESEND_API_KEY = 're_dev_sandbox_key';
/** The database `npm run dev` creates in its embedded Postgres. */
export const DEV_DATABASE = 'audience_sync';

const port = (fallback: number) => {
  const message = 'must be a port number from 1 to 65535';
  return z.coerce
    .number({ error: message })
    .int(message)
    .min(1, message)
    .max(65_535, message)
    .default(fallback);
};

const count = (min: number, max: number, fallback: number) => {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.coerce
    .number({ error: message })
    .int(message)
    .min(min, message)
    .max(max, message)
    .default(fallback);
};

/** Variables only `npm run dev` reads; the service itself never does. */
export const devOnlySchema = z.object({
  DEV_POSTGRES_PORT: port(5433),
  DEV_TEMPORAL_PORT: port(7233),
  DEV_TEMPORAL_UI_PORT: port(8233),
  DEMO_USERS: count(0, 10_000_000, 1000),
  RESEND_EMULATOR_PORT: port(8787),
  RESEND_EMULATOR_RATE_LIMIT: count(1, 1_000_000, 10),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
});

export type DevOnlySettings = z.infer<typeof devOnlySchema>;

/** What the local stack runs itself and what it takes from the environment. */
export interface DevSettings extends DevOnlySettings {
  /** DATABASE_URL when set; else an embedded Postgres is started. */
  externalDatabaseUrl?: string;
  /** TEMPORAL_ADDRESS when set; else a Temporal dev server is started. */
  externalTemporalAddress?: string;
  /** RESEND_API_KEY when set (real Resend); else the emulator is started. */
  externalResendApiKey?: string;
  marketingSecret: string;
  /** True when the secret is the stack's own, not MARKETING_API_SECRET (it is then printed). */
  secretGenerated: boolean;
  /** Where the stack's own secret is kept across restarts, when it is. */
  secretFile?: string;
  logLevel: ApiConfig['LOG_LEVEL'];
  /** The environment the service's own configuration is parsed from. */
  env: Env;
}

const present = (value: string | undefined): string | undefined =>
  value === undefined || value === '' ? undefined : value;

const problemsOf = (parse: () => unknown): string[] => {
  try {
    parse();
    return [];
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
};

/** The stack's own secret when MARKETING_API_SECRET is unset, and the file that keeps it. */
export interface KeptSecret {
  value: string;
  file: string;
}

/**
 * Reads the dev-only variables and checks the service's own configuration before anything
 * starts, with stand-ins for the values the stack provides itself (database, Temporal, Resend,
 * secret). Without MARKETING_API_SECRET the secret is `kept` (read only then), else one made for
 * this session. Throws one ConfigError naming every problem.
 */
export function readDevSettings(env: Env, kept?: () => KeptSecret): DevSettings {
  const configured = present(env.MARKETING_API_SECRET);
  const own = configured
    ? undefined
    : (kept?.() ?? { value: randomBytes(32).toString('base64url'), file: undefined });
  const marketingSecret = configured ?? own?.value ?? '';
  const withStandIns: Env = {
    ...env,
    MARKETING_API_SECRET: marketingSecret,
    DATABASE_URL: present(env.DATABASE_URL) ?? 'postgres://localhost/stand-in',
    RESEND_API_KEY: present(env.RESEND_API_KEY) ?? DEV_RESEND_API_KEY,
  };
  let devOnly: DevOnlySettings | undefined;
  let api: ApiConfig | undefined;
  const problems = [
    ...problemsOf(() => {
      devOnly = parseConfig(devOnlySchema, env);
    }),
    ...problemsOf(() => {
      api = parseConfig(apiConfigSchema, withStandIns);
    }),
    ...problemsOf(() => parseConfig(workerConfigSchema, withStandIns)),
  ];
  // The API and the worker share fields, so the same problem can come from both.
  const unique = [...new Set(problems)];
  if (unique.length > 0 || !devOnly || !api) throw new ConfigError(unique);
  const externalDatabaseUrl = present(env.DATABASE_URL);
  const externalTemporalAddress = present(env.TEMPORAL_ADDRESS);
  const externalResendApiKey = present(env.RESEND_API_KEY);
  return {
    ...devOnly,
    ...(externalDatabaseUrl ? { externalDatabaseUrl } : {}),
    ...(externalTemporalAddress ? { externalTemporalAddress } : {}),
    ...(externalResendApiKey ? { externalResendApiKey } : {}),
    marketingSecret,
    secretGenerated: configured === undefined,
    ...(own?.file ? { secretFile: own.file } : {}),
    logLevel: api.LOG_LEVEL,
    env,
  };
}
