import { formatPostgresTimestamp as timestamp } from '../clock.js';
import type { ImportJob } from '../imports/import-jobs.js';
import type { DefinitionStore } from '../store/definition-store.js';
import type { ContactRecord, PropertyValue, SegmentRecord } from '../store/records.js';

/** `GET /contacts/{id_or_email}`; properties as `{ key: { value, type } }`. */
export function contactDetail(contact: ContactRecord, definitions: DefinitionStore) {
  return {
    object: 'contact',
    id: contact.id,
    email: contact.email,
    first_name: contact.firstName,
    last_name: contact.lastName,
    created_at: timestamp(contact.createdAt),
    unsubscribed: contact.unsubscribed,
    properties: propertiesBody(contact.properties, definitions),
  };
}

function propertiesBody(properties: Record<string, PropertyValue>, definitions: DefinitionStore) {
  const body: Record<string, { value: PropertyValue; type: string }> = {};
  for (const [key, value] of Object.entries(properties)) {
    const type = definitions.propertiesByKey.get(key)?.type ?? typeof value;
    body[key] = { value, type };
  }
  return body;
}

/** An item of `GET /contacts`, keys in the order the API sends them. */
export function contactListItem(contact: ContactRecord) {
  return {
    id: contact.id,
    created_at: timestamp(contact.createdAt),
    email: contact.email,
    unsubscribed: contact.unsubscribed,
    first_name: contact.firstName,
    last_name: contact.lastName,
  };
}

/** An item of `GET /segments/{id}/contacts` (same fields as above, another key order). */
export function segmentContactItem(contact: ContactRecord) {
  return {
    id: contact.id,
    email: contact.email,
    first_name: contact.firstName,
    last_name: contact.lastName,
    created_at: timestamp(contact.createdAt),
    unsubscribed: contact.unsubscribed,
  };
}

export function segmentListItem(segment: SegmentRecord) {
  return { id: segment.id, name: segment.name, created_at: timestamp(segment.createdAt) };
}

export function importBody(job: ImportJob) {
  return {
    object: 'contact_import',
    id: job.id,
    status: job.status,
    created_at: timestamp(job.createdAt),
    completed_at: job.completedAt === null ? null : timestamp(job.completedAt),
    counts: { ...job.counts },
  };
}
