import { randomUUID } from 'node:crypto';
import type { Micros, MicrosecondClock } from '../../common/clock.js';
import { SeqList, type Sequenced } from '../../common/seq-list.js';

export type ContactPropertyType = 'string' | 'number';

export interface ContactPropertyRecord extends Sequenced {
  readonly id: string;
  readonly key: string;
  readonly type: ContactPropertyType;
  fallbackValue: string | number | null;
  readonly createdAt: Micros;
}

export interface TopicRecord extends Sequenced {
  readonly id: string;
  readonly name: string;
  readonly defaultSubscription: 'opt_in' | 'opt_out';
  readonly description: string | null;
  readonly visibility: 'public' | 'private';
  readonly createdAt: Micros;
}

/**
 * The minimal topics and contact-property definitions that contact writes refer to. Contacts
 * store property values by key; a property whose definition is gone is no longer shown.
 */
export class DefinitionStore {
  readonly propertiesById = new Map<string, ContactPropertyRecord>();
  readonly propertiesByKey = new Map<string, ContactPropertyRecord>();
  readonly properties = new SeqList<ContactPropertyRecord>();
  readonly topicsById = new Map<string, TopicRecord>();
  readonly topics = new SeqList<TopicRecord>();
  private nextSeq = 1;

  constructor(private readonly clock: MicrosecondClock) {}

  createProperty(
    key: string,
    type: ContactPropertyType,
    fallbackValue: string | number | null,
  ): ContactPropertyRecord {
    const property: ContactPropertyRecord = {
      id: randomUUID(),
      seq: this.nextSeq++,
      key,
      type,
      fallbackValue,
      createdAt: this.clock.nowMicros(),
    };
    this.propertiesById.set(property.id, property);
    this.propertiesByKey.set(key, property);
    this.properties.insert(property);
    return property;
  }

  deleteProperty(property: ContactPropertyRecord): void {
    this.propertiesById.delete(property.id);
    this.propertiesByKey.delete(property.key);
    this.properties.remove(property);
  }

  createTopic(fields: Omit<TopicRecord, 'id' | 'seq' | 'createdAt'>): TopicRecord {
    const topic: TopicRecord = {
      ...fields,
      id: randomUUID(),
      seq: this.nextSeq++,
      createdAt: this.clock.nowMicros(),
    };
    this.topicsById.set(topic.id, topic);
    this.topics.insert(topic);
    return topic;
  }

  deleteTopic(topic: TopicRecord): void {
    this.topicsById.delete(topic.id);
    this.topics.remove(topic);
  }

  clear(): void {
    this.propertiesById.clear();
    this.propertiesByKey.clear();
    this.properties.clear();
    this.topicsById.clear();
    this.topics.clear();
  }
}
