import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import {
  pathShape,
  RECORDED_CONTENT_TYPE,
  RECORDED_EXPECTATIONS,
  RECORDED_HEADERS,
  type RecordedExpectation,
} from './resend-expectations.js';
import { callAdmin, callApi, field, stringField } from './support/http.js';
import { modernize } from './support/recording-eras.js';
import {
  announceSkipWithoutReference,
  loadRecordings,
  referenceAvailable,
  referenceMissingNote,
} from './support/reference.js';

const UNKNOWN = '00000000-0000-0000-0000-000000000000';

/** A segment, a deleted one, a topic, a property, a contact in the segment and one outside it. */
async function createFixtures(emulator: StartedResendEmulator): Promise<Record<string, string>> {
  const segment = await callApi(emulator, 'POST', '/segments', {
    body: { name: 'Fixture segment' },
  });
  const topic = await callApi(emulator, 'POST', '/topics', {
    body: { name: 'Fixture topic', default_subscription: 'opt_out' },
  });
  const property = await callApi(emulator, 'POST', '/contact-properties', {
    body: { key: 'test_property', type: 'string' },
  });
  const segmentId = stringField(segment.body, 'id');
  const contact = await callApi(emulator, 'POST', '/contacts', {
    body: { email: 'fixture@example.com', segments: [{ id: segmentId }] },
  });
  const deleted = await callApi(emulator, 'POST', '/segments', { body: { name: 'Deleted' } });
  await callApi(emulator, 'DELETE', `/segments/${stringField(deleted.body, 'id')}`);
  const outsider = await callApi(emulator, 'POST', '/contacts', {
    body: { email: 'outsider@example.com' },
  });
  return {
    '{segment}': segmentId,
    '{deleted_segment}': stringField(deleted.body, 'id'),
    '{outsider_id}': stringField(outsider.body, 'id'),
    '{outsider_email}': 'outsider@example.com',
    '{topic}': stringField(topic.body, 'id'),
    '{property}': stringField(property.body, 'id'),
    '{contact_id}': stringField(contact.body, 'id'),
    '{contact_email}': 'fixture@example.com',
    '{unknown}': UNKNOWN,
  };
}

function fill(text: string, values: Record<string, string>): string {
  return text.replace(/\{[a-z_]+\}/g, (placeholder) => values[placeholder] ?? placeholder);
}

describe('the emulator answers as the recorded expectations say', () => {
  let emulator: StartedResendEmulator;
  let values: Record<string, string>;

  beforeAll(async () => {
    emulator = await startResendEmulator({ rateLimit: 1000 });
  });
  afterAll(() => emulator.close());
  beforeEach(async () => {
    await callAdmin(emulator, 'POST', '/reset');
    values = await createFixtures(emulator);
  });

  it.each(RECORDED_EXPECTATIONS.map((row) => [row.operation, row] as const))(
    '%s',
    async (_operation, row: RecordedExpectation) => {
      const body =
        row.body === undefined ? undefined : JSON.parse(fill(JSON.stringify(row.body), values));
      const answer = await callApi(emulator, row.method, fill(row.path, values), { body });

      expect(answer.status).toBe(row.status);
      expect(Object.keys(answer.body as object)).toEqual(row.bodyKeys);
      if (row.error) {
        expect(answer.body).toEqual({ statusCode: row.status, ...row.error });
      }
      for (const [key, value] of Object.entries(row.values ?? {})) {
        expect(field(answer.body, key)).toEqual(value);
      }
      if (row.itemKeys) {
        const items = field(answer.body, 'data');
        expect(Array.isArray(items) && items.length > 0).toBe(true);
        for (const item of items as object[]) expect(Object.keys(item)).toEqual(row.itemKeys);
      }
      expect(answer.headers.get('content-type')).toBe(RECORDED_CONTENT_TYPE);
      for (const name of RECORDED_HEADERS) expect(answer.headers.has(name)).toBe(true);
    },
  );
});

announceSkipWithoutReference('Check of the expectation table against the recordings');

describe.skipIf(!referenceAvailable)(
  `the expectation table agrees with the recordings${referenceAvailable ? '' : ` — ${referenceMissingNote}`}`,
  () => {
    /** The newest recording of each method + path shape + status, brought up to date. */
    function newestRecorded() {
      const newest = new Map<string, { at: string; status: number; body: unknown }>();
      for (const { entries } of loadRecordings()) {
        for (const entry of entries) {
          const url = new URL(entry.request.url);
          const key = `${entry.request.method} ${pathShape(url.pathname)} ${entry.response.status}`;
          const previous = newest.get(key);
          if (previous && previous.at >= entry.startedDateTime) continue;
          const text = entry.response.content.text;
          const raw: unknown = text ? JSON.parse(text) : undefined;
          const { body } = modernize(
            entry.startedDateTime,
            entry.request.method,
            url.pathname,
            raw,
          );
          newest.set(key, { at: entry.startedDateTime, status: entry.response.status, body });
        }
      }
      return newest;
    }

    it('has a row for every recorded exchange, with the same keys and errors', () => {
      const table = new Map(
        RECORDED_EXPECTATIONS.map((row) => [
          `${row.method} ${pathShape(row.path)} ${row.status}`,
          row,
        ]),
      );
      const recorded = newestRecorded();
      const problems: string[] = [];
      for (const [key, exchange] of recorded) {
        const row = table.get(key);
        if (!row) {
          problems.push(`no expectation for ${key}`);
          continue;
        }
        const keys = Object.keys(exchange.body as object);
        if (keys.join() !== row.bodyKeys.join())
          problems.push(`${key}: recorded keys ${keys.join()}`);
        const items = field(exchange.body, 'data');
        const itemKeys = Array.isArray(items) ? Object.keys(items[0] as object) : undefined;
        if (itemKeys?.join() !== row.itemKeys?.join())
          problems.push(`${key}: recorded item keys ${itemKeys?.join()}`);
        const recordedError =
          field(exchange.body, 'statusCode') === undefined
            ? undefined
            : { name: field(exchange.body, 'name'), message: field(exchange.body, 'message') };
        if (JSON.stringify(recordedError) !== JSON.stringify(row.error)) {
          problems.push(`${key}: recorded error ${JSON.stringify(recordedError)}`);
        }
      }
      for (const key of table.keys())
        if (!recorded.has(key)) problems.push(`${key} was never recorded`);
      expect(problems).toEqual([]);
    });
  },
);
