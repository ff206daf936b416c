import { Counter, collectDefaultMetrics, Histogram, Registry } from 'prom-client';

/**
 * Prometheus metrics of this process. Labels carry operations and status codes, never user data.
 * When the API and the worker share a process (npm run dev, tests) one scrape shows both.
 */
export const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'audience_sync_' });

export const metrics = {
  httpRequests: new Counter({
    name: 'audience_sync_http_requests_total',
    help: 'HTTP requests answered by the API, by route and status.',
    labelNames: ['method', 'route', 'status'] as const,
    registers: [registry],
  }),
  httpDuration: new Histogram({
    name: 'audience_sync_http_request_duration_seconds',
    help: 'Time to answer an API request.',
    labelNames: ['method', 'route'] as const,
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [registry],
  }),
  contacts: new Counter({
    name: 'audience_sync_contacts_total',
    help: 'Users a run finished with, by outcome (added, skipped, failed).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  leavers: new Counter({
    name: 'audience_sync_leavers_total',
    help: 'Contacts of mirror runs whose user left the population, by outcome (removed, gone, failed; unsubscribed also counts removed contacts of opted-out users).',
    labelNames: ['outcome'] as const,
    registers: [registry],
  }),
  contactsUpdated: new Counter({
    name: 'audience_sync_contacts_updated_total',
    help: 'Added or already-present users whose fields (names, mapped properties) a run patched.',
    registers: [registry],
  }),
  platformResponses: new Counter({
    name: 'audience_sync_platform_responses_total',
    help: 'Answers from the marketing platform, by operation and HTTP status (0: no answer).',
    labelNames: ['platform', 'operation', 'status'] as const,
    registers: [registry],
  }),
  rateLimited: new Counter({
    name: 'audience_sync_platform_rate_limited_total',
    help: '429 answers from the marketing platform.',
    labelNames: ['platform'] as const,
    registers: [registry],
  }),
  batchDuration: new Histogram({
    name: 'audience_sync_batch_duration_seconds',
    help: 'Time to process one batch of users.',
    buckets: [0.1, 0.5, 1, 2.5, 5, 10, 20, 40, 80, 160],
    registers: [registry],
  }),
};
