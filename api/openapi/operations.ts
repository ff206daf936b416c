import { z } from 'zod';
import type { ZodOpenApiPathsObject } from 'zod-openapi';
import { healthSchema, notReadySchema, readySchema } from '../schemas.js';
import { json, retryAfter } from './parts.js';

/** Health, readiness, metrics and this document (routes/operations.ts): no secret needed. */
export const operationsPaths = (): ZodOpenApiPathsObject => ({
  '/healthz': {
    get: {
      operationId: 'health',
      summary: 'Process alive',
      security: [],
      responses: { '200': { description: 'Alive', ...json(healthSchema) } },
    },
  },
  '/readyz': {
    get: {
      operationId: 'ready',
      summary:
        'Database and Temporal reachable, and the users relation has the columns a run reads',
      security: [],
      responses: {
        '200': { description: 'Ready', ...json(readySchema) },
        '503': { description: 'Not ready', headers: retryAfter, ...json(notReadySchema) },
      },
    },
  },
  '/metrics': {
    get: {
      operationId: 'metrics',
      summary: 'Prometheus metrics',
      security: [],
      responses: {
        '200': {
          description: 'Metrics in Prometheus text format',
          content: { 'text/plain': { schema: z.string() } },
        },
      },
    },
  },
  '/openapi.json': {
    get: {
      operationId: 'openApiDocument',
      summary: 'This document',
      security: [],
      responses: {
        '200': {
          description: 'OpenAPI 3.1',
          ...json(z.record(z.string(), z.unknown())),
        },
      },
    },
  },
});
