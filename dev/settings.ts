import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { PlatformDeclaration } from '../activities/platforms/declaration.js';
import { DECLARATIONS } from '../activities/platforms/registry.js';
import {
  type ApiConfig,
  apiConfigSchema,
  ConfigError,
  parseConfig,
  workerConfigSchema,
} from '../config/env.js';

type Env = Record<string, string | undefined>;

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

/** Each platform emulator's port and rate limit, as its declaration names them. */
const emulatorFields = Object.fromEntries(
  DECLARATIONS.flatMap(({ emulator }) =>
    emulator
      ? [
          [emulator.port.variable, port(emulator.port.default)],
          [emulator.rateLimit.variable, count(1, 1_000_000, emulator.rateLimit.default)],
        ]
      : [],
  ),
) as Record<string, ReturnType<typeof port>>;

const stackFields = {
  DEV_POSTGRES_PORT: port(5433),
  DEV_TEMPORAL_PORT: port(7233),
  DEV_TEMPORAL_UI_PORT: port(8233),
  DEMO_USERS: count(0, 10_000_000, 1000),
  TEMPORAL_CLI_PATH: z.string().min(1).optional(),
};

/** Variables only `npm run dev` reads; the service itself never does. */
export const devOnlySchema = z.object({ ...emulatorFields, ...stackFields });

export type DevOnlySettings = z.infer<z.ZodObject<typeof stackFields>>;

/** A platform whose credentials are unset: the stack runs its emulator, on this port and rate. */
export interface DevEmulator {
  platform: PlatformDeclaration;
  port: number;
  rateLimit: number;
}

/** What the local stack runs itself and what it takes from the environment. */
export interface DevSettings extends DevOnlySettings {
  /** DATABASE_URL when set; else an embedded Postgres is started. */
  externalDatabaseUrl?: string;
  /** TEMPORAL_ADDRESS when set; else a Temporal dev server is started. */
  externalTemporalAddress?: string;
  /**
   * The platforms whose credentials are unset, in the registry's order: their emulators are
   * started. A platform whose credentials are set is used for real.
   */
  emulators: DevEmulator[];
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

/** The platforms the stack runs an emulator for: declared with one, their credentials unset. */
const emulatedPlatforms = (env: Env) =>
  DECLARATIONS.filter((platform) => platform.emulator && !present(env[platform.credential]));

/** The emulators' ports and rates out of the parsed dev-only variables. */
const emulatorsOf = (env: Env, devOnly: Record<string, unknown>): DevEmulator[] =>
  emulatedPlatforms(env).map((platform) => ({
    platform,
    port: Number(devOnly[platform.emulator?.port.variable ?? '']),
    rateLimit: Number(devOnly[platform.emulator?.rateLimit.variable ?? '']),
  }));

/**
 * Reads the dev-only variables and checks the service's own configuration before anything
 * starts, with stand-ins for the values the stack provides itself (database, Temporal, the
 * emulated platforms' credentials, secret). Without MARKETING_API_SECRET the secret is `kept`
 * (read only then), else one made for this session. Throws one ConfigError naming every problem.
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
    ...Object.fromEntries(
      emulatedPlatforms(env).map((platform) => [
        platform.credential,
        platform.emulator?.devCredential,
      ]),
    ),
  };
  let devOnly: (DevOnlySettings & Record<string, unknown>) | undefined;
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
  return {
    ...devOnly,
    ...(externalDatabaseUrl ? { externalDatabaseUrl } : {}),
    ...(externalTemporalAddress ? { externalTemporalAddress } : {}),
    emulators: emulatorsOf(env, devOnly),
    marketingSecret,
    secretGenerated: configured === undefined,
    ...(own?.file ? { secretFile: own.file } : {}),
    logLevel: api.LOG_LEVEL,
    env,
  };
}
