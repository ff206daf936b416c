import { parseArgs } from 'node:util';
import { z } from 'zod';
import {
  CliUsageError,
  cliInt,
  FAULT_FLAG_OPTIONS,
  faultFlagInput,
  faultFlagsSchema,
  faultsFromFlags,
} from '../common/cli.js';
import { describeIssues } from '../common/fault-config-schema.js';
import type { ResendEmulatorOptions } from './options.js';

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

const settingsSchema = faultFlagsSchema.extend({
  port: cliInt(0, 65_535).default(8787),
  host: z.string().min(1).default('127.0.0.1'),
  rateLimit: cliInt(1, 1_000_000).default(10),
  seed: cliInt(-2_147_483_648, 4_294_967_295).optional(),
  apiKeys: z.string().optional(),
  faults: z.string().optional(),
  requestLogLimit: cliInt(1, 100_000_000).optional(),
  webhookUrl: z.url({ protocol: /^https?$/ }).optional(),
  webhookSecret: z
    .string()
    .regex(/^whsec_[A-Za-z0-9+/]+={0,2}$/, 'must be whsec_ followed by base64')
    .optional(),
});

export { CliUsageError };

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
      ...FAULT_FLAG_OPTIONS,
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
    ...faultFlagInput(values),
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
    faults: faultsFromFlags(faults, faultFlags),
  };
}
