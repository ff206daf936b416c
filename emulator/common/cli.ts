import { z } from 'zod';
import { describeIssues, faultConfigSchema } from './fault-config-schema.js';
import type { FaultConfig } from './faults.js';

/** A command line the emulator cannot run with; printed with the usage text, exit code 2. */
export class CliUsageError extends Error {}

export const cliInt = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const fraction = z.coerce.number().min(0).max(1);

/** `parseArgs` options of the fault flags every emulator takes. */
export const FAULT_FLAG_OPTIONS = {
  faults: { type: 'string' },
  'server-error-rate': { type: 'string' },
  'server-error-status': { type: 'string' },
  'accept-then-fail-rate': { type: 'string' },
  'latency-ms': { type: 'string' },
  'latency-jitter-ms': { type: 'string' },
  'hang-rate': { type: 'string' },
} as const;

/** The shorthand fault flags, checked; merged over `--faults` by {@link faultsFromFlags}. */
export const faultFlagsSchema = z.object({
  serverErrorRate: fraction.optional(),
  serverErrorStatus: z.coerce
    .number()
    .pipe(z.union([z.literal(500), z.literal(502), z.literal(503)]))
    .optional(),
  acceptThenFailRate: fraction.optional(),
  latencyMs: cliInt(0, 600_000).optional(),
  latencyJitterMs: cliInt(0, 600_000).optional(),
  hangRate: fraction.optional(),
});

/** The shorthand flags' raw values, keyed as {@link faultFlagsSchema} reads them. */
export function faultFlagInput(values: Record<string, unknown>) {
  return {
    serverErrorRate: values['server-error-rate'],
    serverErrorStatus: values['server-error-status'],
    acceptThenFailRate: values['accept-then-fail-rate'],
    latencyMs: values['latency-ms'],
    latencyJitterMs: values['latency-jitter-ms'],
    hangRate: values['hang-rate'],
  };
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

/** `--faults` JSON with the shorthand flags that were given laid over it. */
export function faultsFromFlags(
  json: string | undefined,
  flags: z.infer<typeof faultFlagsSchema>,
): FaultConfig {
  const defined = Object.fromEntries(
    Object.entries(flags).filter(([, value]) => value !== undefined),
  );
  return { ...readFaults(json), ...defined };
}
