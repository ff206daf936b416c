import { createDocument } from 'zod-openapi';
import { CONSOLE_SECURITY_SCHEME, consolePaths } from './console-openapi.js';
import { erasurePaths } from './openapi/erasures.js';
import { operationsPaths } from './openapi/operations.js';
import { optOutPaths } from './openapi/opt-outs.js';
import { runPaths } from './openapi/runs.js';
import { schedulePaths } from './openapi/schedules.js';
import { webhookPaths } from './openapi/webhooks.js';

/**
 * The API described as OpenAPI 3.1, generated from the schemas that validate requests. Each
 * route group describes its own paths (api/openapi/); the order here is the document's.
 */
export function openApiDocument() {
  return createDocument({
    openapi: '3.1.0',
    info: {
      title: 'audience-sync',
      version: '0.1.0',
      description:
        'Preview and sync application users into marketing audiences (Resend segments, Loops mailing lists) through durable Temporal workflows.',
    },
    components: {
      securitySchemes: {
        marketingSecret: { type: 'http', scheme: 'bearer', description: 'MARKETING_API_SECRET' },
        ...CONSOLE_SECURITY_SCHEME,
      },
    },
    security: [{ marketingSecret: [] }, { consoleSession: [] }],
    paths: {
      ...runPaths(),
      ...erasurePaths(),
      ...schedulePaths(),
      ...optOutPaths(),
      ...consolePaths(),
      ...webhookPaths(),
      ...operationsPaths(),
    },
  });
}
