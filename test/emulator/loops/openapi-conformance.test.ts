import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StartedLoopsEmulator } from '../../../emulator/loops/index.js';
import { callAdmin, callApi, TEST_KEY, waitFor } from '../support/http.js';
import { loadLoopsSpec, loopsSpecAvailable, loopsSpecMissingNote } from './openapi.js';
import { closeAll, demoListId, startEmulator, startReceiver, WEBHOOK_SECRET } from './support.js';

interface Exchange {
  method: string;
  path: string;
  expected: number;
  status: number;
  body: unknown;
}

/** Every operation a sync uses, with each status the document gives it, in one run. */
async function tour(emulator: StartedLoopsEmulator): Promise<Exchange[]> {
  const exchanges: Exchange[] = [];
  const call = async (
    expected: number,
    method: string,
    path: string,
    body?: unknown,
    key?: string,
  ) => {
    const answer = await callApi(emulator, method, `/api${path}`, {
      ...(body === undefined ? {} : { body }),
      ...(key === undefined ? {} : { key }),
    });
    exchanges.push({ method, path, expected, status: answer.status, body: answer.body });
  };
  const listId = demoListId(emulator);
  await call(200, 'GET', '/v1/api-key');
  await call(401, 'GET', '/v1/api-key', undefined, 'not_a_key');
  await call(200, 'GET', '/v1/lists');
  await call(200, 'POST', '/v1/contacts/properties', { name: 'planName', type: 'string' });
  await call(400, 'POST', '/v1/contacts/properties', { name: 'planName', type: 'string' });
  await call(200, 'GET', '/v1/contacts/properties');
  await call(200, 'GET', '/v1/contacts/properties?list=custom');
  const contact = {
    email: 'ada@example.com',
    userId: 'user-1',
    planName: 'pro',
    mailingLists: { [listId]: true },
  };
  await call(200, 'POST', '/v1/contacts/create', contact);
  await call(409, 'POST', '/v1/contacts/create', contact);
  await call(400, 'POST', '/v1/contacts/create', { email: 'nope' });
  await call(200, 'PUT', '/v1/contacts/update', { userId: 'user-1', firstName: 'Ada' });
  await call(200, 'PUT', '/v1/contacts/update', { email: 'new@example.com' });
  await call(400, 'PUT', '/v1/contacts/update', { firstName: 'Nobody' });
  await call(200, 'GET', '/v1/contacts/find?email=ada%40example.com');
  await call(200, 'GET', '/v1/contacts/find?userId=nobody');
  await call(400, 'GET', '/v1/contacts/find?email=a%40example.com&userId=user-1');
  await call(200, 'GET', '/v1/contacts/suppression?userId=user-1');
  await call(400, 'GET', '/v1/contacts/suppression?email=bad');
  await call(404, 'GET', '/v1/contacts/suppression?email=nobody%40example.com');
  await call(400, 'DELETE', '/v1/contacts/suppression?userId=user-1');
  await call(404, 'DELETE', '/v1/contacts/suppression?userId=nobody');
  await callAdmin(emulator, 'POST', '/contacts/hard-bounce', { userId: 'user-1' });
  await call(200, 'DELETE', '/v1/contacts/suppression?userId=user-1');
  await call(200, 'POST', '/v1/contacts/delete', { email: 'new@example.com' });
  await call(400, 'POST', '/v1/contacts/delete', { email: 'ada@example.com', userId: 'user-1' });
  await call(404, 'POST', '/v1/contacts/delete', { email: 'new@example.com' });
  return exchanges;
}

/** Where the emulator answers beyond the document's schemas; every other mismatch fails. */
const KNOWN_DEVIATIONS = [
  {
    instancePath: /^\/0$/,
    keyword: 'additionalProperties',
    property: 'planName',
    reason:
      'find answers custom properties as top-level keys, as its description says; the Contact schema lists none',
  },
];

const WEBHOOK_SCHEMAS: Record<string, string> = {
  'contact.created': 'WebhookContactCreatedPayload',
  'contact.unsubscribed': 'WebhookContactUnsubscribedPayload',
  'contact.deleted': 'WebhookContactDeletedPayload',
  'contact.mailingList.subscribed': 'WebhookContactMailingListSubscribedPayload',
  'contact.mailingList.unsubscribed': 'WebhookContactMailingListUnsubscribedPayload',
  'email.hardBounced': 'WebhookEmailHardBouncedPayload',
  'email.spamReported': 'WebhookEmailSpamReportedPayload',
};

if (!loopsSpecAvailable) console.warn(`Validation against Loops' OpenAPI: ${loopsSpecMissingNote}`);

describe.skipIf(!loopsSpecAvailable)(
  `Loops emulator answers and webhooks match Loops' OpenAPI 1.21.6${loopsSpecAvailable ? '' : ` — ${loopsSpecMissingNote}`}`,
  () => {
    let exchanges: Exchange[];
    let payloads: Record<string, unknown>[];

    beforeAll(async () => {
      const receiver = await startReceiver(WEBHOOK_SECRET);
      const emulator = await startEmulator({
        rateLimit: 1000,
        apiKeys: [TEST_KEY],
        webhook: { url: receiver.url, secret: WEBHOOK_SECRET },
      });
      exchanges = await tour(emulator);
      await callApi(emulator, 'POST', '/api/v1/contacts/create', {
        body: { email: 'spam@example.com', mailingLists: { [demoListId(emulator)]: true } },
      });
      const person = { email: 'spam@example.com' };
      await callAdmin(emulator, 'POST', '/contacts/unsubscribe-from-list', {
        ...person,
        listId: demoListId(emulator),
      });
      await callAdmin(emulator, 'POST', '/contacts/spam-report', person);
      const { deliveries } = await callAdmin<{ deliveries: unknown[] }>(
        emulator,
        'GET',
        '/webhook/deliveries',
      );
      payloads = await waitFor('every delivery received', () =>
        receiver.received.length === deliveries.length
          ? receiver.received.map((delivery) => delivery.payload)
          : undefined,
      );
    });
    afterAll(closeAll);

    it('answers each operation of the tour with the status expected', () => {
      const wrong = exchanges.filter((exchange) => exchange.status !== exchange.expected);
      expect(wrong).toEqual([]);
    });

    it("answers bodies that the document's schemas accept, except the listed deviations", () => {
      const spec = loadLoopsSpec();
      const unexpected: string[] = [];
      const seen = new Set<(typeof KNOWN_DEVIATIONS)[number]>();
      for (const exchange of exchanges) {
        const specPath = exchange.path.split('?')[0] ?? exchange.path;
        const errors = spec.validateResponse(
          exchange.method,
          specPath,
          exchange.status,
          exchange.body,
        );
        if (!errors) {
          unexpected.push(`${exchange.method} ${exchange.path} ${exchange.status}: no schema`);
          continue;
        }
        for (const error of errors) {
          const property = (error.params as { additionalProperty?: string }).additionalProperty;
          const deviation = KNOWN_DEVIATIONS.find(
            (known) =>
              known.keyword === error.keyword &&
              known.instancePath.test(error.instancePath) &&
              known.property === property,
          );
          if (deviation) seen.add(deviation);
          else
            unexpected.push(
              `${exchange.method} ${exchange.path} ${error.instancePath} ${error.message} ${property ?? ''}`,
            );
        }
      }
      expect(unexpected).toEqual([]);
      expect(KNOWN_DEVIATIONS.filter((deviation) => !seen.has(deviation))).toEqual([]);
    });

    it('sends every event it knows, each body accepted by its schema in the webhooks section', () => {
      const spec = loadLoopsSpec();
      const names = [...new Set(payloads.map((payload) => String(payload.eventName)))].sort();
      expect(names).toEqual(Object.keys(WEBHOOK_SCHEMAS).sort());
      const problems = payloads.flatMap((payload) =>
        spec
          .validateSchema(WEBHOOK_SCHEMAS[String(payload.eventName)] ?? 'none', payload)
          .map((error) => `${String(payload.eventName)} ${error.instancePath} ${error.message}`),
      );
      expect(problems).toEqual([]);
    });
  },
);
