import type { Sequenced } from '../../common/seq-list.js';

export type PropertyType = 'string' | 'number' | 'boolean' | 'date';
export type PropertyValue = string | number | boolean;

export interface MailingListRecord {
  readonly id: string;
  readonly name: string;
  readonly description: string | null;
  readonly isPublic: boolean;
}

export interface CustomPropertyRecord {
  readonly key: string;
  readonly label: string;
  readonly type: PropertyType;
}

export interface LoopsContact extends Sequenced {
  readonly id: string;
  email: string;
  /** Lowercased email: one contact per address whatever its case. */
  emailKey: string;
  firstName: string | null;
  lastName: string | null;
  source: string;
  subscribed: boolean;
  userGroup: string;
  userId: string | null;
  /** Ids of the mailing lists the contact is subscribed to (undefined keeps big stores small). */
  lists: string[] | undefined;
  /** Custom (and `notes`) property values by key. */
  properties: Record<string, PropertyValue>;
  suppressed: boolean;
  /** Lists the person left themselves (an admin action), until an API write puts them back. */
  optedOutLists: string[] | undefined;
  /** How often an API write subscribed the contact again after they (or anyone) unsubscribed. */
  resubscriptions: number;
  readonly createdAtMs: number;
}

/** The standard fields of a contact write; `undefined` means the field was omitted. */
export interface ContactChanges {
  email?: string;
  userId?: string;
  firstName?: string | null;
  lastName?: string | null;
  source?: string;
  userGroup?: string;
  subscribed?: boolean;
  /** List id → subscribe (true) or unsubscribe (false). */
  mailingLists?: Record<string, boolean>;
  /** A `null` value removes the property. */
  properties?: Record<string, PropertyValue | null>;
}
