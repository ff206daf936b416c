import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { errorSchema, webhookAnswerSchema } from '../schemas.js';
import { errors, json } from './parts.js';

/** The platform's webhook route (routes/resend-webhooks.ts): signed, not behind the Bearer secret. */
export const webhookPaths = (): ZodOpenApiPathsObject => ({
  '/webhooks/resend': {
    post: {
      operationId: 'resendWebhook',
      summary:
        "Resend's contact and suppression events, signed by Svix with RESEND_WEBHOOK_SECRET (no Bearer)",
      security: [],
      requestParams: {
        header: z.object({
          'svix-id': z.string().meta({ description: 'The message id; a repeat is processed once' }),
          'svix-timestamp': z.string().meta({ description: 'Seconds since the epoch' }),
          'svix-signature': z.string().meta({ description: 'v1,<base64 HMAC-SHA256>' }),
        }),
      },
      requestBody: {
        required: true,
        content: {
          'application/json': { schema: z.record(z.string(), z.unknown()) },
        },
      },
      responses: {
        '200': { description: 'Recorded (or a repeat)', ...json(webhookAnswerSchema) },
        ...errors([400, 413, 415, 429, 500, 503], {
          400: 'A correctly signed body that is not a Resend event',
          413: 'Body over 64 KiB (a declared length is refused before the body is read)',
          415: 'A compressed body (any Content-Encoding): refused before it is read',
          429: 'Too many failed signatures or Bearer checks from this address (too_many_auth_failures)',
          503: 'RESEND_WEBHOOK_SECRET is not set, or Postgres cannot be reached',
        }),
        // The signature is not an HTTP authentication scheme, so no WWW-Authenticate.
        '401': {
          description:
            'Unsigned, wrongly signed, or more than 5 minutes off (headers and time are checked before the body is read); counts against the failed-auth limit',
          ...json(errorSchema),
        },
      },
    },
  },
});
