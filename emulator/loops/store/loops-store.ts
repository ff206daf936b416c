import { SeqList } from '../../common/seq-list.js';
import { newLoopsId } from './ids.js';
import type {
  ContactChanges,
  CustomPropertyRecord,
  LoopsContact,
  MailingListRecord,
  PropertyValue,
} from './records.js';

/** What a write changed that a webhook reports. */
export interface ContactEvents {
  unsubscribed: boolean;
  listsJoined: string[];
  listsLeft: string[];
}

const NO_PROPERTIES: Readonly<Record<string, PropertyValue>> = Object.freeze({});

/**
 * One team's contacts (indexed by id, email and userId), mailing lists and custom properties,
 * so every single-contact operation is O(1) at a million contacts.
 */
export class LoopsStore {
  readonly byId = new Map<string, LoopsContact>();
  readonly byEmail = new Map<string, LoopsContact>();
  readonly byUserId = new Map<string, LoopsContact>();
  readonly contacts = new SeqList<LoopsContact>();
  readonly lists: MailingListRecord[] = [];
  readonly listsById = new Map<string, MailingListRecord>();
  readonly properties = new Map<string, CustomPropertyRecord>();
  /** Suppression removals used in the current quota period. */
  suppressionRemovals = 0;
  private nextSeq = 1;
  private subscriptionTotal = 0;

  get subscriptionCount(): number {
    return this.subscriptionTotal;
  }

  addList(input: Omit<MailingListRecord, 'id'> & { id?: string }): MailingListRecord {
    const list: MailingListRecord = { ...input, id: input.id ?? newLoopsId() };
    this.lists.push(list);
    this.listsById.set(list.id, list);
    return list;
  }

  find(by: { email?: string; userId?: string }): LoopsContact | undefined {
    if (by.email !== undefined) return this.byEmail.get(by.email.toLowerCase());
    return by.userId === undefined ? undefined : this.byUserId.get(by.userId);
  }

  /** A new contact (subscribed unless the changes say otherwise) with the changes applied. */
  create(changes: ContactChanges & { email: string }): LoopsContact {
    const contact: LoopsContact = {
      id: newLoopsId(),
      seq: this.nextSeq++,
      email: changes.email,
      emailKey: changes.email.toLowerCase(),
      firstName: null,
      lastName: null,
      source: 'API',
      subscribed: changes.subscribed ?? true,
      userGroup: '',
      userId: null,
      lists: undefined,
      properties: NO_PROPERTIES,
      suppressed: false,
      optedOutLists: undefined,
      resubscriptions: 0,
      createdAtMs: Date.now(),
    };
    this.byId.set(contact.id, contact);
    this.byEmail.set(contact.emailKey, contact);
    this.contacts.insert(contact);
    const { subscribed: _ignored, ...rest } = changes;
    this.apply(contact, rest);
    return contact;
  }

  /** Applies a write; `subscribed: true` and joining a list the person left count as resubscriptions. */
  apply(contact: LoopsContact, changes: ContactChanges): ContactEvents {
    this.setIdentity(contact, changes);
    if (changes.firstName !== undefined) contact.firstName = changes.firstName;
    if (changes.lastName !== undefined) contact.lastName = changes.lastName;
    if (changes.source !== undefined) contact.source = changes.source;
    if (changes.userGroup !== undefined) contact.userGroup = changes.userGroup;
    const events: ContactEvents = { unsubscribed: false, listsJoined: [], listsLeft: [] };
    if (changes.subscribed !== undefined && changes.subscribed !== contact.subscribed) {
      if (changes.subscribed) contact.resubscriptions += 1;
      else events.unsubscribed = true;
      contact.subscribed = changes.subscribed;
    }
    for (const [listId, on] of Object.entries(changes.mailingLists ?? {})) {
      if (on ? this.join(contact, listId) : this.leave(contact, listId)) {
        (on ? events.listsJoined : events.listsLeft).push(listId);
      }
    }
    if (changes.properties) contact.properties = merge(contact.properties, changes.properties);
    return events;
  }

  /** The person unsubscribes from one list (preference page); false when not subscribed. */
  personLeavesList(contact: LoopsContact, listId: string): boolean {
    if (!this.leave(contact, listId)) return false;
    contact.optedOutLists = [...(contact.optedOutLists ?? []), listId];
    return true;
  }

  setSuppressed(contact: LoopsContact, suppressed: boolean): void {
    contact.suppressed = suppressed;
  }

  delete(contact: LoopsContact): void {
    this.byId.delete(contact.id);
    this.byEmail.delete(contact.emailKey);
    if (contact.userId !== null) this.byUserId.delete(contact.userId);
    this.contacts.remove(contact);
    this.subscriptionTotal -= contact.lists?.length ?? 0;
  }

  /** Contacts and custom properties go; mailing lists (dashboard configuration) stay. */
  clear(): void {
    this.byId.clear();
    this.byEmail.clear();
    this.byUserId.clear();
    this.contacts.clear();
    this.properties.clear();
    this.suppressionRemovals = 0;
    this.subscriptionTotal = 0;
  }

  private setIdentity(contact: LoopsContact, changes: ContactChanges): void {
    if (changes.email !== undefined && changes.email.toLowerCase() !== contact.emailKey) {
      this.byEmail.delete(contact.emailKey);
      contact.emailKey = changes.email.toLowerCase();
      this.byEmail.set(contact.emailKey, contact);
    }
    if (changes.email !== undefined) contact.email = changes.email;
    if (changes.userId !== undefined && changes.userId !== contact.userId) {
      if (contact.userId !== null) this.byUserId.delete(contact.userId);
      contact.userId = changes.userId;
      this.byUserId.set(changes.userId, contact);
    }
  }

  private join(contact: LoopsContact, listId: string): boolean {
    if (contact.lists?.includes(listId)) return false;
    contact.lists = [...(contact.lists ?? []), listId];
    this.subscriptionTotal += 1;
    if (contact.optedOutLists?.includes(listId)) {
      contact.resubscriptions += 1;
      const kept = contact.optedOutLists.filter((id) => id !== listId);
      contact.optedOutLists = kept.length > 0 ? kept : undefined;
    }
    return true;
  }

  private leave(contact: LoopsContact, listId: string): boolean {
    if (!contact.lists?.includes(listId)) return false;
    const kept = contact.lists.filter((id) => id !== listId);
    contact.lists = kept.length > 0 ? kept : undefined;
    this.subscriptionTotal -= 1;
    return true;
  }
}

function merge(
  current: Readonly<Record<string, PropertyValue>>,
  changes: Record<string, PropertyValue | null>,
): Record<string, PropertyValue> {
  if (Object.keys(changes).length === 0) return current;
  const merged: Record<string, PropertyValue> = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}
