import { z } from 'zod';
import type { ZodOpenApiOperationObject, ZodOpenApiPathsObject } from 'zod-openapi';
import { DECLARATIONS } from '../../activities/platforms/registry.js';
import { possessive } from '../../common/words.js';
import { errorSchema, webhookAnswerSchema } from '../schemas.js';
import { errors, json } from './parts.js';

/**
 * `POST /webhooks/<platform>` for every platform of the registry that sends signed events
 * (routes/platform-webhooks.ts): signed, not behind the Bearer secret.
 */
export const webhookPaths = (): ZodOpenApiPathsObject =>
  Object.fromEntries(
    DECLARATIONS.flatMap(({ name, title, webhook }) => {
      if (!webhook) return [];
      const { headers } = webhook;
      const operation = {
        operationId: `${name}Webhook`,
        summary: `${possessive(title)} consent events (${webhook.consentEvents.join(', ')}), signed with ${String(webhook.secretSetting)} or the secret ${title} gave when the endpoint was registered (no Bearer)`,
        security: [],
        requestParams: {
          header: z.object({
            [headers.id]: z
              .string()
              .meta({ description: 'The message id; a repeat is processed once' }),
            [headers.timestamp]: z.string().meta({ description: 'Seconds since the epoch' }),
            [headers.signature]: z.string().meta({ description: 'v1,<base64 HMAC-SHA256>' }),
          }),
        },
        requestBody: {
          required: true,
          content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } },
        },
        responses: {
          '200': { description: 'Recorded (or a repeat)', ...json(webhookAnswerSchema) },
          ...errors([400, 413, 415, 429, 500, 503], {
            400: `A correctly signed body that is not a ${title} event`,
            413: 'Body over 64 KiB (a declared length is refused before the body is read)',
            415: 'A compressed body (any Content-Encoding): refused before it is read',
            429: 'Too many failed signatures or Bearer checks from this address (too_many_auth_failures)',
            503: `No signing secret (${String(webhook.secretSetting)} unset and no endpoint registered), or Postgres cannot be reached`,
          }),
          // The signature is not an HTTP authentication scheme, so no WWW-Authenticate.
          '401': {
            description:
              'Unsigned, wrongly signed, or more than 5 minutes off (headers and time are checked before the body is read); counts against the failed-auth limit',
            ...json(errorSchema),
          },
        },
      } satisfies ZodOpenApiOperationObject;
      return [[`/webhooks/${name}`, { post: operation }]];
    }),
  );
