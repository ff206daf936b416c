import { randomUUID } from 'node:crypto';
import express, { type RequestHandler } from 'express';
import { pinoHttp } from 'pino-http';
import {
  CONTACT_DIRECTORIES,
  configuredPlatformNames,
  DECLARATIONS,
} from '../activities/platforms/registry.js';
import { createScheduleService } from '../client/schedules.js';
import { createConsentLift } from '../db/consent-lift.js';
import { createPreviewActivities } from '../db/preview.js';
import { registeredWebhookSecret } from '../db/webhook-registrations.js';
import { metrics } from '../telemetry/metrics.js';
import { createFailedAuthLimiter, type FailedAuthLimiter, requireBearerSecret } from './auth.js';
import { builtConsoleAssets, consoleRouter } from './console.js';
import {
  type ConsoleSessions,
  createConsoleSessions,
  requireSecretOrSession,
} from './console-auth.js';
import { consoleHeaders } from './console-headers.js';
import { ApiError, errorHandler, notFoundHandler } from './errors.js';
import { consoleSessionRouter } from './routes/console-session.js';
import { erasuresRouter } from './routes/erasures.js';
import { healthRouter } from './routes/health.js';
import { operationsRouter } from './routes/operations.js';
import { optOutsRouter } from './routes/opt-outs.js';
import { platformWebhooksRouter } from './routes/platform-webhooks.js';
import { runsRouter, runUsersRouter } from './routes/runs.js';
import { schedulesRouter } from './routes/schedules.js';
import { syncRouter } from './routes/sync.js';
import { syncUsersRouter } from './routes/sync-users.js';
import type { ApiServerDeps } from './server.js';
import { createSyncLauncher } from './sync-launcher.js';
import { recordWebhookDeliveries } from './webhook-deliveries.js';

const REQUEST_ID = /^[A-Za-z0-9._-]{1,100}$/;

/**
 * SPEC's body limits: 64 KiB, except POST /sync and POST /erasures, where 10,000 user ids (UUIDs)
 * must fit.
 */
const BODY_LIMIT = '64kb';
const SYNC_BODY_LIMIT = '1mb';

const jsonBody = (limit: string) => express.json({ limit, strict: true });

/** JSON only: a request that carries a body must say it is JSON. */
const requireJsonBody: RequestHandler = (req, _res, next) => {
  const hasBody =
    Number(req.get('content-length') ?? 0) > 0 || req.get('transfer-encoding') !== undefined;
  if (hasBody && !req.is('application/json')) {
    next(
      new ApiError(
        415,
        'unsupported_media_type',
        'Send the body as JSON (Content-Type: application/json)',
      ),
    );
    return;
  }
  next();
};

const countRequests: RequestHandler = (req, res, next) => {
  const stop = metrics.httpDuration.startTimer();
  res.on('finish', () => {
    const route = `${req.baseUrl}${req.route?.path ?? ''}` || 'unmatched';
    const labels = { method: req.method, route: req.route ? route : 'unmatched' };
    stop(labels);
    metrics.httpRequests.inc({ ...labels, status: String(res.statusCode) });
  });
  next();
};

/** Request logs: method, path and status only, with a request id the answer carries too. */
const requestLogs = (deps: Pick<ApiServerDeps, 'logger' | 'webhookLogLevel'>) =>
  pinoHttp({
    logger: deps.logger,
    genReqId: (req, res) => {
      const incoming = req.headers['x-request-id'];
      const id =
        typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
      res.setHeader('x-request-id', id);
      return id;
    },
    // A webhook delivery's line at the level the process asks for (the local stack's emulator
    // sends one per contact write); every other request at info, pino-http's default. The
    // original URL: a mounted router has cut its prefix off req.url by the time a request ends.
    customLogLevel: (req) =>
      (req as express.Request).originalUrl?.startsWith('/webhooks/')
        ? (deps.webhookLogLevel ?? 'info')
        : 'info',
    // Method, path and status only: no headers (secrets), no bodies or query values (people).
    serializers: {
      req: (req: { id: unknown; method: string; url: string }) => ({
        id: req.id,
        method: req.method,
        path: req.url.split('?')[0],
      }),
      res: (res: { statusCode: number }) => ({ statusCode: res.statusCode }),
    },
  });

/** Everything under /api/marketing, behind the Bearer secret or a console session. */
function marketingRouter(
  deps: ApiServerDeps,
  auth: { limiter: FailedAuthLimiter; sessions: ConsoleSessions },
): express.Router {
  const { config, sql, temporal } = deps;
  const now = deps.now ?? (() => new Date());
  const { previewUsers, unknownColumns, checkUsersSource } = createPreviewActivities({
    sql,
    usersSource: config.USERS_SOURCE,
    // Without a keeper there is no kept count to answer with.
    exactMaxUsers:
      config.PREVIEW_COUNT_REFRESH_SECONDS === 0
        ? Number.POSITIVE_INFINITY
        : config.PREVIEW_EXACT_MAX_USERS,
  });
  const launcher = createSyncLauncher({
    checkUsersSource,
    sql,
    temporal,
    taskQueue: config.TEMPORAL_TASK_QUEUE,
    waitMs: config.SYNC_WAIT_SECONDS * 1000,
    maxConcurrentRuns: config.MAX_CONCURRENT_RUNS,
    maxConcurrentDryRuns: config.MAX_CONCURRENT_DRY_RUNS,
  });
  const propertyColumns = { allowed: config.PROPERTY_COLUMNS, unknownColumns, checkUsersSource };

  const marketing = express.Router();
  marketing.use(
    requireSecretOrSession(
      requireBearerSecret({ secret: config.MARKETING_API_SECRET, limiter: auth.limiter }),
      auth.sessions,
    ),
  );
  marketing.use(requireJsonBody);
  // Parsed here first, so the general parser below finds the body read and leaves it alone.
  marketing.post('/sync', jsonBody(SYNC_BODY_LIMIT));
  marketing.post('/erasures', jsonBody(SYNC_BODY_LIMIT));
  marketing.use(jsonBody(BODY_LIMIT));
  marketing.use('/runs', runsRouter({ sql, temporal }));
  marketing.use(
    '/health',
    healthRouter({
      sql,
      temporal,
      platforms: configuredPlatformNames(config),
      webhooksConfigured: webhooksConfigured(config),
    }),
  );
  marketing.use('/sync-users', runUsersRouter({ sql, temporal }));
  const configuredPlatforms = new Set(configuredPlatformNames(config));
  marketing.use(
    '/sync-users',
    syncUsersRouter({ launcher, temporal, previewUsers, now, configuredPlatforms }),
  );
  marketing.use('/sync', syncRouter({ launcher, now, propertyColumns, configuredPlatforms }));
  marketing.use(
    '/schedules',
    schedulesRouter({
      schedules: createScheduleService(temporal, config.TEMPORAL_TASK_QUEUE),
      sql,
      propertyColumns,
      maxSchedules: config.MAX_SCHEDULES,
      configuredPlatforms,
    }),
  );
  mountConsentRoutes(marketing, deps);
  return marketing;
}

/** The erasure and opt-out routes: the consent records a person's requests and lifts act on. */
function mountConsentRoutes(marketing: express.Router, { config, sql, temporal }: ApiServerDeps) {
  marketing.use(
    '/erasures',
    erasuresRouter({
      sql,
      temporal,
      taskQueue: config.TEMPORAL_TASK_QUEUE,
      maxActiveErasures: config.MAX_ACTIVE_ERASURES,
    }),
  );
  marketing.use(
    '/opt-outs',
    optOutsRouter({
      sql,
      lift: createConsentLift({
        sql,
        usersSource: config.USERS_SOURCE,
        directories: CONTACT_DIRECTORIES,
      }),
    }),
  );
}

/** The signing secret a platform's webhook route verifies with: configured, else registered. */
const webhookSecretOf =
  (deps: ApiServerDeps, platform: string, setting: string) =>
  async (): Promise<string | undefined> => {
    const configured = (deps.config as Record<string, unknown>)[setting];
    if (typeof configured === 'string' && configured !== '') return configured;
    return registeredWebhookSecret(deps.sql, platform);
  };

/**
 * `/webhooks/<platform>` for every platform that sends signed events: signed by the platform,
 * not by the marketing secret, so outside /api/marketing, and read raw.
 */
function webhookRoutes(deps: ApiServerDeps, limiter: FailedAuthLimiter): express.Router {
  const router = express.Router();
  for (const platform of DECLARATIONS) {
    if (!platform.webhook) continue;
    router.use(
      `/${platform.name}`,
      recordWebhookDeliveries({ sql: deps.sql, platform: platform.name, logger: deps.logger }),
      platformWebhooksRouter({
        sql: deps.sql,
        platform,
        secret: webhookSecretOf(deps, platform.name, platform.webhook.secretSetting),
        limiter,
      }),
    );
  }
  return router;
}

/** Which platforms' webhook secrets this API has (configured; registered ones show in health). */
const webhooksConfigured = (config: ApiServerDeps['config']): Record<string, boolean> =>
  Object.fromEntries(
    DECLARATIONS.flatMap((platform) =>
      platform.webhook
        ? [
            [
              platform.name,
              (config as Record<string, unknown>)[platform.webhook.secretSetting] !== undefined,
            ],
          ]
        : [],
    ),
  );

/** The console's sign-in and pages, under a strict Content-Security-Policy. */
function consoleRoutes(
  deps: ApiServerDeps,
  auth: { limiter: FailedAuthLimiter; sessions: ConsoleSessions },
  consoleAssets: RequestHandler,
): express.Router {
  const { config } = deps;
  const router = express.Router();
  router.use(consoleHeaders());
  router.use(
    '/session',
    requireJsonBody,
    jsonBody(BODY_LIMIT),
    consoleSessionRouter({
      secret: config.MARKETING_API_SECRET,
      sessions: auth.sessions,
      limiter: auth.limiter,
    }),
  );
  router.use(
    consoleRouter(
      {
        namespace: config.TEMPORAL_NAMESPACE,
        ...(config.TEMPORAL_UI_URL ? { temporalUiUrl: config.TEMPORAL_UI_URL } : {}),
      },
      consoleAssets,
    ),
  );
  return router;
}

/**
 * The HTTP API, without listening: the server, the dev stack and tests mount it. The console's
 * pages come from `consoleAssets` (the built files unless given).
 */
export function createApp(
  deps: ApiServerDeps,
  consoleAssets: RequestHandler = builtConsoleAssets(),
): express.Express {
  const { config, sql, temporal } = deps;
  const app = express();
  app.disable('x-powered-by');
  app.set('query parser', 'simple');
  // Whose word req.ip takes (the failed-auth limit counts per address): the socket's by default.
  app.set('trust proxy', config.TRUST_PROXY);
  app.use(requestLogs(deps));
  app.use(countRequests);
  app.use(operationsRouter({ sql, temporal, usersSource: config.USERS_SOURCE }));
  // One count of failed authentications per address, whatever was checked: a Bearer header, a
  // webhook signature, a console sign-in.
  const limiter = createFailedAuthLimiter({
    failuresPerMinute: config.AUTH_FAILURES_PER_MINUTE,
    logger: deps.logger,
  });
  app.use('/webhooks', webhookRoutes(deps, limiter));
  const auth = {
    limiter,
    sessions: createConsoleSessions({
      sql,
      secret: config.MARKETING_API_SECRET,
      now: deps.now ?? (() => new Date()),
    }),
  };
  app.use('/api/marketing', marketingRouter(deps, auth));
  app.use('/console', consoleRoutes(deps, auth, consoleAssets));
  app.use(notFoundHandler);
  app.use(errorHandler);
  return app;
}
