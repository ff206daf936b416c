import { createHash } from 'node:crypto';
import { propertyField } from '../../../common/field-changes.js';
import {
  type ChangeOutcome,
  type ContactOutcome,
  type ContactPatch,
  type ContactRef,
  type ContactToSync,
  type FoundContact,
  type MarketingPlatform,
  type OutcomeSink,
  type PlatformContext,
  type PlatformModule,
  type PlatformRejection,
  platformUnavailable,
} from '../platform.js';
import { redactedPlatformMessage } from '../platform-messages.js';
import { forEachSettling } from '../pool.js';
import type { Answer } from './client.js';
import { createResendClient } from './client.js';
import {
  type ContactDirectory,
  createContactDirectory,
  type KnownContact,
  type RecentRefreshes,
} from './contact-directory.js';
import { createContactImports } from './imports.js';
import { resendLimit } from './limit.js';
import { createSegments } from './lists.js';
import { createMemberships } from './memberships.js';
import { createResendProperties } from './properties.js';
import { contactIsGone, createResendReconciliation } from './reconciliation.js';

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

/** Resend refused this contact: its error's name as the reason, its message kept without emails. */
const rejection = (answer: Answer<unknown>['answer']): PlatformRejection => {
  const platformMessage = redactedPlatformMessage(answer.error?.message);
  return {
    kind: 'rejected',
    reason: `rejected_by_platform:${answer.error?.name ?? 'unknown'}`,
    ...(platformMessage ? { platformMessage } : {}),
  };
};

const changeOutcome = ({ answer, kind }: Answer<unknown>): ChangeOutcome =>
  kind === 'ok'
    ? { kind: 'done' }
    : kind === 'not_found'
      ? { kind: 'not_found' }
      : rejection(answer);

/** A change made to the contact itself (`/contacts/{id}`): its 404 says Resend no longer has it. */
const contactChangeOutcome = (answer: Answer<unknown>): ChangeOutcome =>
  answer.kind === 'not_found' ? { kind: 'deleted' } : changeOutcome(answer);

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
    gate: context.gate,
    signal: context.signal,
    onAnswer: context.onAnswer,
    ...(settings.requestTimeoutMs ? { requestTimeoutMs: settings.requestTimeoutMs } : {}),
    ...(settings.transientRetries !== undefined
      ? { transientRetries: settings.transientRetries }
      : {}),
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
  const { gate } = context;
  const client = resendClientFor(settings, context);
  const directory = createContactDirectory(context.sql, client, account, memory.recentRefreshes);
  const segments = createSegments(context.sql, client, account);
  const properties = createResendProperties(context.sql, client, account);

  /**
   * The fields a first meeting may fill in: names the directory listed empty, and properties this
   * service defined itself (no contact had a value for them before).
   */
  const emptyFieldsOf = async (
    contact: ContactToSync,
    known: KnownContact,
  ): Promise<string[] | undefined> => {
    const definedHere = await properties.definedHere(Object.keys(contact.properties));
    const names = known.emptyFields ?? [];
    const empty = [...names, ...[...definedHere].map(propertyField)];
    return known.emptyFields === null && empty.length === 0 ? undefined : empty;
  };

  /** A patch as Resend's update takes it: only the fields to change, never `unsubscribed`. */
  const updateBody = async ({ fields }: ContactPatch) => ({
    ...(fields.firstName !== undefined ? { firstName: fields.firstName } : {}),
    ...(fields.lastName !== undefined ? { lastName: fields.lastName } : {}),
    ...(fields.properties && Object.keys(fields.properties).length > 0
      ? { properties: await properties.typed(fields.properties) }
      : {}),
  });

  /** A create carries the properties that have a value; an absent property is already empty. */
  const createProperties = async (contact: ContactToSync) => {
    const present = Object.fromEntries(
      Object.entries(contact.properties).filter(([, value]) => value !== null && value !== ''),
    );
    if (Object.keys(present).length === 0) return {};
    const typed = await properties.typed(present);
    return { properties: typed as Record<string, string | number> };
  };
  const reconciliation = createResendReconciliation(context.sql, client, account);

  const memberships = createMemberships(client);
  const joinLists = memberships.join;

  /**
   * One contact. A contact known to exist joins the lists and is never re-created; an unknown
   * one is created with its lists in one request.
   */
  async function syncOne(
    contact: ContactToSync,
    listIds: string[],
    known: Map<string, KnownContact>,
    dir: ContactDirectory,
  ): Promise<ContactOutcome> {
    const knownContact = known.get(contact.email);
    if (knownContact) {
      const joined = await memberships.joinKnown(knownContact.id, listIds);
      if (joined.kind === 'ok') {
        const emptyFields = await emptyFieldsOf(contact, knownContact);
        const { foundIn } = joined;
        return {
          kind: foundIn.length === listIds.length ? 'already_there' : 'joined',
          contactId: knownContact.id,
          ...(foundIn.length > 0 ? { foundIn } : {}),
          ...(emptyFields ? { emptyFields } : {}),
        };
      }
      // A 404 is the contact's (deleted in Resend: never created again) or the list's.
      if (joined.kind !== 'not_found' || !(await contactIsGone(client, { id: knownContact.id }))) {
        return rejection(joined.answer);
      }
      await dir.forget(contact.email);
      return { kind: 'deleted', contactId: knownContact.id };
    }
    return createOne(contact, listIds, dir);
  }

  /**
   * Creates a contact with its lists, unless an erasure took its email: asked right before the
   * create is sent, and again once it is made (the erasure may have come while it was on its
   * way, and found nothing to delete yet). After an ambiguous create, the membership endpoint
   * tells whether the first create happened.
   */
  async function createOne(
    contact: ContactToSync,
    listIds: string[],
    dir: ContactDirectory,
  ): Promise<ContactOutcome> {
    if (await context.isErased(contact.email)) return { kind: 'erased' };
    const createdProperties = await createProperties(contact);
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const created = await client.create('contacts.create', (signal) =>
        client.sdk.contacts.create(
          {
            email: contact.email,
            ...(contact.firstName ? { firstName: contact.firstName } : {}),
            ...(contact.lastName ? { lastName: contact.lastName } : {}),
            ...createdProperties,
            segments: listIds.map((id) => ({ id })),
          },
          { signal },
        ),
      );
      if (created.kind === 'ok' && created.answer.data) {
        await dir.remember(contact.email, created.answer.data.id);
        return unlessErased(contact.email, created.answer.data.id);
      }
      if (created.kind !== 'ambiguous') {
        return rejection(created.answer);
      }
      const joined = await joinLists(contact.email, listIds);
      if (joined.kind === 'ok') return unlessErased(contact.email, null);
      if (joined.kind !== 'not_found') {
        return rejection(joined.answer);
      }
    }
    return { kind: 'ambiguous', reason: 'create_kept_getting_ambiguous_answers' };
  }

  /** A contact just created, or deleted again when its email was erased meanwhile. */
  async function unlessErased(email: string, contactId: string | null): Promise<ContactOutcome> {
    if (!(await context.isErased(email))) return { kind: 'created', contactId };
    const removed = await client.idempotent('contacts.remove', (signal) =>
      client.sdk.contacts.remove(contactId ? { id: contactId } : { email }, { signal }),
    );
    if (removed.kind !== 'ok' && removed.kind !== 'not_found') {
      return rejection(removed.answer);
    }
    await directory.forget(email);
    return { kind: 'erased' };
  }

  /** Runs one idempotent change per contact, as many at once as the limit is worth. */
  const changeEach = (
    contacts: ContactRef[],
    onOutcome: OutcomeSink<ChangeOutcome>,
    change: (ref: ContactRef) => Promise<Answer<unknown>>,
    outcomeOf: (answer: Answer<unknown>, ref: ContactRef) => Promise<ChangeOutcome> | ChangeOutcome,
  ) =>
    forEachSettling(contacts, gate.capacity, async (ref) => {
      await onOutcome(ref.userId, await outcomeOf(await change(ref), ref));
    });

  /** A membership's 404 is the membership's (not in the list) or the contact's: Resend tells. */
  const removalOutcome = async (answer: Answer<unknown>, ref: ContactRef) =>
    answer.kind === 'not_found' && (await contactIsGone(client, contactKey(ref)))
      ? ({ kind: 'deleted' } as const)
      : changeOutcome(answer);

  return {
    name: 'resend',
    account,
    ...(settings.bulk === 'off'
      ? {}
      : { bulk: createContactImports(client, directory, { signal: context.signal }) }),

    async prepare(onProgress) {
      let pages = 0;
      await directory.load(() => onProgress(++pages));
      // Every run starts from a fresh look, whatever a batch of another run saw a moment ago;
      // older contacts are the daily reconciliation's to read again.
      const refreshed = await directory.refresh();
      onProgress(pages + refreshed.pages);
    },

    getList: (listId) => segments.get(listId),
    createRunList: (runId, name) => segments.createForRun(runId, name),
    findOrCreateList: (name) => segments.findOrCreate(name),
    defineProperties: (definitions) => properties.define(definitions),

    async syncContacts(contacts, listIds, onOutcome) {
      if (contacts.length === 0) return;
      await directory.refresh({ shared: true });
      const known = await directory.lookup(contacts.map((contact) => contact.email));
      await forEachSettling(contacts, gate.capacity, async (contact) => {
        await onOutcome(contact.userId, await syncOne(contact, listIds, known, directory));
      });
    },

    async findContacts(contacts) {
      const found = new Map<string, FoundContact>();
      if (contacts.length === 0) return found;
      await directory.refresh({ shared: true });
      const known = await directory.lookup(contacts.map((contact) => contact.email));
      for (const contact of contacts) {
        const knownContact = known.get(contact.email);
        if (!knownContact) continue;
        const emptyFields = await emptyFieldsOf(contact, knownContact);
        found.set(contact.userId, {
          contactId: knownContact.id,
          ...(emptyFields ? { emptyFields } : {}),
        });
      }
      return found;
    },
    findList: (name) => segments.find(name),

    patchContacts: (patches, onOutcome) =>
      forEachSettling(patches, gate.capacity, async (patch) => {
        const body = await updateBody(patch);
        const answer = await client.idempotent('contacts.update', (signal) =>
          client.sdk.contacts.update(
            { ...contactKey(patch.contact), ...body } as Parameters<
              typeof client.sdk.contacts.update
            >[0],
            { signal },
          ),
        );
        await onOutcome(patch.contact.userId, contactChangeOutcome(answer));
      }),

    removeFromList: (contacts, listId, onOutcome) =>
      changeEach(
        contacts,
        onOutcome,
        (ref) => {
          const identifier = ref.contactId
            ? { contactId: ref.contactId }
            : { email: ref.email ?? '' };
          return client.idempotent('contacts.segments.remove', (signal) =>
            client.sdk.contacts.segments.remove({ ...identifier, segmentId: listId }, { signal }),
          );
        },
        removalOutcome,
      ),

    markUnsubscribed: (contacts, onOutcome) =>
      changeEach(
        contacts,
        async (userId, outcome) => {
          // Resend now lists the contact unsubscribed: remembered as a page read would, so the
          // next run knows it without reading that page again (runs read only new pages).
          const ref = contacts.find((contact) => contact.userId === userId);
          if (outcome.kind === 'done' && ref?.email) await directory.noteUnsubscribed(ref);
          await onOutcome(userId, outcome);
        },
        (ref) =>
          client.idempotent('contacts.update', (signal) =>
            client.sdk.contacts.update({ ...contactKey(ref), unsubscribed: true }, { signal }),
          ),
        contactChangeOutcome,
      ),

    deleteContacts: (contacts, onOutcome) =>
      changeEach(
        contacts,
        onOutcome,
        (ref) =>
          client.idempotent('contacts.remove', (signal) =>
            client.sdk.contacts.remove(contactKey(ref), { signal }),
          ),
        changeOutcome,
      ),

    knownContacts: (emailHashes) => directory.lookupHashes(emailHashes),
    forgetContacts: (emailHashes) => directory.forgetHashes(emailHashes),
    async refreshContacts() {
      await directory.refresh();
    },
    findDisappearedContacts: (onProgress) => reconciliation.findDisappeared(onProgress),
    listSuppressions: (onPage) => reconciliation.listSuppressions(onPage),
  };
}
