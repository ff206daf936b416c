import type { RequestHandler } from 'express';
import { recordWebhookDelivery } from '../db/platform-health.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../telemetry/logger.js';

/** Refused deliveries written at most this often per process: a flood of forgeries is one row write a second. */
const FAILURE_WRITE_EVERY_MS = 1000;

/**
 * Records how each delivery to a platform's webhook endpoint went, once it was answered: a 2xx
 * is a delivery accepted (a redelivery too), anything else one refused, with its status. The
 * health route shows the last of each. Only the status is kept: nothing of the body.
 */
export function recordWebhookDeliveries(deps: {
  sql: Sql;
  platform: string;
  logger: Logger;
}): RequestHandler {
  let lastFailureWrite = 0;
  return (req, res, next) => {
    if (req.method !== 'POST' || req.path !== '/') return next();
    res.on('finish', () => {
      const accepted = res.statusCode >= 200 && res.statusCode < 300;
      if (!accepted) {
        if (Date.now() - lastFailureWrite < FAILURE_WRITE_EVERY_MS) return;
        lastFailureWrite = Date.now();
      }
      recordWebhookDelivery(deps.sql, deps.platform, accepted ? null : res.statusCode).catch(
        (error: unknown) =>
          deps.logger.warn(
            { err: error, platform: deps.platform },
            'webhook delivery not recorded',
          ),
      );
    });
    next();
  };
}
