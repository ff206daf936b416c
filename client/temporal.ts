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

/**
 * gRPC deadlines for the API's calls. Without one, a call to a Temporal that is down keeps
 * retrying for about 20 s (the SDK's retry of UNAVAILABLE); with one, it fails at the deadline
 * and the API can say that Temporal is unavailable.
 */
export const TEMPORAL_DEADLINES = {
  /** Starting a run, cancelling one, a schedule call. */
  callMs: 3000,
  /** Reading a run's state for the status route, which answers from the record without it. */
  describeMs: 600,
} as const;

/** A Temporal call that had not answered by its deadline. */
export class TemporalDeadlineError extends Error {
  override readonly name = 'TemporalDeadlineError';
}

/**
 * Runs `work` with a gRPC deadline `ms` from now on every Temporal call it makes, and settles by
 * then: the SDK's retry backoff can hold a failed call past its deadline, so the answer does not
 * wait for it (the deadline still ends the call's retries).
 */
export function withTemporalDeadline<T>(
  client: Client,
  ms: number,
  work: () => Promise<T>,
): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new TemporalDeadlineError(`Temporal did not answer within ${ms} ms`)),
      ms,
    );
  });
  const call = client.withDeadline(Date.now() + ms, work);
  // Its failure after the deadline has nobody waiting for it.
  call.catch(() => {});
  return Promise.race([call, deadline]).finally(() => clearTimeout(timer));
}

/** What a bounded wait on Temporal came to: the call's value, or the wait ended first. */
export type TemporalWait<T> = { state: 'done'; value: T } | { state: 'waiting' };

/**
 * Waits up to `waitMs` for `work`, a call that may rightly take longer (a Workflow Update that
 * answers once it took effect). The call's gRPC deadline lies beyond the wait, so the wait always
 * ends first: a call still going then is cancelled and answers `waiting`, never a deadline error
 * that would read as Temporal not answering. The caller asks Temporal again, briefly, to tell a
 * slow step from an outage.
 */
export async function waitOnTemporal<T>(
  client: Client,
  waitMs: number,
  work: () => Promise<T>,
): Promise<TemporalWait<T>> {
  const wait = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const waited = new Promise<TemporalWait<T>>((resolve) => {
    timer = setTimeout(() => {
      wait.abort();
      resolve({ state: 'waiting' });
    }, waitMs);
  });
  const call = client
    .withDeadline(Date.now() + waitMs + TEMPORAL_DEADLINES.callMs, () =>
      client.withAbortSignal(wait.signal, work),
    )
    .then((value): TemporalWait<T> => ({ state: 'done', value }));
  // Its failure once the wait is over has nobody waiting for it.
  call.catch(() => {});
  return Promise.race([call, waited]).finally(() => clearTimeout(timer));
}

// gRPC status codes that mean the server did not answer (in time).
const GRPC_DEADLINE_EXCEEDED = 4;
const GRPC_UNAVAILABLE = 14;

/**
 * True when a Temporal call failed because the server could not be reached or did not answer by
 * the deadline (the SDK wraps the gRPC error in a ServiceError; its cause says why).
 */
export function isTemporalUnavailable(error: unknown): boolean {
  if (error instanceof TemporalDeadlineError) return true;
  for (let cause = error, depth = 0; cause && depth < 5; depth += 1) {
    if (typeof cause !== 'object') return false;
    if ('code' in cause && 'details' in cause && 'metadata' in cause) {
      return cause.code === GRPC_UNAVAILABLE || cause.code === GRPC_DEADLINE_EXCEEDED;
    }
    cause = 'cause' in cause ? cause.cause : undefined;
  }
  return false;
}
