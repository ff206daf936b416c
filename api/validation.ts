import type { z } from 'zod';
import { ApiError } from './errors.js';

/** Parses input with a schema; a failure is a 400 naming each field and what is wrong with it. */
export function parseInput<Schema extends z.ZodType>(
  schema: Schema,
  input: unknown,
  where: 'body' | 'query',
): z.infer<Schema> {
  const result = schema.safeParse(input);
  if (result.success) return result.data;
  const details = result.error.issues.map((issue) => {
    const unknownKeys = issue.code === 'unrecognized_keys' ? issue.keys : [];
    const field = [...issue.path, ...unknownKeys.slice(0, 1)].join('.') || where;
    const message =
      issue.code === 'unrecognized_keys'
        ? `is not a known field (${unknownKeys.join(', ')})`
        : issue.message;
    return { field, message };
  });
  const summary = details.map((detail) => `${detail.field} ${detail.message}`).join('; ');
  throw new ApiError(400, 'invalid_request', `Invalid request ${where}: ${summary}`, details);
}
