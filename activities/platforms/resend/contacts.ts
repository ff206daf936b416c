import { propertyField } from '../../../common/field-changes.js';
import type {
  ChangeOutcome,
  ContactOutcome,
  ContactPatch,
  ContactRef,
  ContactToSync,
  FoundContact,
  OutcomeSink,
  PlatformContext,
  PlatformRejection,
} from '../platform.js';
import { redactedPlatformMessage } from '../platform-messages.js';
import { forEachSettling } from '../pool.js';
import type { Answer, ResendClient } from './client.js';
import type { ContactDirectory, KnownContact } from './contact-directory.js';
import type { createMemberships } from './memberships.js';
import type { ResendProperties } from './properties.js';
import { contactIsGone } from './reconciliation.js';

/** What the contact steps of one connection share: the attempt's context and the account's parts. */
export interface ResendConnection {
  context: PlatformContext;
  client: ResendClient;
  directory: ContactDirectory;
  properties: ResendProperties;
  memberships: ReturnType<typeof createMemberships>;
}

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
 * The fields a first meeting may fill in: names the directory listed empty, and properties this
 * service defined itself (no contact had a value for them before).
 */
async function emptyFieldsOf(
  properties: ResendProperties,
  contact: ContactToSync,
  known: KnownContact,
): Promise<string[] | undefined> {
  const definedHere = await properties.definedHere(Object.keys(contact.properties));
  const names = known.emptyFields ?? [];
  const empty = [...names, ...[...definedHere].map(propertyField)];
  return known.emptyFields === null && empty.length === 0 ? undefined : empty;
}

/** A patch as Resend's update takes it: only the fields to change, never `unsubscribed`. */
const updateBody = async (properties: ResendProperties, { fields }: ContactPatch) => ({
  ...(fields.firstName !== undefined ? { firstName: fields.firstName } : {}),
  ...(fields.lastName !== undefined ? { lastName: fields.lastName } : {}),
  ...(fields.properties && Object.keys(fields.properties).length > 0
    ? { properties: await properties.typed(fields.properties) }
    : {}),
});

/** A create carries the properties that have a value; an absent property is already empty. */
async function createProperties(properties: ResendProperties, contact: ContactToSync) {
  const present = Object.fromEntries(
    Object.entries(contact.properties).filter(([, value]) => value !== null && value !== ''),
  );
  if (Object.keys(present).length === 0) return {};
  const typed = await properties.typed(present);
  return { properties: typed as Record<string, string | number> };
}

/**
 * One contact. A contact known to exist joins the lists and is never re-created; an unknown
 * one is created with its lists in one request.
 */
async function syncOne(
  connection: ResendConnection,
  contact: ContactToSync,
  listIds: string[],
  known: KnownContacts,
): Promise<ContactOutcome> {
  const { client, directory, memberships, properties } = connection;
  const knownContact = await known.of(contact.email);
  // Found by asking (the directory had not read its page): unsubscribed, it is skipped as any
  // contact recorded unsubscribed there; joining it would not re-subscribe it, but the rule does.
  if (knownContact?.unsubscribed) return { kind: 'unsubscribed', contactId: knownContact.id };
  if (knownContact) {
    const joined = await memberships.joinKnown(knownContact.id, listIds);
    if (joined.kind === 'ok') {
      const emptyFields = await emptyFieldsOf(properties, contact, knownContact);
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
    await directory.forget(contact.email);
    return { kind: 'deleted', contactId: knownContact.id };
  }
  return createOne(connection, contact, listIds);
}

/**
 * Creates a contact with its lists, unless an erasure took its email: asked right before the
 * create is sent, and again once it is made (the erasure may have come while it was on its
 * way, and found nothing to delete yet). After an ambiguous create, the membership endpoint
 * tells whether the first create happened.
 */
async function createOne(
  connection: ResendConnection,
  contact: ContactToSync,
  listIds: string[],
): Promise<ContactOutcome> {
  const { context, client, directory, memberships, properties } = connection;
  if (await context.isErased(contact.email)) return { kind: 'erased' };
  const createdProperties = await createProperties(properties, contact);
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
      await directory.remember(contact.email, created.answer.data.id);
      return unlessErased(connection, contact.email, created.answer.data.id);
    }
    if (created.kind !== 'ambiguous') {
      return rejection(created.answer);
    }
    const joined = await memberships.join(contact.email, listIds);
    if (joined.kind === 'ok') return unlessErased(connection, contact.email, null);
    if (joined.kind !== 'not_found') {
      return rejection(joined.answer);
    }
  }
  return { kind: 'ambiguous', reason: 'create_kept_getting_ambiguous_answers' };
}

/** A contact just created, or deleted again when its email was erased meanwhile. */
async function unlessErased(
  { context, client, directory }: ResendConnection,
  email: string,
  contactId: string | null,
): Promise<ContactOutcome> {
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
  { context }: ResendConnection,
  contacts: ContactRef[],
  onOutcome: OutcomeSink<ChangeOutcome>,
  change: (ref: ContactRef) => Promise<Answer<unknown>>,
  outcomeOf: (answer: Answer<unknown>, ref: ContactRef) => Promise<ChangeOutcome> | ChangeOutcome,
) =>
  forEachSettling(contacts, context.gate.capacity, async (ref) => {
    await onOutcome(ref.userId, await outcomeOf(await change(ref), ref));
  });

/** Loads the directory once, then refreshes it: every run starts from a fresh look. */
export async function prepareDirectory(
  directory: ContactDirectory,
  onProgress: (pagesDone: number) => void,
): Promise<void> {
  let pages = 0;
  await directory.load(() => onProgress(++pages));
  // Every run starts from a fresh look, whatever a batch of another run saw a moment ago;
  // older contacts are the daily reconciliation's to read again.
  const refreshed = await directory.refresh();
  onProgress(pages + refreshed.pages);
}

/** What the directory knows of a batch's emails; `unsubscribed` only for contacts asked for. */
interface KnownContacts {
  of(email: string): Promise<(KnownContact & { unsubscribed?: boolean }) | undefined>;
}

/**
 * The directory's contacts for these emails, after learning the newest. While it has passed over
 * an import's pages unread, an email it does not know may still be a contact there (made by
 * someone else while the import ran): that one is asked for by email (a request) before anything
 * would create it, since a create of an existing contact re-subscribes it.
 */
async function knownContactsOf(
  directory: ContactDirectory,
  emails: string[],
): Promise<KnownContacts> {
  await directory.refresh({ shared: true });
  const known = await directory.lookup(emails);
  const unread = await directory.hasUnread();
  return {
    of: async (email) =>
      known.get(email) ?? (unread ? await directory.findOnPlatform(email) : undefined),
  };
}

export async function syncContacts(
  connection: ResendConnection,
  contacts: ContactToSync[],
  listIds: string[],
  onOutcome: OutcomeSink<ContactOutcome>,
): Promise<void> {
  const { context, directory } = connection;
  if (contacts.length === 0) return;
  const known = await knownContactsOf(
    directory,
    contacts.map((contact) => contact.email),
  );
  await forEachSettling(contacts, context.gate.capacity, async (contact) => {
    await onOutcome(contact.userId, await syncOne(connection, contact, listIds, known));
  });
}

export async function findContacts(
  { directory, properties }: ResendConnection,
  contacts: ContactToSync[],
): Promise<Map<string, FoundContact>> {
  const found = new Map<string, FoundContact>();
  if (contacts.length === 0) return found;
  await directory.refresh({ shared: true });
  // A dry run plans every user: what the directory passed over is read (once, 100 a page)
  // rather than asked for email by email.
  await directory.readUnread();
  const known = await directory.lookup(contacts.map((contact) => contact.email));
  for (const contact of contacts) {
    const knownContact = known.get(contact.email);
    if (!knownContact) continue;
    const emptyFields = await emptyFieldsOf(properties, contact, knownContact);
    found.set(contact.userId, {
      contactId: knownContact.id,
      ...(emptyFields ? { emptyFields } : {}),
    });
  }
  return found;
}

export const patchContacts = (
  { context, client, properties }: ResendConnection,
  patches: ContactPatch[],
  onOutcome: OutcomeSink<ChangeOutcome>,
) =>
  forEachSettling(patches, context.gate.capacity, async (patch) => {
    const body = await updateBody(properties, patch);
    const answer = await client.idempotent('contacts.update', (signal) =>
      client.sdk.contacts.update(
        { ...contactKey(patch.contact), ...body } as Parameters<
          typeof client.sdk.contacts.update
        >[0],
        { signal },
      ),
    );
    await onOutcome(patch.contact.userId, contactChangeOutcome(answer));
  });

export const removeFromList = (
  connection: ResendConnection,
  contacts: ContactRef[],
  listId: string,
  onOutcome: OutcomeSink<ChangeOutcome>,
) => {
  const { client } = connection;
  /** A membership's 404 is the membership's (not in the list) or the contact's: Resend tells. */
  const removalOutcome = async (answer: Answer<unknown>, ref: ContactRef) =>
    answer.kind === 'not_found' && (await contactIsGone(client, contactKey(ref)))
      ? ({ kind: 'deleted' } as const)
      : changeOutcome(answer);
  return changeEach(
    connection,
    contacts,
    onOutcome,
    (ref) => {
      const identifier = ref.contactId ? { contactId: ref.contactId } : { email: ref.email ?? '' };
      return client.idempotent('contacts.segments.remove', (signal) =>
        client.sdk.contacts.segments.remove({ ...identifier, segmentId: listId }, { signal }),
      );
    },
    removalOutcome,
  );
};

export const markUnsubscribed = (
  connection: ResendConnection,
  contacts: ContactRef[],
  onOutcome: OutcomeSink<ChangeOutcome>,
) => {
  const refsByUser = new Map(contacts.map((contact) => [contact.userId, contact]));
  return changeEach(
    connection,
    contacts,
    async (userId, outcome) => {
      // Resend now lists the contact unsubscribed: remembered as a page read would, so the next
      // run knows it without reading that page again (runs read only new pages).
      const ref = refsByUser.get(userId);
      if (outcome.kind === 'done' && ref) await connection.directory.noteUnsubscribed(ref);
      await onOutcome(userId, outcome);
    },
    (ref) =>
      connection.client.idempotent('contacts.update', (signal) =>
        connection.client.sdk.contacts.update(
          { ...contactKey(ref), unsubscribed: true },
          { signal },
        ),
      ),
    contactChangeOutcome,
  );
};

export const deleteContacts = (
  connection: ResendConnection,
  contacts: ContactRef[],
  onOutcome: OutcomeSink<ChangeOutcome>,
) =>
  changeEach(
    connection,
    contacts,
    onOutcome,
    (ref) =>
      connection.client.idempotent('contacts.remove', (signal) =>
        connection.client.sdk.contacts.remove(contactKey(ref), { signal }),
      ),
    changeOutcome,
  );
