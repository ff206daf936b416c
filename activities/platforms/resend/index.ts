import { createHash } from 'node:crypto';
import { exchangeOptions } from '../client-options.js';
import {
  type MarketingPlatform,
  type PlatformContext,
  type PlatformModule,
  platformUnavailable,
} from '../platform.js';
import { createResendClient } from './client.js';
import { createContactDirectory, type RecentRefreshes } from './contact-directory.js';
import {
  deleteContacts,
  findContacts,
  markUnsubscribed,
  patchContacts,
  prepareDirectory,
  type ResendConnection,
  removeFromList,
  syncContacts,
} from './contacts.js';
import { createContactImports } from './imports.js';
import { resendLimit } from './limit.js';
import { createSegments } from './lists.js';
import { createMemberships } from './memberships.js';
import { createResendProperties } from './properties.js';
import { createResendReconciliation } from './reconciliation.js';

export interface ResendSettings {
  apiKey: string;
  baseUrl: string;
  /** RESEND_RATE_LIMIT: never exceed it, whatever the headers say. */
  rateLimit?: number | undefined;
  requestTimeoutMs?: number;
  transientRetries?: number;
  /** RESEND_BULK: `auto` creates new contacts through Contact Imports, `off` one by one. */
  bulk?: 'auto' | 'off';
}

/** The account id used to key shared state: a hash, so the key itself is never stored. */
export const resendAccountId = (apiKey: string): string =>
  `resend:${createHash('sha256').update(apiKey).digest('hex').slice(0, 16)}`;

/**
 * Resend: contacts are global per team and keyed by email, segments are its lists, and
 * `POST /contacts` on an existing email resets the fields it omits (re-subscribing people). So
 * contacts known to exist are never created again: they join segments through the membership
 * endpoint, and a directory of the account's contacts (hashes of emails) says which exist.
 */
export function resendPlatform(settings: ResendSettings): PlatformModule {
  const account = resendAccountId(settings.apiKey);
  const recentRefreshes: RecentRefreshes = new Map();
  return {
    name: 'resend',
    account,
    limit: resendLimit(settings.rateLimit),
    connect: (context) => connectResend(settings, account, context, { recentRefreshes }),
    checkAccess: (context) => checkResendAccess(settings, context),
  };
}

/** The SDK behind the account's gate, for one activity attempt. */
const resendClientFor = (settings: ResendSettings, context: PlatformContext) =>
  createResendClient({
    apiKey: settings.apiKey,
    baseUrl: settings.baseUrl,
    ...exchangeOptions(settings, context),
  });

/**
 * The access check: the first segment, one request through the account's gate. The client turns
 * a refused key into platform_auth_failed and an outage, after its retries, into
 * platform_unavailable; the answer's headers teach the gate the account's rate limit.
 */
async function checkResendAccess(settings: ResendSettings, context: PlatformContext) {
  const client = resendClientFor(settings, context);
  const { answer } = await client.idempotent('segments.list', (signal) =>
    client.sdk.segments.list({ limit: 1 }, { signal }),
  );
  if (answer.error) {
    throw platformUnavailable(`Resend answered ${answer.error.statusCode} ${answer.error.name}`);
  }
}

function connectResend(
  settings: ResendSettings,
  account: string,
  context: PlatformContext,
  memory: { recentRefreshes: RecentRefreshes },
): MarketingPlatform {
  const client = resendClientFor(settings, context);
  const directory = createContactDirectory(
    context.sql,
    client,
    account,
    memory.recentRefreshes,
    () => context.onAnswer(),
  );
  const segments = createSegments(context.sql, client, account);
  const properties = createResendProperties(context.sql, client, account);
  const reconciliation = createResendReconciliation(context.sql, client, directory);
  const memberships = createMemberships(client);
  const connection: ResendConnection = { context, client, directory, properties, memberships };

  return {
    name: 'resend',
    account,
    ...(settings.bulk === 'off'
      ? {}
      : { bulk: createContactImports(client, directory, { signal: context.signal }) }),

    prepare: (onProgress) => prepareDirectory(directory, onProgress),

    getList: (listId) => segments.get(listId),
    createRunList: (runId, name) => segments.createForRun(runId, name),
    findOrCreateList: (name) => segments.findOrCreate(name),
    defineProperties: (definitions) => properties.define(definitions),

    syncContacts: (contacts, listIds, onOutcome) =>
      syncContacts(connection, contacts, listIds, onOutcome),
    findContacts: (contacts) => findContacts(connection, contacts),
    findList: (name) => segments.find(name),

    patchContacts: (patches, onOutcome) => patchContacts(connection, patches, onOutcome),
    removeFromList: (contacts, listId, onOutcome) =>
      removeFromList(connection, contacts, listId, onOutcome),
    markUnsubscribed: (contacts, onOutcome) => markUnsubscribed(connection, contacts, onOutcome),
    deleteContacts: (contacts, onOutcome) => deleteContacts(connection, contacts, onOutcome),

    knownContacts: (emailHashes, options) =>
      directory.lookupHashes(emailHashes, { readUnread: options?.onPlatform === true }),
    contactsLearnedSince: (cursor, limit) => directory.learnedSince(cursor, limit),
    forgetContacts: (emailHashes) => directory.forgetHashes(emailHashes),
    async refreshContacts() {
      await directory.refresh();
    },
    findDisappearedContacts: (onProgress) => reconciliation.findDisappeared(onProgress),
    listSuppressions: (onPage) => reconciliation.listSuppressions(onPage),
  };
}
