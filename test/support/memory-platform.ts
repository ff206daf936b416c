import { setTimeout as sleep } from 'node:timers/promises';
import {
  type ChangeOutcome,
  type ContactOutcome,
  type ContactRef,
  type ContactToSync,
  type MarketingPlatform,
  type OutcomeSink,
  type PlatformContext,
  PlatformError,
  type PlatformModule,
  platformUnavailable,
} from '../../activities/platforms/platform.js';
import { forEachSettling } from '../../activities/platforms/pool.js';
import {
  type ApiAnswer,
  type ApiError,
  BULK_LIMIT,
  ConnectionLost,
  type MemoryStore,
  type MergeFields,
  memberId,
} from './memory-store.js';

/**
 * A second platform behind the same batch interface as Resend, of a deliberately different shape
 * (see memory-store.ts): contacts are upserted by email, which never changes an existing member,
 * so there is nothing to prepare and no directory of existing contacts; list membership and
 * statuses change in bulk calls of up to 500 members; the account limits connections open at
 * once, not a request rate. Every call is idempotent (list creates through an idempotency key),
 * so a lost answer or an outage is simply asked again, and no outcome is ever ambiguous.
 */

export interface MemoryPlatformOptions {
  /** The registry's name, default 'memory'. */
  name?: string;
  /** Connections the account allows at once, default 10. */
  connections?: number;
  /** Tries of one call before the batch fails with an outage, default 4. */
  attempts?: number;
  /** First wait between tries, doubled each time, default 5 ms. */
  backoffMs?: number;
}

export interface MemoryPlatformModule extends PlatformModule {
  readonly store: MemoryStore;
  /** Calls that kept failing until the platform gave up with `platformUnavailable`. */
  readonly stats: { unavailable: number };
}

/** A call's answer once it was not an outage: the data, or the platform's final refusal. */
type Settled<T> = Exclude<ApiAnswer<T>, { status: 429 | 503 }>;

/** What one list's bulk add said about a member. */
export type Join = 'added' | 'already_member' | 'not_in_audience' | 'list_gone';

export function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let start = 0; start < items.length; start += size) {
    result.push(items.slice(start, start + size));
  }
  return result;
}

export const refusalReason = (error: ApiError): string =>
  `rejected_by_platform:${error.title.toLowerCase().replaceAll(/[^a-z0-9]+/g, '_')}`;

/**
 * A contact's outcome from its upsert (or, for a member this service knew, its id) and what each
 * list's bulk add said about it: new, joined at least one list, or in all of them already;
 * deleted when a member this service knew is gone from the audience; refused when a list or an
 * upserted member went missing.
 */
export function contactOutcome(
  upsert: { id: string; created: boolean; known?: boolean },
  joins: readonly Join[],
): ContactOutcome {
  if (joins.includes('list_gone')) {
    return { kind: 'rejected', reason: 'rejected_by_platform:list_not_found' };
  }
  if (joins.includes('not_in_audience')) {
    return upsert.known
      ? { kind: 'deleted', contactId: upsert.id }
      : { kind: 'rejected', reason: 'rejected_by_platform:member_not_in_audience' };
  }
  if (upsert.created) return { kind: 'created', contactId: upsert.id };
  return joins.includes('added')
    ? { kind: 'joined', contactId: upsert.id }
    : { kind: 'already_there', contactId: upsert.id };
}

/** The merge fields a sync sends: only those it has. */
export function mergeFieldsOf(fields: {
  firstName?: string | null;
  lastName?: string | null;
}): MergeFields {
  const merge: MergeFields = {};
  if (fields.firstName !== undefined) merge.FNAME = fields.firstName ?? '';
  if (fields.lastName !== undefined) merge.LNAME = fields.lastName ?? '';
  return merge;
}

/** The member a reference names: by the platform's id, else by the hash of its email. */
export const memberIdOf = (ref: ContactRef): string | null =>
  ref.contactId ?? (ref.email ? memberId(ref.email) : null);

export function memoryPlatformModule(
  store: MemoryStore,
  options: MemoryPlatformOptions = {},
): MemoryPlatformModule {
  const name = options.name ?? 'memory';
  const account = `${name}:${store.accountId}`;
  const stats = { unavailable: 0 };
  return {
    name,
    account,
    limit: { kind: 'concurrent_connections', connections: options.connections ?? 10 },
    store,
    stats,
    connect: (context) =>
      connectMemory(store, context, {
        name,
        account,
        attempts: options.attempts ?? 4,
        backoffMs: options.backoffMs ?? 5,
        stats,
      }),
  };
}

function connectMemory(
  store: MemoryStore,
  context: PlatformContext,
  settings: {
    name: string;
    account: string;
    attempts: number;
    backoffMs: number;
    stats: { unavailable: number };
  },
): MarketingPlatform {
  const { gate, signal } = context;

  /** One call through the gate; outages, 429s and lost answers are asked again, then thrown. */
  async function send<T>(op: string, call: () => Promise<ApiAnswer<T>>): Promise<Settled<T>> {
    for (let attempt = 1; ; attempt += 1) {
      signal.throwIfAborted();
      let failure: string;
      try {
        const answer = await gate.run(call, signal);
        context.onAnswer();
        if (answer.status === 429) {
          failure = 'too_many_connections';
          await gate.pause(settings.backoffMs);
        } else if (answer.status === 503) failure = 'outage';
        else return answer as Settled<T>;
      } catch (error) {
        if (!(error instanceof ConnectionLost)) throw error;
        failure = 'lost_answer';
      }
      if (attempt >= settings.attempts) {
        settings.stats.unavailable += 1;
        throw platformUnavailable(`${settings.name} ${op} kept failing (${failure})`);
      }
      await sleep(settings.backoffMs * 2 ** (attempt - 1), undefined, { signal });
    }
  }

  /** A call on one member: its 404 says the audience has no such member. */
  const changeOf =
    (gone: 'deleted' | 'not_found') =>
    (answer: Settled<unknown>): ChangeOutcome =>
      answer.status === 200
        ? { kind: 'done' }
        : answer.status === 404
          ? { kind: gone }
          : { kind: 'rejected', reason: refusalReason(answer.error) };

  /** Contacts that can be named, and an outcome for those that cannot. */
  async function identified(
    contacts: ContactRef[],
    onOutcome: OutcomeSink<ChangeOutcome>,
  ): Promise<{ ref: ContactRef; id: string }[]> {
    const named: { ref: ContactRef; id: string }[] = [];
    for (const ref of contacts) {
      const id = memberIdOf(ref);
      if (id) named.push({ ref, id });
      else await onOutcome(ref.userId, { kind: 'not_found' });
    }
    return named;
  }

  /**
   * Upserts a chunk's new contacts (members this service knew join by their id: an upsert would
   * bring a deleted one back), adds them all to every list in bulk, then reports each once.
   */
  async function syncChunk(
    chunk: ContactToSync[],
    listIds: string[],
    onOutcome: OutcomeSink<ContactOutcome>,
  ): Promise<void> {
    const upserted: { contact: ContactToSync; id: string; created: boolean; known?: boolean }[] =
      chunk.flatMap((contact) =>
        contact.knownContactId
          ? [{ contact, id: contact.knownContactId, created: false, known: true }]
          : [],
      );
    const unknown = chunk.filter((contact) => !contact.knownContactId);
    await forEachSettling(unknown, gate.capacity, async (contact) => {
      const answer = await send('putMember', () =>
        store.putMember(contact.email, {
          status_if_new: 'subscribed',
          merge_fields: mergeFieldsOf({
            firstName: contact.firstName || undefined,
            lastName: contact.lastName || undefined,
          }),
        }),
      );
      if (answer.status === 200) {
        upserted.push({ contact, id: answer.data.id, created: answer.data.created });
      } else
        await onOutcome(contact.userId, { kind: 'rejected', reason: refusalReason(answer.error) });
    });
    if (upserted.length === 0) return;

    const joins = new Map<string, Join[]>(upserted.map(({ id }) => [id, []]));
    // The lists each member was in before: memberships found, not made.
    const foundIn = new Map<string, string[]>(upserted.map(({ id }) => [id, []]));
    const note = (ids: string[], join: Join) => {
      for (const id of ids) joins.get(id)?.push(join);
    };
    const ids = upserted.map(({ id }) => id);
    await forEachSettling(listIds, gate.capacity, async (listId) => {
      const answer = await send('addToList', () => store.addToList(listId, ids));
      if (answer.status === 200) {
        note(answer.data.added, 'added');
        note(answer.data.already_members, 'already_member');
        for (const id of answer.data.already_members) foundIn.get(id)?.push(listId);
        note(answer.data.not_in_audience, 'not_in_audience');
      } else if (answer.status === 404) note(ids, 'list_gone');
      else throw new PlatformError('list_refused', `${settings.name} refused a bulk add`, false);
    });
    for (const { contact, id, created, known } of upserted) {
      const outcome = contactOutcome({ id, created, known }, joins.get(id) ?? []);
      const found = foundIn.get(id) ?? [];
      const withFound = outcome.kind === 'joined' && found.length > 0;
      await onOutcome(contact.userId, withFound ? { ...outcome, foundIn: found } : outcome);
    }
  }

  /** A bulk change of statuses or memberships, 500 members a call; `missingIn`: gone members. */
  async function inBulk<T>(
    contacts: ContactRef[],
    onOutcome: OutcomeSink<ChangeOutcome>,
    call: (ids: string[]) => Promise<ApiAnswer<T>>,
    missingIn: (data: T) => string[],
    op: string,
  ): Promise<void> {
    const named = await identified(contacts, onOutcome);
    for (const chunk of chunks(named, BULK_LIMIT)) {
      const answer = await send(op, () => call(chunk.map(({ id }) => id)));
      const missing = new Set(answer.status === 200 ? missingIn(answer.data) : []);
      for (const { ref, id } of chunk) {
        await onOutcome(
          ref.userId,
          answer.status === 200
            ? { kind: missing.has(id) ? 'deleted' : 'done' }
            : answer.status === 404
              ? { kind: 'rejected', reason: 'rejected_by_platform:list_not_found' }
              : { kind: 'rejected', reason: refusalReason(answer.error) },
        );
      }
    }
  }

  /** One call per contact (the API has no bulk form of it). */
  async function eachContact<Item extends { contact: ContactRef }>(
    items: Item[],
    onOutcome: OutcomeSink<ChangeOutcome>,
    op: string,
    call: (id: string, item: Item) => Promise<ApiAnswer<unknown>>,
    outcomeOf: (answer: Settled<unknown>) => ChangeOutcome,
  ): Promise<void> {
    await forEachSettling(items, gate.capacity, async (item) => {
      const id = memberIdOf(item.contact);
      await onOutcome(
        item.contact.userId,
        id ? outcomeOf(await send(op, () => call(id, item))) : { kind: 'not_found' },
      );
    });
  }

  return {
    name: settings.name,
    account: settings.account,

    async getList(listId) {
      const answer = await send('getList', () => store.getList(listId));
      if (answer.status === 200) return answer.data;
      if (answer.status === 404) return null;
      throw platformUnavailable(`${settings.name} getList refused (${answer.error.title})`);
    },

    async createRunList(runId, listName) {
      // The key makes every retry, whatever happened to earlier answers, find the first list.
      const answer = await send('createList', () =>
        store.createList({ name: listName, idempotencyKey: `run:${runId}` }),
      );
      if (answer.status === 200) return answer.data;
      throw platformUnavailable(`${settings.name} createList refused (${answer.error.title})`);
    },

    async findOrCreateList(listName) {
      const found = await send('findLists', () => store.findLists(listName));
      if (found.status !== 200) {
        throw platformUnavailable(`${settings.name} findLists refused (${found.error.title})`);
      }
      const [oldest] = found.data.lists;
      if (oldest) return oldest;
      // Two runs creating the same new list at once send the same key and get one list.
      const created = await send('createList', () =>
        store.createList({ name: listName, idempotencyKey: `name:${listName}` }),
      );
      if (created.status === 200) return created.data;
      throw platformUnavailable(`${settings.name} createList refused (${created.error.title})`);
    },

    // Its merge fields are fixed (names only): there is nothing to define.
    async defineProperties() {},

    async syncContacts(contacts, listIds, onOutcome) {
      for (const chunk of chunks(contacts, BULK_LIMIT)) {
        await syncChunk(chunk, listIds, onOutcome);
      }
    },

    patchContacts: (patches, onOutcome) =>
      eachContact(
        patches,
        onOutcome,
        'patchMember',
        (id, { fields }) => store.patchMember(id, mergeFieldsOf(fields)),
        changeOf('deleted'),
      ),

    removeFromList: (contacts, listId, onOutcome) =>
      inBulk(
        contacts,
        onOutcome,
        (ids) => store.removeFromList(listId, ids),
        (data) => data.not_in_audience,
        'removeFromList',
      ),

    markUnsubscribed: (contacts, onOutcome) =>
      inBulk(
        contacts,
        onOutcome,
        (ids) => store.updateStatuses(ids, 'unsubscribed'),
        (data) => data.not_found,
        'updateStatuses',
      ),

    deleteContacts: (contacts, onOutcome) =>
      eachContact(
        contacts.map((contact) => ({ contact })),
        onOutcome,
        'deleteMember',
        (id) => store.deleteMember(id),
        changeOf('not_found'),
      ),
  };
}
