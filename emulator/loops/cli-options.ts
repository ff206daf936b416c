import { z } from 'zod';
import {
  CliUsageError,
  faultFlagsUsage,
  parseEmulatorArgs,
  readCommonCliOptions,
} from '../common/cli.js';
import { describeIssues } from '../common/fault-config-schema.js';
import type { LoopsEmulatorOptions } from './options.js';

export const USAGE = `Usage: npm run emulator:loops -- [options]

  --port <n>                  port to listen on, 0 = any free port (LOOPS_EMULATOR_PORT, default 8788)
  --host <host>               interface to listen on (LOOPS_EMULATOR_HOST, default 127.0.0.1)
  --rate-limit <n>            requests per second per team (LOOPS_EMULATOR_RATE_LIMIT, default 10)
  --seed <n>                  seed of the fault randomness (LOOPS_EMULATOR_SEED, default 1)
  --api-keys <k1,k2>          accepted keys (LOOPS_EMULATOR_API_KEYS, default any key)
  --list <name>               a mailing list, repeatable (default one demo list)
  --list-id <id>              the first list's id (LOOPS_EMULATOR_LIST_ID; generated when unset)
${faultFlagsUsage('LOOPS_EMULATOR')}
  --webhook-url <url>         send signed webhook events there (LOOPS_EMULATOR_WEBHOOK_URL)
  --webhook-secret <whsec_…>  their signing secret (LOOPS_EMULATOR_WEBHOOK_SECRET; generated when unset)
  --help                      show this text`;

export { CliUsageError };

const listsSchema = z.object({
  names: z.array(z.string().min(1)).optional(),
  firstId: z.string().regex(/^\w+$/, 'must be letters, digits or _').optional(),
});

/** `--list` names (the demo list by default), the first one with `--list-id` when given. */
function readMailingLists(names: unknown, firstId: unknown) {
  const parsed = listsSchema.safeParse({ names, firstId });
  if (!parsed.success) throw new CliUsageError(`--list-id: ${describeIssues(parsed.error)}`);
  const { names: given, firstId: id } = parsed.data;
  if (!given && !id) return {};
  const lists = (given ?? ['Demo mailing list']).map((name, index) =>
    index === 0 && id ? { id, name } : { name },
  );
  return { mailingLists: lists };
}

/** Flags win over environment variables, which win over defaults. Undefined means "--help". */
export function readLoopsCliOptions(
  argv: string[],
  env: NodeJS.ProcessEnv,
): LoopsEmulatorOptions | undefined {
  const values = parseEmulatorArgs(argv, {
    list: { type: 'string', multiple: true },
    'list-id': { type: 'string' },
  });
  if (!values) return undefined;
  return {
    ...readCommonCliOptions(values, env, 'LOOPS_EMULATOR', 8788),
    ...readMailingLists(values.list, values['list-id'] ?? env.LOOPS_EMULATOR_LIST_ID),
  };
}
