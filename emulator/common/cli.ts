import { type ParseArgsConfig, parseArgs } from 'node:util';

type ParseArgsOptionsConfig = NonNullable<ParseArgsConfig['options']>;

import { z } from 'zod';
import { describeIssues, faultConfigSchema } from './fault-config-schema.js';
import type { FaultConfig } from './faults.js';
import type { EmulatorServer } from './server.js';
import { webhookSecretSchema, webhookUrlSchema } from './webhook-input.js';

/** A command line the emulator cannot run with; printed with the usage text, exit code 2. */
export class CliUsageError extends Error {}

const cliInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const fraction = z.coerce.number().min(0).max(1);

/** The usage lines of the fault flags, the same for every emulator. */
export function faultFlagsUsage(envPrefix: string): string {
  return `  --faults <json>             a FaultConfig as JSON (${envPrefix}_FAULTS)
  --server-error-rate <f>     fraction of requests answered 5xx
  --server-error-status <n>   500, 502 or 503
  --accept-then-fail-rate <f> fraction of writes applied but answered 500
  --latency-ms <n>            added latency
  --latency-jitter-ms <n>     extra random latency
  --hang-rate <f>             fraction of requests never answered
  --request-log-limit <n>     requests kept in the admin request log (default 100000)`;
}

/** `parseArgs` options of the flags every emulator takes. */
export const EMULATOR_FLAG_OPTIONS = {
  port: { type: 'string' },
  host: { type: 'string' },
  'rate-limit': { type: 'string' },
  seed: { type: 'string' },
  'api-keys': { type: 'string' },
  faults: { type: 'string' },
  'server-error-rate': { type: 'string' },
  'server-error-status': { type: 'string' },
  'accept-then-fail-rate': { type: 'string' },
  'latency-ms': { type: 'string' },
  'latency-jitter-ms': { type: 'string' },
  'hang-rate': { type: 'string' },
  'request-log-limit': { type: 'string' },
  'webhook-url': { type: 'string' },
  'webhook-secret': { type: 'string' },
  help: { type: 'boolean' },
} as const;

function settingsSchema(defaultPort: number) {
  return z.object({
    serverErrorRate: fraction.optional(),
    serverErrorStatus: z.coerce
      .number()
      .pipe(z.union([z.literal(500), z.literal(502), z.literal(503)]))
      .optional(),
    acceptThenFailRate: fraction.optional(),
    latencyMs: cliInt(0, 600_000).optional(),
    latencyJitterMs: cliInt(0, 600_000).optional(),
    hangRate: fraction.optional(),
    port: cliInt(0, 65_535).default(defaultPort),
    host: z.string().min(1).default('127.0.0.1'),
    rateLimit: cliInt(1, 1_000_000).default(10),
    seed: cliInt(-2_147_483_648, 4_294_967_295).optional(),
    apiKeys: z.string().optional(),
    faults: z.string().optional(),
    requestLogLimit: cliInt(1, 100_000_000).optional(),
    webhookUrl: webhookUrlSchema.optional(),
    webhookSecret: webhookSecretSchema.optional(),
  });
}

function readFaults(json: string | undefined): FaultConfig {
  if (json === undefined) return {};
  let value: unknown;
  try {
    value = JSON.parse(json);
  } catch {
    throw new CliUsageError('--faults must be JSON.');
  }
  const result = faultConfigSchema.safeParse(value);
  if (!result.success) throw new CliUsageError(`--faults: ${describeIssues(result.error)}`);
  return result.data;
}

/** The options every emulator shares, read from the command line and then the environment. */
export interface CommonCliOptions {
  port: number;
  host: string;
  rateLimit: number;
  seed?: number;
  requestLogLimit?: number;
  apiKeys?: string[];
  faults: FaultConfig;
  webhook?: { url: string; secret?: string };
}

type FlagValues = Record<string, string | boolean | string[] | undefined>;
const flag = (values: FlagValues, name: string) => values[name] as string | undefined;

/**
 * The shared flags: flags win over `<envPrefix>_…` variables, which win over defaults; the
 * shorthand fault flags are laid over `--faults`.
 */
export function readCommonCliOptions(
  values: FlagValues,
  env: NodeJS.ProcessEnv,
  envPrefix: string,
  defaultPort: number,
): CommonCliOptions {
  const fromEnv = (name: string) => env[`${envPrefix}_${name}`];
  const parsed = settingsSchema(defaultPort).safeParse({
    port: flag(values, 'port') ?? fromEnv('PORT'),
    host: flag(values, 'host') ?? fromEnv('HOST'),
    rateLimit: flag(values, 'rate-limit') ?? fromEnv('RATE_LIMIT'),
    seed: flag(values, 'seed') ?? fromEnv('SEED'),
    apiKeys: flag(values, 'api-keys') ?? fromEnv('API_KEYS'),
    faults: flag(values, 'faults') ?? fromEnv('FAULTS'),
    serverErrorRate: flag(values, 'server-error-rate'),
    serverErrorStatus: flag(values, 'server-error-status'),
    acceptThenFailRate: flag(values, 'accept-then-fail-rate'),
    latencyMs: flag(values, 'latency-ms'),
    latencyJitterMs: flag(values, 'latency-jitter-ms'),
    hangRate: flag(values, 'hang-rate'),
    requestLogLimit: flag(values, 'request-log-limit'),
    webhookUrl: flag(values, 'webhook-url') ?? fromEnv('WEBHOOK_URL'),
    webhookSecret: flag(values, 'webhook-secret') ?? fromEnv('WEBHOOK_SECRET'),
  });
  if (!parsed.success) throw new CliUsageError(describeIssues(parsed.error));
  const { apiKeys, faults, port, host, rateLimit, seed, requestLogLimit, ...rest } = parsed.data;
  const { webhookUrl, webhookSecret: secret, ...faultFlags } = rest;
  if (secret !== undefined && webhookUrl === undefined) {
    throw new CliUsageError('--webhook-secret needs --webhook-url.');
  }
  const keys = apiKeys
    ?.split(',')
    .map((key) => key.trim())
    .filter((key) => key.length > 0);
  const definedFlags = Object.fromEntries(
    Object.entries(faultFlags).filter(([, value]) => value !== undefined),
  );
  return {
    port,
    host,
    rateLimit,
    ...(seed === undefined ? {} : { seed }),
    ...(requestLogLimit === undefined ? {} : { requestLogLimit }),
    ...(keys && keys.length > 0 ? { apiKeys: keys } : {}),
    ...(webhookUrl ? { webhook: { url: webhookUrl, ...(secret ? { secret } : {}) } } : {}),
    faults: { ...readFaults(faults), ...definedFlags },
  };
}

/** Parses the command line with the shared flags plus `extra`; undefined values for `--help`. */
export function parseEmulatorArgs(
  argv: string[],
  extra: ParseArgsOptionsConfig,
): FlagValues | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: { ...EMULATOR_FLAG_OPTIONS, ...extra },
  });
  const flags = values as FlagValues;
  return flags.help ? undefined : flags;
}

/**
 * Runs an emulator from the command line: reads the options (usage errors exit 2), starts it,
 * prints what `describe` says, and closes cleanly on SIGINT or SIGTERM.
 */
export function runEmulatorCli<Options, Started extends Pick<EmulatorServer, 'close'>>(cli: {
  label: string;
  usage: string;
  read: (argv: string[], env: NodeJS.ProcessEnv) => Options | undefined;
  start: (options: Options) => Promise<Started>;
  describe: (started: Started) => string[];
}): void {
  const main = async () => {
    let options: Options | undefined;
    try {
      options = cli.read(process.argv.slice(2), process.env);
    } catch (error) {
      if (!(error instanceof CliUsageError || error instanceof TypeError)) throw error;
      console.error(`${error.message}\n\n${cli.usage}`);
      process.exitCode = 2;
      return;
    }
    if (!options) {
      console.log(cli.usage);
      return;
    }
    const emulator = await cli.start(options);
    for (const line of cli.describe(emulator)) console.log(line);
    const stop = () => {
      emulator.close().then(
        () => process.exit(0),
        (error: unknown) => {
          console.error(`${cli.label}: failed to close:`, error);
          process.exit(1);
        },
      );
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  };
  main().catch((error: unknown) => {
    console.error(`${cli.label} failed to start:`, error);
    process.exitCode = 1;
  });
}
