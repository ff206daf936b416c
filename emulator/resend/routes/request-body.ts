import type { z } from 'zod';
import { readJsonObjectBody } from '../../common/routing.js';
import { missingRequiredField, validationError } from '../errors.js';
import type { RouteRequest } from './types.js';

/** The JSON object sent as the body; an empty body reads as `{}`. */
export function readJsonObject(request: RouteRequest): Record<string, unknown> {
  return readJsonObjectBody(request.rawBody, (problem) =>
    validationError(
      problem === 'not_json'
        ? 'The request body must be valid JSON.'
        : 'The request body must be a JSON object.',
    ),
  );
}

/** Best-effort string field of the body, for the request log; never throws. */
export function peekStringField(request: RouteRequest, field: string): string | undefined {
  if (request.rawBody.length === 0) return undefined;
  try {
    const value: unknown = JSON.parse(request.rawBody.toString('utf8'));
    if (value && typeof value === 'object' && field in value) {
      const found = (value as Record<string, unknown>)[field];
      return typeof found === 'string' ? found : undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** `missing_required_field` for each absent field, in order, before any other validation. */
export function requireFields(body: Record<string, unknown>, fields: readonly string[]): void {
  for (const field of fields) {
    if (body[field] === undefined || body[field] === null) throw missingRequiredField(field);
  }
}

/**
 * Parses with zod; the first issue becomes a 422 `validation_error` carrying zod's own message,
 * which is what the API answers (e.g. "Invalid input: expected object, received string").
 */
export function parseWith<T>(schema: z.ZodType<T>, body: unknown): T {
  const result = schema.safeParse(body);
  if (result.success) return result.data;
  throw validationError(result.error.issues[0]?.message ?? 'Invalid input');
}
