import { createHash } from 'node:crypto';
import { exchangeOptions } from '../client-options.js';
import {
  type MarketingPlatform,
  type PlatformContext,
  PlatformError,
  type PlatformList,
  type PlatformModule,
  platformUnavailable,
} from '../platform.js';
import { deleteContacts, markUnsubscribed, patchContacts, removeFromList } from './changes.js';
import { createLoopsClient, type LoopsApi } from './client.js';
import type { LoopsConnection } from './connection.js';
import { syncContacts } from './contacts.js';
import { loopsLimit } from './limit.js';
import { createLoopsMemberships } from './memberships.js';
import { createLoopsProperties, type LoopsType } from './properties.js';

export interface LoopsSettings {
  apiKey: string;
  /** The SDK's apiRoot (LOOPS_BASE_URL). */
  apiRoot: string;
  /** LOOPS_RATE_LIMIT: never exceeded. */
  rateLimit: number;
  requestTimeoutMs?: number;
  transientRetries?: number;
}

/** The team id used to key shared state: a hash, so the key itself is never stored. */
export const loopsAccountId = (apiKey: string): string =>
  `loops:${createHash('sha256').update(apiKey).digest('hex').slice(0, 16)}`;

const apiFor = (settings: LoopsSettings, context: PlatformContext): LoopsApi =>
  createLoopsClient({
    apiKey: settings.apiKey,
    apiRoot: settings.apiRoot,
    ...exchangeOptions(settings, context),
  });

/** Loops' API cannot create, rename or delete a mailing list: a sync names one by its id. */
const cannotCreateLists = (): Promise<PlatformList> =>
  Promise.reject(
    new PlatformError(
      'list_refused',
      'Loops cannot create mailing lists through its API: sync into an existing one by its list_id',
      false,
    ),
  );

/** The mailing list with this id (one request: Loops lists them all at once). */
async function getList(api: LoopsApi, listId: string): Promise<PlatformList | null> {
  const listed = await api.idempotent('lists.list', (sdk) => sdk.listMailingLists());
  if (listed.kind !== 'ok')
    throw platformUnavailable(`Loops listMailingLists answered ${listed.kind}`);
  const list = listed.data.find((each) => each.id === listId);
  return list ? { id: list.id, name: list.name } : null;
}

/** The key check of the health route: `GET /v1/api-key`, through the team's gate. */
async function checkAccess(settings: LoopsSettings, context: PlatformContext): Promise<void> {
  const answer = await apiFor(settings, context).idempotent('apiKey.test', (sdk) =>
    sdk.testApiKey(),
  );
  if (answer.kind !== 'ok') throw platformUnavailable(`Loops testApiKey answered ${answer.kind}`);
}

function connectLoops(
  settings: LoopsSettings,
  account: string,
  context: PlatformContext,
  knownProperties: Map<string, LoopsType>,
): MarketingPlatform {
  const api = apiFor(settings, context);
  const properties = createLoopsProperties(api, knownProperties);
  const memberships = createLoopsMemberships(context.sql, account);
  const connection: LoopsConnection = { context, account, api, memberships, properties };
  return {
    name: 'loops',
    account,
    contactsFollowUsers: true,
    getList: (listId) => getList(api, listId),
    createRunList: cannotCreateLists,
    findOrCreateList: cannotCreateLists,
    defineProperties: (definitions) => properties.define(definitions),
    syncContacts: (contacts, listIds, onOutcome) =>
      syncContacts(connection, contacts, listIds, onOutcome),
    patchContacts: (patches, onOutcome) => patchContacts(connection, patches, onOutcome),
    removeFromList: (contacts, listId, onOutcome) =>
      removeFromList(connection, contacts, listId, onOutcome),
    markUnsubscribed: (contacts, onOutcome) => markUnsubscribed(connection, contacts, onOutcome),
    deleteContacts: (contacts, onOutcome) => deleteContacts(connection, contacts, onOutcome),
  };
}

/**
 * Loops: contacts global per team, keyed by email and by `userId` (set to the user's id, so an
 * email change is one update of the same contact); a list is a mailing list, which is a
 * subscription; no bulk path and no way to list contacts, so every contact costs a request and
 * what Loops says of a contact is learned from its answers (see contacts.ts).
 */
export function loopsPlatform(settings: LoopsSettings): PlatformModule {
  const account = loopsAccountId(settings.apiKey);
  const knownProperties = new Map<string, LoopsType>();
  return {
    name: 'loops',
    account,
    limit: loopsLimit(settings.rateLimit),
    connect: (context) => connectLoops(settings, account, context, knownProperties),
    checkAccess: (context) => checkAccess(settings, context),
  };
}
