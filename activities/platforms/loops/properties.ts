import type { FieldValue } from '../../../common/field-changes.js';
import { PlatformError, type PropertyDefinition, platformUnavailable } from '../platform.js';
import type { LoopsApi } from './client.js';

type LoopsType = 'string' | 'number' | 'boolean' | 'date';

/**
 * Loops' custom contact properties: a contact write may only carry keys the team has created
 * (`POST /v1/contacts/properties`), with values of their type. Known definitions are kept per
 * team for the life of the worker; a missing one is created once.
 */
export interface LoopsProperties {
  define(definitions: PropertyDefinition[]): Promise<void>;
  /** Values as the team's definitions type them (a number sent to a string property, say). */
  typed(values: Record<string, FieldValue>): Record<string, FieldValue>;
}

async function listCustom(api: LoopsApi): Promise<Map<string, LoopsType>> {
  const listed = await api.idempotent('contacts.properties.list', (sdk) =>
    sdk.listContactProperties('custom'),
  );
  if (listed.kind !== 'ok') {
    throw platformUnavailable(`Loops listContactProperties answered ${listed.kind}`);
  }
  return new Map(listed.data.map((property) => [property.key, property.type as LoopsType]));
}

async function define(
  api: LoopsApi,
  known: Map<string, LoopsType>,
  definitions: PropertyDefinition[],
): Promise<void> {
  if (definitions.every((definition) => known.has(definition.key))) return;
  for (const [key, type] of await listCustom(api)) known.set(key, type);
  for (const definition of definitions.filter(({ key }) => !known.has(key))) {
    const created = await api.create('contacts.properties.create', (sdk) =>
      sdk.createContactProperty(definition.key, definition.type),
    );
    if (created.kind === 'ok') {
      known.set(definition.key, definition.type);
      continue;
    }
    if (created.kind === 'rejected' && !(await listCustom(api)).has(definition.key)) {
      // Loops refuses the name (its rule is camelCase): no retry can change that. (Another run
      // that created it a moment before is not a refusal: the next attempt adopts it.)
      throw new PlatformError(
        'platform_unavailable',
        `Loops refused to create the contact property "${definition.key}" (${created.message ?? created.status})`,
        false,
      );
    }
    // An unclear answer, or another run creating it at the same moment: the next attempt lists
    // the definitions again and adopts what it finds.
    throw platformUnavailable(`Loops createContactProperty answered ${created.kind}`);
  }
}

function typed(
  known: Map<string, LoopsType>,
  values: Record<string, FieldValue>,
): Record<string, FieldValue> {
  const result: Record<string, FieldValue> = {};
  for (const [key, value] of Object.entries(values)) {
    const type = known.get(key);
    const asNumber = Number(value);
    result[key] =
      value === null || type === undefined
        ? value
        : type === 'number' && typeof value === 'string' && Number.isFinite(asNumber)
          ? asNumber
          : type === 'string'
            ? String(value)
            : value;
  }
  return result;
}

/** `known`: the team's definitions, shared by every connection of the worker. */
export function createLoopsProperties(api: LoopsApi, known: Map<string, LoopsType>) {
  return {
    define: (definitions: PropertyDefinition[]) => define(api, known, definitions),
    typed: (values: Record<string, FieldValue>) => typed(known, values),
  } satisfies LoopsProperties;
}

export type { LoopsType };
