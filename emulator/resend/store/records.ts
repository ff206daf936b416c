import type { Micros } from '../../common/clock.js';
import type { SeqList, Sequenced } from '../../common/seq-list.js';

export type PropertyValue = string | number | boolean;

export interface ContactRecord extends Sequenced {
  readonly id: string;
  /** The address as first created; lookups use {@link emailKey}. */
  readonly email: string;
  /** Lowercased email: one contact per address whatever its case. */
  readonly emailKey: string;
  firstName: string | null;
  lastName: string | null;
  unsubscribed: boolean;
  properties: Record<string, PropertyValue>;
  readonly createdAt: Micros;
  updatedAt: Micros;
  /** The contact's segments; a short array (created on first use) keeps big stores small. */
  segments: Membership[] | undefined;
}

export interface Membership {
  readonly segmentId: string;
  readonly addedAt: Micros;
}

export interface SegmentRecord extends Sequenced {
  readonly id: string;
  name: string;
  readonly createdAt: Micros;
  /** Members in contact creation order, so member lists page newest first like contact lists. */
  readonly members: SeqList<ContactRecord>;
}

/** The fields of a contact write. `undefined` means the field was omitted. */
export interface ContactFields {
  firstName?: string | null;
  lastName?: string | null;
  unsubscribed?: boolean;
  /** A `null` value removes the property. */
  properties?: Record<string, PropertyValue | null>;
}

export interface ContactInput extends ContactFields {
  email: string;
  /** Only the admin seed may choose the creation time. */
  createdAt?: Micros;
}

export interface MembershipRecord {
  contactId: string;
  segmentId: string;
  addedAt: Micros;
}
