import type { FieldValue } from '../../../common/field-changes.js';
import type { Sql } from '../../../db/sql.js';
import { type PropertyDefinition, platformUnavailable } from '../platform.js';
import type { ResendClient } from './client.js';

/**
 * Resend's contact properties: a contact write may only carry keys the account has defined
 * (`POST /contact-properties`, type `string` or `number`), with values of that type. Definitions
 * are created once per account and remembered in Postgres; one that exists already (made in the
 * dashboard, or by another run) is adopted with the type it has.
 */
export interface ResendProperties {
  define(definitions: PropertyDefinition[]): Promise<void>;
  /** Keys this service defined itself: no contact had a value for them before. */
  definedHere(keys: string[]): Promise<Set<string>>;
  /** Values as the account's definitions type them (a number sent to a string property, say). */
  typed(values: Record<string, FieldValue>): Promise<Record<string, FieldValue>>;
}

interface KnownDefinition {
  key: string;
  type: 'string' | 'number';
  createdHere: boolean;
}

/** What the property steps share: the account's rows, its Resend client, and the cached rows. */
interface PropertiesContext {
  sql: Sql;
  client: ResendClient;
  account: string;
  cache: Map<string, KnownDefinition> | undefined;
}

async function known(context: PropertiesContext): Promise<Map<string, KnownDefinition>> {
  if (context.cache) return context.cache;
  const rows = await context.sql<KnownDefinition[]>`
    select key, type, created_here as "createdHere" from audience_sync.property_definitions
    where account = ${context.account}`;
  context.cache = new Map(rows.map((row) => [row.key, row]));
  return context.cache;
}

async function remember(context: PropertiesContext, definition: KnownDefinition): Promise<void> {
  await context.sql`
    insert into audience_sync.property_definitions (account, key, type, created_here)
    values (${context.account}, ${definition.key}, ${definition.type}, ${definition.createdHere})
    on conflict (account, key) do nothing`;
  context.cache = undefined;
}

/** Every definition the account has, by key. */
async function listDefinitions({
  client,
}: PropertiesContext): Promise<Map<string, 'string' | 'number'>> {
  const found = new Map<string, 'string' | 'number'>();
  let after: string | undefined;
  for (;;) {
    const { answer } = await client.idempotent('contactProperties.list', (signal) =>
      client.sdk.contactProperties.list({ limit: 100, ...(after ? { after } : {}) }, { signal }),
    );
    if (answer.error || !answer.data) {
      throw platformUnavailable(`Resend contactProperties.list answered ${answer.error?.name}`);
    }
    for (const property of answer.data.data) found.set(property.key, property.type);
    const last = answer.data.data.at(-1);
    if (!answer.data.has_more || !last) return found;
    after = last.id;
  }
}

async function define(
  context: PropertiesContext,
  definitions: PropertyDefinition[],
): Promise<void> {
  const { client } = context;
  const have = await known(context);
  const missing = definitions.filter((definition) => !have.has(definition.key));
  if (missing.length === 0) return;
  const existing = await listDefinitions(context);
  for (const definition of missing) {
    const type = existing.get(definition.key);
    if (type) {
      await remember(context, { key: definition.key, type, createdHere: false });
      continue;
    }
    const created = await client.create('contactProperties.create', (signal) =>
      client.sdk.contactProperties.create(
        { key: definition.key, type: definition.type },
        { signal },
      ),
    );
    if (created.kind === 'ok') {
      await remember(context, { ...definition, createdHere: true });
      continue;
    }
    // An unclear answer, or another run defining it at the same moment: the next attempt
    // lists the definitions again and adopts what it finds.
    throw platformUnavailable(
      `Resend contactProperties.create for a mapped property answered ${
        created.kind === 'ambiguous' ? created.code : (created.answer.error?.name ?? 'unknown')
      }`,
    );
  }
}

async function definedHere(context: PropertiesContext, keys: string[]): Promise<Set<string>> {
  const have = await known(context);
  return new Set(keys.filter((key) => have.get(key)?.createdHere));
}

async function typed(
  context: PropertiesContext,
  values: Record<string, FieldValue>,
): Promise<Record<string, FieldValue>> {
  const have = await known(context);
  const typedValues: Record<string, FieldValue> = {};
  for (const [key, value] of Object.entries(values)) {
    const type = have.get(key)?.type;
    typedValues[key] =
      value === null || type === undefined
        ? value
        : type === 'string'
          ? String(value)
          : typeof value === 'number' || !Number.isFinite(Number(value))
            ? value
            : Number(value);
  }
  return typedValues;
}

export function createResendProperties(
  sql: Sql,
  client: ResendClient,
  account: string,
): ResendProperties {
  const context: PropertiesContext = { sql, client, account, cache: undefined };
  return {
    define: (definitions) => define(context, definitions),
    definedHere: (keys) => definedHere(context, keys),
    typed: (values) => typed(context, values),
  };
}
