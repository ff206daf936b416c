import { readFileSync } from 'node:fs';
import { Client, Connection } from '@temporalio/client';
import type { TLSConfig } from '@temporalio/common/lib/internal-non-workflow/tls-config.js';
import proto from '@temporalio/proto';
import { SEARCH_ATTRIBUTES } from '../common/search-attributes.js';
import type { TemporalConfig } from '../config/env.js';

const KEYWORD = proto.temporal.api.enums.v1.IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD;

export interface TemporalConnectionOptions {
  address: string;
  tls?: TLSConfig | boolean;
  apiKey?: string;
}

/**
 * Connection options shared by the client (API) and the worker: a plain local dev server, or
 * Temporal Cloud with an API key (TLS implied) or with mTLS certificates.
 */
export function temporalConnectionOptions(config: TemporalConfig): TemporalConnectionOptions {
  const options: TemporalConnectionOptions = { address: config.TEMPORAL_ADDRESS };
  if (config.TEMPORAL_API_KEY) options.apiKey = config.TEMPORAL_API_KEY;
  const mtls = config.TEMPORAL_TLS_CLIENT_CERT_PATH && config.TEMPORAL_TLS_CLIENT_KEY_PATH;
  if (mtls || config.TEMPORAL_TLS_SERVER_CA_CERT_PATH || config.TEMPORAL_TLS_SERVER_NAME) {
    options.tls = {
      ...(mtls && config.TEMPORAL_TLS_CLIENT_CERT_PATH && config.TEMPORAL_TLS_CLIENT_KEY_PATH
        ? {
            clientCertPair: {
              crt: readFileSync(config.TEMPORAL_TLS_CLIENT_CERT_PATH),
              key: readFileSync(config.TEMPORAL_TLS_CLIENT_KEY_PATH),
            },
          }
        : {}),
      ...(config.TEMPORAL_TLS_SERVER_CA_CERT_PATH
        ? { serverRootCACertificate: readFileSync(config.TEMPORAL_TLS_SERVER_CA_CERT_PATH) }
        : {}),
      ...(config.TEMPORAL_TLS_SERVER_NAME
        ? { serverNameOverride: config.TEMPORAL_TLS_SERVER_NAME }
        : {}),
    };
  } else if (config.TEMPORAL_TLS ?? Boolean(config.TEMPORAL_API_KEY)) {
    options.tls = true;
  }
  return options;
}

export async function connectTemporalClient(config: TemporalConfig): Promise<Client> {
  const connection = await Connection.connect(temporalConnectionOptions(config));
  return new Client({ connection, namespace: config.TEMPORAL_NAMESPACE });
}

/**
 * Registers the search attributes runs are tagged with. The dev server gets them at start; a
 * self-hosted server gets them here. Temporal Cloud manages them in its own console, so a refusal
 * is reported, not fatal.
 */
export async function registerSearchAttributes(
  client: Client,
  namespace: string,
): Promise<{ registered: boolean; reason?: string }> {
  const existing = await client.connection.operatorService
    .listSearchAttributes({ namespace })
    .then((answer) => answer.customAttributes ?? {})
    .catch(() => ({}));
  const missing = SEARCH_ATTRIBUTES.filter((key) => !(key.name in existing));
  if (missing.length === 0) return { registered: true };
  try {
    await client.connection.operatorService.addSearchAttributes({
      namespace,
      searchAttributes: Object.fromEntries(missing.map((key) => [key.name, KEYWORD])),
    });
    return { registered: true };
  } catch (error) {
    return { registered: false, reason: error instanceof Error ? error.message : String(error) };
  }
}
