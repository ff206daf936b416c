import { createHash } from 'node:crypto';
import type {
  ChangeOutcome,
  ContactOutcome,
  ContactRef,
  ContactToSync,
  MarketingPlatform,
  OutcomeSink,
  PlatformContext,
  PlatformModule,
} from '../platform.js';
import { forEachSettling } from '../pool.js';
import type { Answer } from './client.js';
import { createResendClient } from './client.js';
import {
  type ContactDirectory,
  createContactDirectory,
  type SweepPositions,
} from './contact-directory.js';
import { createContactImports } from './imports.js';
import { createSegments } from './lists.js';

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

/** Pages of older contacts (100 each) each run re-reads before its first batch. */
export const SWEEP_PAGES_PER_RUN = 10;

/** The account id used to key shared state: a hash, so the key itself is never stored. */
export const resendAccountId = (apiKey: string): string =>
  `resend:${createHash('sha256').update(apiKey).digest('hex').slice(0, 16)}`;

const rejectedReason = (answer: Answer<unknown>['answer']): string =>
  `rejected_by_platform:${answer.error?.name ?? 'unknown'}`;

const changeOutcome = ({ answer, kind }: Answer<unknown>): ChangeOutcome =>
  kind === 'ok'
    ? { kind: 'done' }
    : kind === 'not_found'
      ? { kind: 'not_found' }
      : { kind: 'rejected', reason: rejectedReason(answer) };

/** Resend identifies a contact by id or by email. */
const contactKey = (ref: ContactRef): { id: string } | { email: string } =>
  ref.contactId ? { id: ref.contactId } : { email: ref.email ?? '' };

/**
 * Resend: contacts are global per team and keyed by email, segments are its lists, and
 * `POST /contacts` on an existing email resets the fields it omits (re-subscribing people). So
 * contacts known to exist are never created again: they join segments through the membership
 * endpoint, and a directory of the account's contacts (hashes of emails) says which exist.
 */
export function resendPlatform(settings: ResendSettings): PlatformModule {
  const account = resendAccountId(settings.apiKey);
  const sweepPositions: SweepPositions = new Map();
  return {
    name: 'resend',
    account,
    // 2 is the lowest limit Resend has given an account; the headers teach the real one.
    limit: { kind: 'requests_per_second', initial: 2, upperBound: settings.rateLimit },
    connect: (context) => connectResend(settings, account, context, sweepPositions),
  };
}

function connectResend(
  settings: ResendSettings,
  account: string,
  context: PlatformContext,
  sweepPositions: SweepPositions,
): MarketingPlatform {
  const { gate } = context;
  const client = createResendClient({
    apiKey: settings.apiKey,
    baseUrl: settings.baseUrl,
    gate,
    signal: context.signal,
    onAnswer: context.onAnswer,
    ...(settings.requestTimeoutMs ? { requestTimeoutMs: settings.requestTimeoutMs } : {}),
    ...(settings.transientRetries !== undefined
      ? { transientRetries: settings.transientRetries }
      : {}),
  });
  const directory = createContactDirectory(context.sql, client, account, sweepPositions);
  const segments = createSegments(context.sql, client, account);

  /** Adds an existing contact (by id or email) to every list; never changes the contact. */
  const joinLists = async (contact: string, listIds: string[]): Promise<Answer<unknown>> => {
    const identifier = contact.includes('@') ? { email: contact } : { contactId: contact };
    let last: Answer<unknown> | undefined;
    for (const segmentId of listIds) {
      last = await client.idempotent('contacts.segments.add', (signal) =>
        client.sdk.contacts.segments.add({ ...identifier, segmentId }, { signal }),
      );
      if (last.kind !== 'ok') return last;
    }
    return last ?? { answer: { data: null, error: null, headers: null }, kind: 'ok' };
  };

  /**
   * One contact. A contact known to exist joins the lists and is never re-created; an unknown
   * one is created with its lists in one request. After an ambiguous create, the membership
   * endpoint tells whether the first create happened.
   */
  async function syncOne(
    contact: ContactToSync,
    listIds: string[],
    known: Map<string, string>,
    dir: ContactDirectory,
  ): Promise<ContactOutcome> {
    const knownId = known.get(contact.email);
    if (knownId) {
      const joined = await joinLists(knownId, listIds);
      if (joined.kind === 'ok') return { kind: 'joined', contactId: knownId };
      if (joined.kind !== 'not_found') {
        return { kind: 'rejected', reason: rejectedReason(joined.answer) };
      }
      await dir.forget(contact.email);
    }
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const created = await client.create('contacts.create', (signal) =>
        client.sdk.contacts.create(
          {
            email: contact.email,
            ...(contact.firstName ? { firstName: contact.firstName } : {}),
            ...(contact.lastName ? { lastName: contact.lastName } : {}),
            segments: listIds.map((id) => ({ id })),
          },
          { signal },
        ),
      );
      if (created.kind === 'ok' && created.answer.data) {
        await dir.remember(contact.email, created.answer.data.id);
        return { kind: 'created', contactId: created.answer.data.id };
      }
      if (created.kind !== 'ambiguous') {
        return { kind: 'rejected', reason: rejectedReason(created.answer) };
      }
      const joined = await joinLists(contact.email, listIds);
      if (joined.kind === 'ok') return { kind: 'created', contactId: null };
      if (joined.kind !== 'not_found') {
        return { kind: 'rejected', reason: rejectedReason(joined.answer) };
      }
    }
    return { kind: 'ambiguous', reason: 'create_kept_getting_ambiguous_answers' };
  }

  /** Runs one idempotent change per contact, as many at once as the limit is worth. */
  const changeEach = (
    contacts: ContactRef[],
    onOutcome: OutcomeSink<ChangeOutcome>,
    change: (ref: ContactRef) => Promise<Answer<unknown>>,
  ) =>
    forEachSettling(contacts, gate.capacity, async (ref) => {
      await onOutcome(ref.userId, changeOutcome(await change(ref)));
    });

  return {
    name: 'resend',
    account,
    ...(settings.bulk === 'off'
      ? {}
      : { bulk: createContactImports(client, directory, { signal: context.signal }) }),

    async prepare(onProgress) {
      let pages = 0;
      await directory.load(() => onProgress(++pages));
      // A few requests per run keep the directory's unsubscribe flags fresh without webhooks.
      const swept = await directory.sweep(SWEEP_PAGES_PER_RUN);
      onProgress(pages + swept.pages);
    },

    getList: (listId) => segments.get(listId),
    createRunList: (runId, name) => segments.createForRun(runId, name),
    findOrCreateList: (name) => segments.findOrCreate(name),

    async syncContacts(contacts, listIds, onOutcome) {
      if (contacts.length === 0) return;
      await directory.refresh();
      const known = await directory.lookup(contacts.map((contact) => contact.email));
      await forEachSettling(contacts, gate.capacity, async (contact) => {
        await onOutcome(contact.userId, await syncOne(contact, listIds, known, directory));
      });
    },

    patchContacts: (patches, onOutcome) =>
      forEachSettling(patches, gate.capacity, async ({ contact, fields }) => {
        const answer = await client.idempotent('contacts.update', (signal) =>
          client.sdk.contacts.update({ ...contactKey(contact), ...fields }, { signal }),
        );
        await onOutcome(contact.userId, changeOutcome(answer));
      }),

    removeFromList: (contacts, listId, onOutcome) =>
      changeEach(contacts, onOutcome, (ref) => {
        const identifier = ref.contactId
          ? { contactId: ref.contactId }
          : { email: ref.email ?? '' };
        return client.idempotent('contacts.segments.remove', (signal) =>
          client.sdk.contacts.segments.remove({ ...identifier, segmentId: listId }, { signal }),
        );
      }),

    markUnsubscribed: (contacts, onOutcome) =>
      changeEach(contacts, onOutcome, (ref) =>
        client.idempotent('contacts.update', (signal) =>
          client.sdk.contacts.update({ ...contactKey(ref), unsubscribed: true }, { signal }),
        ),
      ),

    deleteContacts: (contacts, onOutcome) =>
      changeEach(contacts, onOutcome, (ref) =>
        client.idempotent('contacts.remove', (signal) =>
          client.sdk.contacts.remove(contactKey(ref), { signal }),
        ),
      ),

    knownContacts: (emailHashes) => directory.lookupHashes(emailHashes),
    forgetContacts: (emailHashes) => directory.forgetHashes(emailHashes),
  };
}
