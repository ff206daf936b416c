import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { findSpecPath, loadSpecValidator } from './support/openapi.js';
import {
  announceSkipWithoutReference,
  referenceAvailable,
  referenceMissingNote,
} from './support/reference.js';
import { type Exchange, tourEveryOperation } from './support/tour.js';

/** Paths the spec does not list, validated against the operation that does the same thing. */
const EQUIVALENT_PATHS: readonly { pattern: RegExp; specPath: string; reason: string }[] = [
  {
    pattern: /^\/audiences\/[^/]+\/contacts$/,
    specPath: '/contacts',
    reason: 'the legacy audience-scoped contact paths left the spec; they answer like /contacts',
  },
  {
    pattern: /^\/audiences\/[^/]+\/contacts\/[^/]+$/,
    specPath: '/contacts/{id}',
    reason: 'as above, for one contact',
  },
  {
    pattern: /^\/segments\/[^/]+\/contacts$/,
    specPath: '/contacts',
    reason:
      'the spec lists members as GET /contacts?segment_id=; the SDK and the API use this path',
  },
];

/** Operations the spec does not describe at all. */
const WITHOUT_SCHEMA = new Set(['PATCH /segments/{id}']);

/**
 * Where the spec disagrees with the recordings or the docs, the emulator follows those; each
 * disagreement is listed here, and every other mismatch fails.
 */
const KNOWN_DEVIATIONS: readonly {
  schema: string;
  instancePath: RegExp;
  keyword: string;
  property?: string;
  reason: string;
}[] = [
  {
    schema: 'RemoveContactResponseSuccess',
    instancePath: /^$/,
    keyword: 'additionalProperties',
    property: 'contact',
    reason: 'recordings and docs: deleting a contact answers `contact`, not `id`',
  },
  {
    schema: 'CreateSegmentResponseSuccess',
    instancePath: /^$/,
    keyword: 'additionalProperties',
    property: 'name',
    reason: 'recordings: creating a segment answers its `name` too',
  },
  {
    schema: 'AddContactToSegmentResponseSuccess',
    instancePath: /^$/,
    keyword: 'additionalProperties',
    property: 'id',
    reason: 'docs and SDK: adding to a segment answers `{ id }`',
  },
  {
    schema: 'RemoveContactFromSegmentResponseSuccess',
    instancePath: /^$/,
    keyword: 'additionalProperties',
    property: 'id',
    reason: 'docs and SDK: `{ object, id, audienceId, deleted }`',
  },
  {
    schema: 'RemoveContactFromSegmentResponseSuccess',
    instancePath: /^$/,
    keyword: 'additionalProperties',
    property: 'audienceId',
    reason: 'docs and SDK: `{ object, id, audienceId, deleted }`',
  },
  {
    schema: 'GetContactResponseSuccess',
    instancePath: /^\/(first|last)_name$/,
    keyword: 'type',
    reason: 'recordings: unset names are null',
  },
  {
    schema: 'ListContactsResponseSuccess',
    instancePath: /^$/,
    keyword: 'additionalProperties',
    property: 'has_more',
    reason: 'recordings and docs: contact lists carry `has_more`',
  },
  {
    schema: 'ListContactsResponseSuccess',
    instancePath: /^\/data\/\d+\/(first|last)_name$/,
    keyword: 'type',
    reason: 'recordings: unset names are null',
  },
];

function specPathFor(paths: readonly string[], path: string): string | undefined {
  const bare = path.split('?')[0] ?? path;
  return (
    EQUIVALENT_PATHS.find((equivalent) => equivalent.pattern.test(bare))?.specPath ??
    findSpecPath(paths, bare)
  );
}

announceSkipWithoutReference('Validation against the Resend OpenAPI document');

describe.skipIf(!referenceAvailable)(
  `emulator answers match Resend's OpenAPI response schemas${referenceAvailable ? '' : ` — ${referenceMissingNote}`}`,
  () => {
    let emulator: StartedResendEmulator;
    let exchanges: Exchange[];

    beforeAll(async () => {
      emulator = await startResendEmulator({ rateLimit: 1000 });
      exchanges = await tourEveryOperation(emulator);
    });
    afterAll(() => emulator.close());

    it('succeeds at every operation of the tour', () => {
      const failed = exchanges.filter((exchange) => exchange.status >= 300);
      expect(failed).toEqual([]);
    });

    it('differs from the spec only where the recordings or docs say otherwise', () => {
      const spec = loadSpecValidator();
      const unexpected: string[] = [];
      const seen = new Set<(typeof KNOWN_DEVIATIONS)[number]>();
      for (const exchange of exchanges) {
        const specPath = specPathFor(spec.paths(), exchange.path);
        const operation = `${exchange.method} ${specPath}`;
        if (WITHOUT_SCHEMA.has(operation)) continue;
        const schemaRef =
          specPath && spec.responseSchema(exchange.method, specPath, exchange.status);
        if (!schemaRef) {
          unexpected.push(
            `${exchange.method} ${exchange.path} ${exchange.status}: no schema in the spec`,
          );
          continue;
        }
        const schema = schemaRef.split('/').pop() ?? schemaRef;
        for (const error of spec.validate(schemaRef, exchange.body)) {
          const property = (error.params as { additionalProperty?: string }).additionalProperty;
          const deviation = KNOWN_DEVIATIONS.find(
            (known) =>
              known.schema === schema &&
              known.keyword === error.keyword &&
              known.instancePath.test(error.instancePath) &&
              known.property === property,
          );
          if (deviation) seen.add(deviation);
          else
            unexpected.push(
              `${exchange.method} ${exchange.path} (${schema}) ${error.instancePath} ${error.message}`,
            );
        }
      }
      expect(unexpected).toEqual([]);
      const unused = KNOWN_DEVIATIONS.filter((deviation) => !seen.has(deviation));
      expect(unused.map((deviation) => `${deviation.schema}: ${deviation.reason}`)).toEqual([]);
    });
  },
);
