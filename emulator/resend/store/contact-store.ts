import { randomUUID } from 'node:crypto';
import type { MicrosecondClock } from '../../common/clock.js';
import { SeqList } from '../../common/seq-list.js';
import type {
  ContactFields,
  ContactInput,
  ContactRecord,
  Membership,
  MembershipRecord,
  PropertyValue,
  SegmentRecord,
} from './records.js';
import { isUuid } from './uuid.js';

export interface UpsertResult {
  contact: ContactRecord;
  created: boolean;
}

const NO_PROPERTIES: Readonly<Record<string, PropertyValue>> = Object.freeze({});

/**
 * Contacts, segments and memberships of one team, indexed so every single-item operation and
 * every page is O(log n) or better at a million contacts.
 */
export class ContactStore {
  readonly contactsById = new Map<string, ContactRecord>();
  readonly contactsByEmail = new Map<string, ContactRecord>();
  readonly contacts = new SeqList<ContactRecord>();
  readonly segmentsById = new Map<string, SegmentRecord>();
  readonly segments = new SeqList<SegmentRecord>();
  private nextSeq = 1;
  private membershipTotal = 0;

  constructor(private readonly clock: MicrosecondClock) {}

  get membershipCount(): number {
    return this.membershipTotal;
  }

  createSegment(name: string): SegmentRecord {
    const segment: SegmentRecord = {
      id: randomUUID(),
      seq: this.nextSeq++,
      name,
      createdAt: this.clock.nowMicros(),
      members: new SeqList<ContactRecord>(),
    };
    this.segmentsById.set(segment.id, segment);
    this.segments.insert(segment);
    return segment;
  }

  /**
   * Removes the segment and its memberships; its contacts stay (contacts are global). Members
   * keep a stale entry for the deleted id, skipped on reads and dropped on their next change, so
   * deleting a big segment costs O(1).
   */
  deleteSegment(segment: SegmentRecord): void {
    this.membershipTotal -= segment.members.size;
    this.segmentsById.delete(segment.id);
    this.segments.remove(segment);
  }

  /** The contact's memberships of segments that still exist. */
  membershipsOfContact(contact: ContactRecord): Membership[] {
    return (contact.segments ?? []).filter((membership) =>
      this.segmentsById.has(membership.segmentId),
    );
  }

  /** Finds a contact by id or by email (case-insensitively). */
  findContact(identifier: string): ContactRecord | undefined {
    return isUuid(identifier)
      ? this.contactsById.get(identifier.toLowerCase())
      : this.contactsByEmail.get(identifier.toLowerCase());
  }

  /**
   * Creates the contact, or updates the one with the same email. With `resetOmitted`, an update
   * first puts every field the input omits back to its default, as a duplicate create does.
   */
  upsertContact(input: ContactInput, resetOmitted: boolean): UpsertResult {
    const emailKey = input.email.toLowerCase();
    const existing = this.contactsByEmail.get(emailKey);
    if (existing) {
      const fields = resetOmitted ? withDefaults(input) : input;
      if (resetOmitted) existing.properties = NO_PROPERTIES;
      this.updateContact(existing, fields);
      return { contact: existing, created: false };
    }
    const now = this.clock.nowMicros();
    const contact: ContactRecord = {
      id: randomUUID(),
      seq: this.nextSeq++,
      email: input.email,
      emailKey,
      firstName: input.firstName ?? null,
      lastName: input.lastName ?? null,
      unsubscribed: input.unsubscribed ?? false,
      properties: mergeProperties(NO_PROPERTIES, input.properties),
      createdAt: input.createdAt ?? now,
      updatedAt: now,
      segments: undefined,
    };
    this.contactsById.set(contact.id, contact);
    this.contactsByEmail.set(contact.emailKey, contact);
    this.contacts.insert(contact);
    return { contact, created: true };
  }

  updateContact(contact: ContactRecord, fields: ContactFields): void {
    if (fields.firstName !== undefined) contact.firstName = fields.firstName;
    if (fields.lastName !== undefined) contact.lastName = fields.lastName;
    if (fields.unsubscribed !== undefined) contact.unsubscribed = fields.unsubscribed;
    if (fields.properties !== undefined) {
      contact.properties = mergeProperties(contact.properties, fields.properties);
    }
    contact.updatedAt = this.clock.nowMicros();
  }

  deleteContact(contact: ContactRecord): void {
    for (const { segmentId } of this.membershipsOfContact(contact)) {
      this.segmentsById.get(segmentId)?.members.remove(contact);
      this.membershipTotal -= 1;
    }
    contact.segments = undefined;
    this.contactsById.delete(contact.id);
    this.contactsByEmail.delete(contact.emailKey);
    this.contacts.remove(contact);
  }

  /** Adds the membership; re-adding keeps the original `added_at`. Answers whether it was new. */
  addMembership(contact: ContactRecord, segment: SegmentRecord): boolean {
    if (this.isMember(contact, segment)) return false;
    const membership = { segmentId: segment.id, addedAt: this.clock.nowMicros() };
    contact.segments = [...this.membershipsOfContact(contact), membership];
    segment.members.insert(contact);
    this.membershipTotal += 1;
    return true;
  }

  removeMembership(contact: ContactRecord, segment: SegmentRecord): boolean {
    if (!this.isMember(contact, segment)) return false;
    const kept = this.membershipsOfContact(contact).filter(
      (entry) => entry.segmentId !== segment.id,
    );
    contact.segments = kept.length > 0 ? kept : undefined;
    segment.members.remove(contact);
    this.membershipTotal -= 1;
    return true;
  }

  isMember(contact: ContactRecord, segment: SegmentRecord): boolean {
    return contact.segments?.some((membership) => membership.segmentId === segment.id) ?? false;
  }

  /** The contact's segments, oldest segment first. */
  segmentsOf(contact: ContactRecord): SegmentRecord[] {
    const found: SegmentRecord[] = [];
    for (const { segmentId } of this.membershipsOfContact(contact)) {
      const segment = this.segmentsById.get(segmentId);
      if (segment) found.push(segment);
    }
    return found.sort((a, b) => a.seq - b.seq);
  }

  membershipsOf(segment: SegmentRecord): MembershipRecord[] {
    return segment.members.slice(0, segment.members.size).map((contact) => ({
      contactId: contact.id,
      segmentId: segment.id,
      addedAt:
        contact.segments?.find((membership) => membership.segmentId === segment.id)?.addedAt ??
        segment.createdAt,
    }));
  }

  clear(): void {
    this.contactsById.clear();
    this.contactsByEmail.clear();
    this.contacts.clear();
    this.segmentsById.clear();
    this.segments.clear();
    this.membershipTotal = 0;
  }
}

function withDefaults(input: ContactInput): ContactFields {
  return {
    firstName: input.firstName ?? null,
    lastName: input.lastName ?? null,
    unsubscribed: input.unsubscribed ?? false,
    properties: input.properties ?? {},
  };
}

function mergeProperties(
  current: Readonly<Record<string, PropertyValue>>,
  changes: Record<string, PropertyValue | null> | undefined,
): Record<string, PropertyValue> {
  if (!changes || Object.keys(changes).length === 0) return current;
  const merged: Record<string, PropertyValue> = { ...current };
  for (const [key, value] of Object.entries(changes)) {
    if (value === null) delete merged[key];
    else merged[key] = value;
  }
  return merged;
}
