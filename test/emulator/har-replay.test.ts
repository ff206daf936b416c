import { afterEach, describe, expect, it } from 'vitest';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { RECORDED_CONTENT_TYPE, RECORDED_HEADERS } from './resend-expectations.js';
import { TEST_KEY } from './support/http.js';
import { modernize } from './support/recording-eras.js';
import {
  announceSkipWithoutReference,
  type HarEntry,
  loadRecordings,
  referenceAvailable,
  referenceMissingNote,
} from './support/reference.js';
import { learnIds, shapeDifferences, substituteIds } from './support/shape.js';

function header(
  entry: HarEntry['request'] | HarEntry['response'],
  name: string,
): string | undefined {
  return entry.headers.find((candidate) => candidate.name.toLowerCase() === name)?.value;
}

function parseBody(text: string | undefined): unknown {
  return text ? JSON.parse(text) : undefined;
}

function topLevel(body: unknown, key: string): unknown {
  return body && typeof body === 'object' ? (body as Record<string, unknown>)[key] : undefined;
}

/** Replays one recorded exchange; answers what differs from the (modernized) recording. */
async function replay(emulator: StartedResendEmulator, entry: HarEntry, ids: Map<string, string>) {
  const recordedUrl = new URL(entry.request.url);
  const path = substituteIds(recordedUrl.pathname + recordedUrl.search, ids);
  const requestBody = entry.request.postData?.text;
  const response = await fetch(`${emulator.url}${path}`, {
    method: entry.request.method,
    headers: {
      authorization: `Bearer ${TEST_KEY}`,
      'user-agent': header(entry.request, 'user-agent') ?? 'resend-node',
      'content-type': header(entry.request, 'content-type') ?? 'application/json',
    },
    ...(requestBody ? { body: substituteIds(requestBody, ids) } : {}),
  });
  const actual = parseBody(await response.text());
  const recorded = modernize(
    entry.startedDateTime,
    entry.request.method,
    recordedUrl.pathname,
    parseBody(entry.response.content.text),
  ).body;
  learnIds(recorded, actual, ids);

  const where = `${entry.request.method} ${recordedUrl.pathname}${recordedUrl.search}`;
  const problems: string[] = [];
  if (response.status !== entry.response.status) {
    problems.push(`${where}: status ${response.status}, recorded ${entry.response.status}`);
  }
  for (const key of ['object', 'deleted', 'name', 'message', 'statusCode', 'has_more']) {
    if (topLevel(recorded, key) !== topLevel(actual, key)) {
      problems.push(
        `${where}: ${key} ${JSON.stringify(topLevel(actual, key))}, recorded ${JSON.stringify(topLevel(recorded, key))}`,
      );
    }
  }
  problems.push(
    ...shapeDifferences(recorded, actual).map((difference) => `${where}: ${difference}`),
  );
  if (response.headers.get('content-type') !== RECORDED_CONTENT_TYPE) {
    problems.push(`${where}: content-type ${response.headers.get('content-type')}`);
  }
  for (const name of RECORDED_HEADERS) {
    if (!response.headers.has(name)) problems.push(`${where}: no ${name} header`);
  }
  if (response.headers.get('ratelimit-reset') !== header(entry.response, 'ratelimit-reset')) {
    problems.push(`${where}: ratelimit-reset ${response.headers.get('ratelimit-reset')}`);
  }
  if (!/^\d+;w=1$/.test(response.headers.get('ratelimit-policy') ?? '')) {
    problems.push(`${where}: ratelimit-policy ${response.headers.get('ratelimit-policy')}`);
  }
  return problems;
}

const recordings = referenceAvailable ? loadRecordings() : [];

announceSkipWithoutReference('Replay of the recorded Resend exchanges');

describe.skipIf(!referenceAvailable)(
  `recorded Resend exchanges replayed against the emulator${referenceAvailable ? '' : ` — ${referenceMissingNote}`}`,
  () => {
    let emulator: StartedResendEmulator | undefined;
    afterEach(async () => {
      await emulator?.close();
      emulator = undefined;
    });

    it('has the recordings to replay', () => {
      expect(recordings.length).toBe(45);
      expect(recordings.flatMap((recording) => recording.entries)).toHaveLength(181);
    });

    // Setup calls to /topics and /contact-properties are replayed too: the emulator implements
    // them minimally, because contact writes refer to them.
    for (const recording of recordings) {
      it(`answers like ${recording.file}`, async () => {
        emulator = await startResendEmulator({ rateLimit: 1000 });
        const ids = new Map<string, string>();
        const problems: string[] = [];
        for (const entry of recording.entries) {
          problems.push(...(await replay(emulator, entry, ids)));
        }
        expect(problems).toEqual([]);
      });
    }
  },
);
