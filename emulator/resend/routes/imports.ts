import { z } from 'zod';
import {
  ApiError,
  invalidUuid,
  MESSAGES,
  missingRequiredField,
  notFound,
  validationError,
} from '../errors.js';
import type { OnConflict, RowOutcome } from '../imports/import-jobs.js';
import { type MultipartForm, parseMultipart } from '../imports/multipart.js';
import type { ImportColumnMap } from '../imports/row-mapping.js';
import type { ContactInput, SegmentRecord } from '../store/records.js';
import { isUuid } from '../store/uuid.js';
import { findSegmentOr404 } from './lookup.js';
import { listBody, pageOf, readPagination } from './pagination.js';
import { parseWith } from './request-body.js';
import { importBody } from './serialize.js';
import { created, defineRoute, ok, type RouteContext, type RouteRequest } from './types.js';

const columnMapSchema = z.strictObject({
  email: z.string().min(1).optional(),
  first_name: z.string().min(1).optional(),
  last_name: z.string().min(1).optional(),
  unsubscribed: z.string().min(1).optional(),
  properties: z
    .record(
      z.string(),
      z.object({
        column: z.string().min(1),
        type: z.enum(['string', 'number', 'boolean']).optional(),
      }),
    )
    .optional(),
}) satisfies z.ZodType<ImportColumnMap>;

const segmentsSchema = z.array(z.object({ id: z.string() }));
const topicsSchema = z.array(
  z.object({ id: z.string(), subscription: z.enum(['opt_in', 'opt_out']) }),
);
const onConflictSchema = z.enum(['upsert', 'skip']);
const STATUSES = new Set(['queued', 'in_progress', 'completed', 'failed']);

/** A form field holding JSON; `undefined` when the field is absent. */
function jsonField<T>(form: MultipartForm, name: string, schema: z.ZodType<T>): T | undefined {
  const raw = form.fields.get(name);
  if (raw === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    throw validationError(`The \`${name}\` field must be JSON.`);
  }
  return parseWith(schema, value);
}

async function readForm(request: RouteRequest, context: RouteContext): Promise<MultipartForm> {
  if (!String(request.headers['content-type'] ?? '').startsWith('multipart/form-data')) {
    throw validationError('The request body must be multipart/form-data.');
  }
  try {
    return await parseMultipart(request.headers, request.rawBody, context.settings.importMaxBytes);
  } catch {
    throw validationError('The multipart/form-data body could not be read.');
  }
}

function checkPropertyKeys(context: RouteContext, columnMap: ImportColumnMap | undefined): void {
  if (!context.settings.requireDefinedProperties) return;
  for (const key of Object.keys(columnMap?.properties ?? {})) {
    if (!context.definitions.propertiesByKey.has(key)) {
      throw validationError(
        `The property \`${key}\` does not exist. Create it with POST /contact-properties first.`,
      );
    }
  }
}

/**
 * One imported row. An existing contact is left alone with `skip`; with `upsert` it is updated
 * like a duplicate create (omitted columns reset while that switch is on). Created and updated
 * contacts join the import's segments.
 */
function rowWriter(context: RouteContext, segments: readonly SegmentRecord[]) {
  const failing = new Set(context.settings.importFailEmails);
  const skipping = new Set(context.settings.importSkipEmails);
  return (input: ContactInput, onConflict: OnConflict): RowOutcome => {
    // Rows the admin API singled out, for tests of what a client does with such rows.
    const email = input.email.toLowerCase();
    if (failing.has(email)) return 'failed';
    if (skipping.has(email)) return 'skipped';
    const existing = context.store.findContact(input.email);
    if (existing && onConflict === 'skip') return 'skipped';
    const { contact, created: isNew } = context.store.upsertContact(
      input,
      context.settings.resetOmittedFieldsOnDuplicateCreate,
    );
    for (const segment of segments) {
      // A segment deleted while the import waited is skipped, not resurrected.
      if (context.store.segmentsById.has(segment.id)) context.store.addMembership(contact, segment);
    }
    return isNew ? 'created' : 'updated';
  };
}

/** An account without the imports beta: 404 as for an unknown endpoint, or 403. */
function refuseWhenSwitchedOff(context: RouteContext): void {
  const refusal = context.settings.importRefusal;
  if (refusal === 404) throw notFound(MESSAGES.endpointNotFound);
  if (refusal === 403) {
    throw new ApiError(403, 'invalid_access', 'Contact Imports are not enabled for this account.');
  }
}

export const importRoutes = [
  defineRoute('POST', '/contacts/imports', async (request, context) => {
    refuseWhenSwitchedOff(context);
    const form = await readForm(request, context);
    if (!form.file) throw missingRequiredField('file');
    if (form.file.truncated) {
      throw validationError(
        `The file exceeds the maximum size of ${context.settings.importMaxBytes} bytes.`,
      );
    }
    const columnMap = jsonField(form, 'column_map', columnMapSchema);
    checkPropertyKeys(context, columnMap);
    const onConflict = parseWith(onConflictSchema, form.fields.get('on_conflict') ?? 'skip');
    const segments = (jsonField(form, 'segments', segmentsSchema) ?? []).map((segment) =>
      findSegmentOr404(context, segment.id),
    );
    for (const topic of jsonField(form, 'topics', topicsSchema) ?? []) {
      if (!context.definitions.topicsById.has(topic.id.toLowerCase())) {
        throw notFound(MESSAGES.topicNotFound);
      }
    }
    const job = context.imports.start(
      { csv: form.file.data.toString('utf8'), columnMap, onConflict },
      rowWriter(context, segments),
    );
    return created({ object: 'contact_import', id: job.id });
  }),
  defineRoute('GET', '/contacts/imports', (request, context) => {
    refuseWhenSwitchedOff(context);
    const status = request.query.get('status');
    if (status !== null && !STATUSES.has(status)) {
      throw validationError('The `status` must be one of queued, in_progress, completed, failed.');
    }
    const pagination = readPagination(request.query, 10);
    const find = (id: string) => context.imports.byId.get(id.toLowerCase());
    if (status === null)
      return ok(listBody(pageOf(context.imports.jobs, pagination, find), importBody));
    // Filtering by status scans the imports, which are few.
    const all = pageOf(context.imports.jobs, { ...pagination, limit: undefined }, find);
    const matching = all.items.filter((job) => job.status === status);
    const limit = pagination.limit ?? matching.length;
    return ok(
      listBody({ items: matching.slice(0, limit), hasMore: matching.length > limit }, importBody),
    );
  }),
  defineRoute(
    'GET',
    '/contacts/imports/:id',
    (request, context) => {
      refuseWhenSwitchedOff(context);
      const id = request.params.id ?? '';
      if (!isUuid(id)) throw invalidUuid('id');
      const job = context.imports.byId.get(id.toLowerCase());
      if (!job) throw notFound(MESSAGES.importNotFound);
      return ok(importBody(job));
    },
    (request) => request.params.id,
  ),
];
