import type { Answer, ResendClient } from './client.js';

/** A join of an existing contact: the answer, and the lists it was in before (found there). */
export type KnownJoin = Answer<unknown> & { foundIn: string[] };

const ok: Answer<unknown> = { answer: { data: null, error: null, headers: null }, kind: 'ok' };

/**
 * Segment memberships of contacts. Adding a contact to a segment it is in already answers as a
 * first add does, so whether a membership was there before (someone else made it) is read from
 * the contact's segments first; only the missing ones are added.
 */
export function createMemberships(client: ResendClient) {
  /** Adds an existing contact (by id or email) to every list; never changes the contact. */
  async function join(contact: string, listIds: string[]): Promise<Answer<unknown>> {
    const identifier = contact.includes('@') ? { email: contact } : { contactId: contact };
    let last: Answer<unknown> | undefined;
    for (const segmentId of listIds) {
      last = await client.idempotent('contacts.segments.add', (signal) =>
        client.sdk.contacts.segments.add({ ...identifier, segmentId }, { signal }),
      );
      if (last.kind !== 'ok') return last;
    }
    return last ?? ok;
  }

  /** Of `listIds`, those the contact is in now; a not-ok answer when its segments were not read. */
  async function listsHolding(
    contactId: string,
    listIds: string[],
  ): Promise<{ kind: 'ok'; held: Set<string> } | Answer<unknown>> {
    const wanted = new Set(listIds);
    const held = new Set<string>();
    let after: string | undefined;
    for (;;) {
      const page = await client.idempotent('contacts.segments.list', (signal) =>
        client.sdk.contacts.segments.list(
          { contactId, limit: 100, ...(after ? { after } : {}) },
          { signal },
        ),
      );
      const data = page.answer.data;
      if (page.kind !== 'ok' || !data) return page;
      for (const segment of data.data) if (wanted.has(segment.id)) held.add(segment.id);
      const last = data.data.at(-1);
      if (!data.has_more || !last || held.size === wanted.size) return { kind: 'ok', held };
      after = last.id;
    }
  }

  /** Adds a known contact to the lists it is not in yet, saying which it was in already. */
  async function joinKnown(contactId: string, listIds: string[]): Promise<KnownJoin> {
    const holding = await listsHolding(contactId, listIds);
    if (!('held' in holding)) return { ...holding, foundIn: [] };
    const foundIn = listIds.filter((listId) => holding.held.has(listId));
    const joined = await join(
      contactId,
      listIds.filter((listId) => !holding.held.has(listId)),
    );
    return { ...joined, foundIn };
  }

  return { join, joinKnown };
}
