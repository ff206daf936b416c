import { readFileSync } from 'node:fs';
import { Ajv2020, type ErrorObject } from 'ajv/dist/2020.js';
import formatsPlugin from 'ajv-formats';
import { parse } from 'yaml';
import { openApiPath } from './reference.js';

const SPEC_ID = 'https://resend.invalid/openapi.json';

type JsonObject = Record<string, unknown>;

function isObject(value: unknown): value is JsonObject {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

/**
 * The spec leaves objects open (no `additionalProperties: false`, no `required`). To notice keys
 * the spec does not describe, every object schema with declared properties is closed.
 */
function closeObjectSchemas(schema: unknown): void {
  if (Array.isArray(schema)) {
    for (const item of schema) closeObjectSchemas(item);
    return;
  }
  if (!isObject(schema)) return;
  if (isObject(schema.properties) && schema.additionalProperties === undefined) {
    schema.additionalProperties = false;
  }
  for (const value of Object.values(schema)) closeObjectSchemas(value);
}

export interface SpecValidator {
  /** `#/components/schemas/X` of the answer to `method path` with `status`, if the spec has one. */
  responseSchema(method: string, specPath: string, status: number): string | undefined;
  validate(schemaRef: string, body: unknown): ErrorObject[];
  paths(): string[];
}

export function loadSpecValidator(): SpecValidator {
  const spec: unknown = parse(readFileSync(openApiPath, 'utf8'));
  if (!isObject(spec) || !isObject(spec.paths) || !isObject(spec.components)) {
    throw new Error('the OpenAPI document has no paths or components');
  }
  closeObjectSchemas(spec.components.schemas);
  const ajv = new Ajv2020({ strict: false, allErrors: true });
  formatsPlugin.default(ajv);
  ajv.addFormat('binary', true);
  ajv.addSchema({ ...spec, $id: SPEC_ID });
  const paths = spec.paths;

  return {
    paths: () => Object.keys(paths),
    responseSchema(method, specPath, status) {
      const operation = (paths[specPath] as JsonObject | undefined)?.[method.toLowerCase()];
      const responses = isObject(operation) ? operation.responses : undefined;
      const response = isObject(responses) ? responses[String(status)] : undefined;
      const content = isObject(response) ? response.content : undefined;
      const json = isObject(content) ? content['application/json'] : undefined;
      const schema = isObject(json) ? json.schema : undefined;
      return isObject(schema) && typeof schema.$ref === 'string' ? schema.$ref : undefined;
    },
    validate(schemaRef, body) {
      const validator = ajv.getSchema(`${SPEC_ID}${schemaRef}`);
      if (!validator) throw new Error(`no schema ${schemaRef}`);
      return validator(body) ? [] : [...(validator.errors ?? [])];
    },
  };
}

/** The spec path template a request path falls under, literal segments preferred. */
export function findSpecPath(specPaths: readonly string[], path: string): string | undefined {
  const segments = path.split('/').filter(Boolean);
  let best: { template: string; literals: number } | undefined;
  for (const template of specPaths) {
    const parts = template.split('/').filter(Boolean);
    if (parts.length !== segments.length) continue;
    let literals = 0;
    const fits = parts.every((part, index) => {
      if (part.startsWith('{')) return true;
      literals += 1;
      return part === segments[index];
    });
    if (fits && (!best || literals > best.literals)) best = { template, literals };
  }
  return best?.template;
}
