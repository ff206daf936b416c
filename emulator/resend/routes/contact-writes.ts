import { z } from 'zod';
import { MESSAGES, notFound, validationError } from '../errors.js';
import type { ContactFields, ContactRecord, SegmentRecord } from '../store/records.js';
import { contactEventData } from '../webhooks.js';
import { findSegmentOr404 } from './lookup.js';
import { parseWith, requireFields } from './request-body.js';
import type { RouteContext } from './types.js';

const propertyValues = z.record(
  z.string(),
  z.union([z.string(), z.number(), z.boolean(), z.null()]),
);

/** The fields `PATCH /contacts/{id_or_email}` may change. */
export const contactUpdateSchema = z.object({
  email: z.string().optional(),
  first_name: z.string().nullable().optional(),
  last_name: z.string().nullable().optional(),
  unsubscribed: z.boolean().optional(),
  properties: propertyValues.optional(),
});

/** `POST /contacts`; `segments` items are `{ id }` objects (strings are refused, as by the API). */
export const contactCreateSchema = contactUpdateSchema.extend({
  email: z.email(),
  segments: z.array(z.object({ id: z.string() })).optional(),
  topics: z
    .array(z.object({ id: z.string(), subscription: z.enum(['opt_in', 'opt_out']) }))
    .optional(),
  /** @deprecated still accepted by the API: the contact is added to this segment too. */
  audience_id: z.string().optional(),
});

export type ContactCreateBody = z.infer<typeof contactCreateSchema>;
export type ContactUpdateBody = z.infer<typeof contactUpdateSchema>;

export function parseContactCreate(body: Record<string, unknown>): ContactCreateBody {
  requireFields(body, ['email']);
  return parseWith(contactCreateSchema, body);
}

/** Body fields → store fields, checking properties against their definitions. */
export function toContactFields(context: RouteContext, body: ContactUpdateBody): ContactFields {
  const fields: ContactFields = {};
  if (body.first_name !== undefined) fields.firstName = body.first_name;
  if (body.last_name !== undefined) fields.lastName = body.last_name;
  if (body.unsubscribed !== undefined) fields.unsubscribed = body.unsubscribed;
  if (body.properties !== undefined) {
    checkProperties(context, body.properties);
    fields.properties = body.properties;
  }
  return fields;
}

function checkProperties(context: RouteContext, properties: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(properties)) {
    const definition = context.definitions.propertiesByKey.get(key);
    if (!definition) {
      if (!context.settings.requireDefinedProperties) continue;
      throw validationError(
        `The property \`${key}\` does not exist. Create it with POST /contact-properties first.`,
      );
    }
    if (value !== null && typeof value !== definition.type) {
      throw validationError(`The property \`${key}\` must be a ${definition.type}.`);
    }
  }
}

/** Every segment the body names; nothing is written when one is unknown. */
export function segmentsNamedBy(context: RouteContext, body: ContactCreateBody): SegmentRecord[] {
  const ids = (body.segments ?? []).map((segment) => segment.id);
  if (body.audience_id !== undefined) ids.push(body.audience_id);
  return ids.map((id) => findSegmentOr404(context, id));
}

export function checkTopics(context: RouteContext, body: ContactCreateBody): void {
  for (const topic of body.topics ?? []) {
    if (!context.definitions.topicsById.has(topic.id.toLowerCase())) {
      throw notFound(MESSAGES.topicNotFound);
    }
  }
}

/**
 * Creates the contact or, when the email exists, answers the same contact after updating it:
 * fields sent are set, fields omitted are reset to defaults while the switch is on, and the
 * listed segments are added.
 */
export function upsertFromCreate(
  context: RouteContext,
  body: ContactCreateBody,
  segments: readonly SegmentRecord[],
): ContactRecord {
  const fields = toContactFields(context, body);
  const { contact, created } = context.store.upsertContact(
    { email: body.email, ...fields },
    context.settings.resetOmittedFieldsOnDuplicateCreate,
  );
  for (const segment of segments) context.store.addMembership(contact, segment);
  context.webhooks.emit(created ? 'contact.created' : 'contact.updated', () =>
    contactEventData(context.store, contact),
  );
  return contact;
}
