import { parseArgs } from 'node:util';
import { z } from 'zod';
import { describeIssues, faultConfigSchema } from './fault-config-schema.js';
import type { FaultConfig, ResendEmulatorOptions } from './options.js';

export const USAGE = `Usage: npm run emulator:resend -- [options]

  --port <n>                  port to listen on, 0 = any free port (RESEND_EMULATOR_PORT, default 8787)
  --host <host>               interface to listen on (RESEND_EMULATOR_HOST, default 127.0.0.1)
  --rate-limit <n>            requests per second per team (RESEND_EMULATOR_RATE_LIMIT, default 10)
  --seed <n>                  seed of the fault randomness (RESEND_EMULATOR_SEED, default 1)
  --api-keys <k1,k2>          accepted keys (RESEND_EMULATOR_API_KEYS, default any re_ key)
  --keep-omitted-fields       a duplicate POST /contacts leaves omitted fields alone
  --faults <json>             a FaultConfig as JSON (RESEND_EMULATOR_FAULTS)
  --server-error-rate <f>     fraction of requests answered 5xx
  --server-error-status <n>   500, 502 or 503
  --accept-then-fail-rate <f> fraction of writes applied but answered 500
  --latency-ms <n>            added latency
  --latency-jitter-ms <n>     extra random latency
  --hang-rate <f>             fraction of requests never answered
  --request-log-limit <n>     requests kept in the admin request log (default 100000)
  --webhook-url <url>         send Svix-signed webhook events there (RESEND_EMULATOR_WEBHOOK_URL)
  --webhook-secret <whsec_…>  their signing secret (RESEND_EMULATOR_WEBHOOK_SECRET; generated when unset)
  --help                      show this text`;

const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const fraction = z.coerce.number().min(0).max(1);

const settingsSchema = z.object({
  port: int(0, 65_535).default(8787),
  host: z.string().min(1).default('127.0.0.1'),
  rateLimit: int(1, 1_000_000).default(10),
  seed: int(-2_147_483_648, 4_294_967_295).optional(),
  apiKeys: z.string().optional(),
  faults: z.string().optional(),
  serverErrorRate: fraction.optional(),
  serverErrorStatus: z.coerce
    .number()
    .pipe(z.union([z.literal(500), z.literal(502), z.literal(503)]))
    .optional(),
  acceptThenFailRate: fraction.optional(),
  latencyMs: int(0, 600_000).optional(),
  latencyJitterMs: int(0, 600_000).optional(),
  hangRate: fraction.optional(),
  requestLogLimit: int(1, 100_000_000).optional(),
  webhookUrl: z.url({ protocol: /^https?$/ }).optional(),
  webhookSecret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_ followed by base64')
    .optional(),
});

export class CliUsageError extends Error {}

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

/** Flags win over environment variables, which win over defaults. Undefined means "--help". */
export function readCliOptions(
  argv: string[],
  env: NodeJS.ProcessEnv,
): ResendEmulatorOptions | undefined {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'rate-limit': { type: 'string' },
      seed: { type: 'string' },
      'api-keys': { type: 'string' },
      'keep-omitted-fields': { type: 'boolean' },
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
    },
  });
  if (values.help) return undefined;
  const parsed = settingsSchema.safeParse({
    port: values.port ?? env.RESEND_EMULATOR_PORT,
    host: values.host ?? env.RESEND_EMULATOR_HOST,
    rateLimit: values['rate-limit'] ?? env.RESEND_EMULATOR_RATE_LIMIT,
    seed: values.seed ?? env.RESEND_EMULATOR_SEED,
    apiKeys: values['api-keys'] ?? env.RESEND_EMULATOR_API_KEYS,
    faults: values.faults ?? env.RESEND_EMULATOR_FAULTS,
    serverErrorRate: values['server-error-rate'],
    serverErrorStatus: values['server-error-status'],
    acceptThenFailRate: values['accept-then-fail-rate'],
    latencyMs: values['latency-ms'],
    latencyJitterMs: values['latency-jitter-ms'],
    hangRate: values['hang-rate'],
    requestLogLimit: values['request-log-limit'],
    webhookUrl: values['webhook-url'] ?? env.RESEND_EMULATOR_WEBHOOK_URL,
    webhookSecret: values['webhook-secret'] ?? env.RESEND_EMULATOR_WEBHOOK_SECRET,
  });
  if (!parsed.success) throw new CliUsageError(describeIssues(parsed.error));
  const {
    apiKeys,
    faults,
    port,
    host,
    rateLimit,
    seed,
    requestLogLimit,
    webhookUrl,
    webhookSecret,
    ...faultFlags
  } = parsed.data;
  if (webhookSecret !== undefined && webhookUrl === undefined) {
    throw new CliUsageError('--webhook-secret needs --webhook-url.');
  }
  const definedFlags = Object.fromEntries(
    Object.entries(faultFlags).filter(([, value]) => value !== undefined),
  );
  const keys = apiKeys
    ?.split(',')
    .map((key) => key.trim())
    .filter((key) => key.length > 0);
  return {
    port,
    host,
    rateLimit,
    ...(seed === undefined ? {} : { seed }),
    ...(requestLogLimit === undefined ? {} : { requestLogLimit }),
    ...(keys && keys.length > 0 ? { apiKeys: keys } : {}),
    ...(webhookUrl
      ? { webhooks: [{ url: webhookUrl, ...(webhookSecret ? { secret: webhookSecret } : {}) }] }
      : {}),
    resetOmittedFieldsOnDuplicateCreate: !values['keep-omitted-fields'],
    faults: { ...readFaults(faults), ...definedFlags },
  };
}
