/**
 * What Resend answers, condensed from the recorded exchanges (the newest recording of each
 * method, path shape and status). Tests check the emulator against this table even where the
 * recordings themselves are not at hand, and check the table against the recordings where they are.
 *
 * Path placeholders: {segment} an existing segment, {deleted_segment} a deleted one, {contact_id} / {contact_email} a contact in
 * that segment, {outsider_id} / {outsider_email} a contact in no segment, {unknown} the all-zero
 * UUID, {topic} and {property} existing definitions.
 */
export interface RecordedExpectation {
  operation: string;
  method: 'GET' | 'POST' | 'PATCH' | 'DELETE';
  path: string;
  body?: unknown;
  status: number;
  /** For errors: `name` and `message` of the `{ statusCode, message, name }` body. */
  error?: { name: string; message: string };
  /** Top-level keys, in the order the API sends them. */
  bodyKeys: readonly string[];
  /** Keys of each `data` item of a list. */
  itemKeys?: readonly string[];
  /** Values the body must hold exactly. */
  values?: Readonly<Record<string, unknown>>;
}

const ERROR_KEYS = ['statusCode', 'message', 'name'] as const;
// biome-ignore format: keys in the order the API sends them
const CONTACT_KEYS = ['object', 'id', 'email', 'first_name', 'last_name', 'created_at', 'unsubscribed', 'properties'] as const;
const LIST_KEYS = ['object', 'has_more', 'data'] as const;

/** Headers present on every recorded answer, 2xx and 4xx alike. */
export const RECORDED_HEADERS = [
  'ratelimit-limit',
  'ratelimit-remaining',
  'ratelimit-reset',
  'ratelimit-policy',
] as const;
export const RECORDED_CONTENT_TYPE = 'application/json; charset=utf-8';

// biome-ignore format: one row per exchange reads as a table
export const RECORDED_EXPECTATIONS: readonly RecordedExpectation[] = [
  { operation: 'create segment', method: 'POST', path: '/segments', body: { name: 'Test Segment' }, status: 201, bodyKeys: ['object', 'id', 'name'], values: { object: 'segment', name: 'Test Segment' } },
  { operation: 'create segment without name', method: 'POST', path: '/segments', body: {}, status: 422, error: { name: 'missing_required_field', message: 'Missing `name` field.' }, bodyKeys: ERROR_KEYS },
  { operation: 'get segment', method: 'GET', path: '/segments/{segment}', status: 200, bodyKeys: ['object', 'id', 'name', 'created_at'], values: { object: 'segment' } },
  { operation: 'get unknown segment', method: 'GET', path: '/segments/{unknown}', status: 404, error: { name: 'not_found', message: 'Audience not found' }, bodyKeys: ERROR_KEYS },
  { operation: 'get deleted segment', method: 'GET', path: '/segments/{deleted_segment}', status: 404, error: { name: 'not_found', message: 'Audience not found' }, bodyKeys: ERROR_KEYS },
  { operation: 'delete segment', method: 'DELETE', path: '/segments/{segment}', status: 200, bodyKeys: ['object', 'id', 'deleted'], values: { object: 'segment', deleted: true } },
  { operation: 'delete unknown segment', method: 'DELETE', path: '/segments/{unknown}', status: 200, bodyKeys: ['object', 'id', 'deleted'], values: { object: 'segment', deleted: true } },
  { operation: 'list segment contacts', method: 'GET', path: '/segments/{segment}/contacts?limit=5', status: 200, bodyKeys: LIST_KEYS, itemKeys: ['id', 'email', 'first_name', 'last_name', 'created_at', 'unsubscribed'], values: { object: 'list' } },
  {
    operation: 'create contact',
    method: 'POST',
    path: '/contacts',
    body: { email: 'test@example.com', first_name: 'Test', last_name: 'User', properties: { test_property: 'value' }, segments: [{ id: '{segment}' }], topics: [{ id: '{topic}', subscription: 'opt_in' }] },
    status: 201,
    bodyKeys: ['object', 'id'],
    values: { object: 'contact' },
  },
  { operation: 'create contact without email', method: 'POST', path: '/contacts', body: {}, status: 422, error: { name: 'missing_required_field', message: 'Missing `email` field.' }, bodyKeys: ERROR_KEYS },
  { operation: 'get contact by id', method: 'GET', path: '/contacts/{contact_id}', status: 200, bodyKeys: CONTACT_KEYS, values: { object: 'contact' } },
  { operation: 'get contact by email', method: 'GET', path: '/contacts/{contact_email}', status: 200, bodyKeys: CONTACT_KEYS, values: { object: 'contact' } },
  { operation: 'get unknown contact', method: 'GET', path: '/contacts/{unknown}', status: 404, error: { name: 'not_found', message: 'Contact not found' }, bodyKeys: ERROR_KEYS },
  { operation: 'list contacts', method: 'GET', path: '/contacts?limit=5', status: 200, bodyKeys: LIST_KEYS, itemKeys: ['id', 'created_at', 'email', 'unsubscribed', 'first_name', 'last_name'], values: { object: 'list' } },
  { operation: 'delete contact by email', method: 'DELETE', path: '/contacts/{contact_email}', status: 200, bodyKeys: ['object', 'contact', 'deleted'], values: { object: 'contact', deleted: true } },
  { operation: 'legacy create contact', method: 'POST', path: '/audiences/{segment}/contacts', body: { email: 'legacy@example.com' }, status: 201, bodyKeys: ['object', 'id'], values: { object: 'contact' } },
  { operation: 'legacy get contact by id', method: 'GET', path: '/audiences/{segment}/contacts/{contact_id}', status: 200, bodyKeys: CONTACT_KEYS, values: { object: 'contact' } },
  { operation: 'legacy get contact by email', method: 'GET', path: '/audiences/{segment}/contacts/{contact_email}', status: 200, bodyKeys: CONTACT_KEYS },
  { operation: 'legacy get unknown contact', method: 'GET', path: '/audiences/{segment}/contacts/{unknown}', status: 404, error: { name: 'not_found', message: 'Contact not found' }, bodyKeys: ERROR_KEYS },
  { operation: 'legacy get contact outside the segment by id', method: 'GET', path: '/audiences/{segment}/contacts/{outsider_id}', status: 404, error: { name: 'not_found', message: 'Contact not found' }, bodyKeys: ERROR_KEYS },
  { operation: 'legacy get contact outside the segment by email', method: 'GET', path: '/audiences/{segment}/contacts/{outsider_email}', status: 404, error: { name: 'not_found', message: 'Contact not found' }, bodyKeys: ERROR_KEYS },
  { operation: 'legacy update contact', method: 'PATCH', path: '/audiences/{segment}/contacts/{contact_id}', body: { first_name: 'Updated', last_name: 'Name' }, status: 200, bodyKeys: ['object', 'id'], values: { object: 'contact' } },
  { operation: 'legacy delete contact by id', method: 'DELETE', path: '/audiences/{segment}/contacts/{contact_id}', status: 200, bodyKeys: ['object', 'contact', 'deleted'], values: { object: 'contact', deleted: true } },
  { operation: 'legacy delete contact by email', method: 'DELETE', path: '/audiences/{segment}/contacts/{contact_email}', status: 200, bodyKeys: ['object', 'contact', 'deleted'], values: { object: 'contact', deleted: true } },
  { operation: 'legacy delete unknown contact', method: 'DELETE', path: '/audiences/{segment}/contacts/{unknown}', status: 200, bodyKeys: ['object', 'contact', 'deleted'], values: { object: 'contact', contact: '00000000-0000-0000-0000-000000000000', deleted: true } },
  { operation: 'create topic', method: 'POST', path: '/topics', body: { name: 'Test topic', default_subscription: 'opt_out' }, status: 201, bodyKeys: ['object', 'id'], values: { object: 'topic' } },
  { operation: 'delete topic', method: 'DELETE', path: '/topics/{topic}', status: 200, bodyKeys: ['object', 'id', 'deleted'], values: { object: 'topic', deleted: true } },
  { operation: 'create contact property', method: 'POST', path: '/contact-properties', body: { key: 'another_property', type: 'string', fallback_value: 'unknown' }, status: 201, bodyKeys: ['object', 'id'], values: { object: 'contact_property' } },
  { operation: 'delete contact property', method: 'DELETE', path: '/contact-properties/{property}', status: 200, bodyKeys: ['object', 'deleted', 'id'], values: { object: 'contact_property', deleted: true } },
];

const PLACEHOLDER_SHAPES: Readonly<Record<string, string>> = {
  '{segment}': '{id}',
  '{deleted_segment}': '{id}',
  '{contact_id}': '{id}',
  '{contact_email}': '{email}',
  '{outsider_id}': '{id}',
  '{outsider_email}': '{email}',
  '{unknown}': '{unknown}',
  '{topic}': '{id}',
  '{property}': '{id}',
};

const UNKNOWN_UUID = '00000000-0000-0000-0000-000000000000';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** A path with its variable segments generalised, e.g. `/audiences/{id}/contacts/{email}`. */
export function pathShape(path: string): string {
  const withoutQuery = path.split('?')[0] ?? path;
  return withoutQuery
    .split('/')
    .map((segment) => {
      if (segment in PLACEHOLDER_SHAPES) return PLACEHOLDER_SHAPES[segment];
      if (segment === UNKNOWN_UUID) return '{unknown}';
      if (UUID.test(segment)) return '{id}';
      return segment.includes('@') ? '{email}' : segment;
    })
    .join('/');
}
