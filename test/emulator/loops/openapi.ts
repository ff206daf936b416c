import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';
import { parse } from 'yaml';
import { referenceDir } from '../support/reference.js';

/** Loops' own OpenAPI document, read in place (never copied into the project). */
export const loopsSpecPath = join(referenceDir, 'loops-openapi.yaml');
export const loopsSpecAvailable = existsSync(loopsSpecPath);
export const loopsSpecMissingNote = `SKIPPED: no Loops OpenAPI document at ${loopsSpecPath} (set RESEND_REFERENCE_DIR to the reference folder)`;

const SPEC_ID = 'https://loops.invalid/openapi.json';
type JsonObject = Record<string, unknown>;

const isObject = (value: unknown): value is JsonObject =>
  !!value && typeof value === 'object' && !Array.isArray(value);

/** Names of the component schemas used as `allOf` parts: closing them would refuse the others' keys. */
function allOfParts(schemas: JsonObject): Set<string> {
  const parts = new Set<string>();
  for (const schema of Object.values(schemas)) {
    if (!isObject(schema) || !Array.isArray(schema.allOf)) continue;
    for (const part of schema.allOf) {
      if (isObject(part) && typeof part.$ref === 'string')
        parts.add(part.$ref.split('/').pop() ?? '');
    }
  }
  return parts;
}

/**
 * The document leaves objects open. To notice keys it does not describe, every object schema with
 * declared properties is closed, except `allOf` parts; an `allOf` schema is closed as a whole
 * (`unevaluatedProperties`). Schemas that say `additionalProperties` keep what they say.
 */
function close(schema: unknown, insideAllOf = false): void {
  if (Array.isArray(schema)) {
    for (const item of schema) close(item, insideAllOf);
    return;
  }
  if (!isObject(schema)) return;
  if (Array.isArray(schema.allOf)) {
    if (!insideAllOf && schema.unevaluatedProperties === undefined)
      schema.unevaluatedProperties = false;
    for (const part of schema.allOf) close(part, true);
  }
  if (!insideAllOf && isObject(schema.properties) && schema.additionalProperties === undefined) {
    schema.additionalProperties = false;
  }
  for (const [key, value] of Object.entries(schema)) {
    if (key !== 'allOf') close(value, false);
  }
}

const pointer = (...parts: string[]) =>
  parts.map((part) => part.replaceAll('~', '~0').replaceAll('/', '~1')).join('/');

export interface LoopsSpec {
  /** Errors of `body` against the answer the document gives `method path` with `status`; undefined when it gives none. */
  validateResponse(
    method: string,
    path: string,
    status: number,
    body: unknown,
  ): ErrorObject[] | undefined;
  /** Errors of a webhook body against the `webhooks:` operation for its event. */
  validateSchema(schemaName: string, body: unknown): ErrorObject[];
}

export function loadLoopsSpec(): LoopsSpec {
  const spec: unknown = parse(readFileSync(loopsSpecPath, 'utf8'));
  if (!isObject(spec) || !isObject(spec.paths) || !isObject(spec.components)) {
    throw new Error('the Loops OpenAPI document has no paths or components');
  }
  const schemas = spec.components.schemas as JsonObject;
  const parts = allOfParts(schemas);
  for (const [name, schema] of Object.entries(schemas)) close(schema, parts.has(name));
  close(spec.paths);
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  formatsPlugin.default(ajv);
  ajv.addSchema({ ...spec, $id: SPEC_ID });
  const paths = spec.paths;
  const run = (ref: string, body: unknown) => {
    const validator =
      ajv.getSchema(`${SPEC_ID}#${ref}`) ?? ajv.compile({ $ref: `${SPEC_ID}#${ref}` });
    return validator(body) ? [] : [...(validator.errors ?? [])];
  };
  return {
    validateResponse(method, path, status, body) {
      const operation = (paths[path] as JsonObject | undefined)?.[method.toLowerCase()];
      const responses = isObject(operation) ? operation.responses : undefined;
      const response = isObject(responses) ? responses[String(status)] : undefined;
      const content = isObject(response) ? response.content : undefined;
      if (!isObject(content) || !isObject(content['application/json'])) return undefined;
      const ref = `/${pointer('paths', path, method.toLowerCase(), 'responses', String(status), 'content', 'application/json', 'schema')}`;
      return run(ref, body);
    },
    validateSchema: (schemaName, body) => run(`/components/schemas/${schemaName}`, body),
  };
}
