import {
  CliUsageError,
  faultFlagsUsage,
  parseEmulatorArgs,
  readCommonCliOptions,
} from '../common/cli.js';
import type { ResendEmulatorOptions } from './options.js';

export const USAGE = `Usage: npm run emulator:resend -- [options]

  --port <n>                  port to listen on, 0 = any free port (RESEND_EMULATOR_PORT, default 8787)
  --host <host>               interface to listen on (RESEND_EMULATOR_HOST, default 127.0.0.1)
  --rate-limit <n>            requests per second per team (RESEND_EMULATOR_RATE_LIMIT, default 10)
  --seed <n>                  seed of the fault randomness (RESEND_EMULATOR_SEED, default 1)
  --api-keys <k1,k2>          accepted keys (RESEND_EMULATOR_API_KEYS, default any re_ key)
  --keep-omitted-fields       a duplicate POST /contacts leaves omitted fields alone
${faultFlagsUsage('RESEND_EMULATOR')}
  --webhook-url <url>         send Svix-signed webhook events there (RESEND_EMULATOR_WEBHOOK_URL)
  --webhook-secret <whsec_…>  their signing secret (RESEND_EMULATOR_WEBHOOK_SECRET; generated when unset)
  --help                      show this text`;

export { CliUsageError };

/** Flags win over environment variables, which win over defaults. Undefined means "--help". */
export function readCliOptions(
  argv: string[],
  env: NodeJS.ProcessEnv,
): ResendEmulatorOptions | undefined {
  const values = parseEmulatorArgs(argv, { 'keep-omitted-fields': { type: 'boolean' } });
  if (!values) return undefined;
  const { webhook, ...common } = readCommonCliOptions(values, env, 'RESEND_EMULATOR', 8787);
  return {
    ...common,
    ...(webhook ? { webhooks: [webhook] } : {}),
    resetOmittedFieldsOnDuplicateCreate: !values['keep-omitted-fields'],
  };
}
