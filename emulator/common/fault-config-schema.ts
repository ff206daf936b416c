import { z } from 'zod';
import type { FaultConfig } from './faults.js';

const fraction = z.number().min(0).max(1);
const milliseconds = z.number().int().min(0);

const routeMatcherSchema = z.object({
  method: z.string().min(1).optional(),
  path: z.string().startsWith('/'),
});

/** Validates a {@link FaultConfig} received as JSON (admin API, CLI flag or environment). */
export const faultConfigSchema = z.strictObject({
  serverErrorRate: fraction.optional(),
  serverErrorStatus: z.union([z.literal(500), z.literal(502), z.literal(503)]).optional(),
  serverErrorRoute: routeMatcherSchema.optional(),
  acceptThenFailRate: fraction.optional(),
  acceptThenFailRoute: routeMatcherSchema.optional(),
  latencyMs: milliseconds.optional(),
  latencyJitterMs: milliseconds.optional(),
  latencyRoute: routeMatcherSchema.optional(),
  hangRate: fraction.optional(),
  hangRoute: routeMatcherSchema.optional(),
  rateLimitStorm: z
    .strictObject({
      untilMs: z.number().int().optional(),
      durationMs: milliseconds.optional(),
      rate: fraction.optional(),
      retryAfterSeconds: z.number().int().min(0).optional(),
      route: routeMatcherSchema.optional(),
    })
    .optional(),
}) satisfies z.ZodType<FaultConfig>;

/** The body of `PUT /_emulator/faults`. */
export const faultUpdateSchema = faultConfigSchema.extend({
  seed: z.number().int().optional(),
});

/** Formats the first problems of a failed parse as one line. */
export function describeIssues(error: z.ZodError): string {
  return error.issues
    .slice(0, 5)
    .map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`)
    .join('; ');
}
