import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { RequestHandler } from 'express';
import type { ApiConfig } from '../config/env.js';
import { startPreviewCountKeeper } from '../db/preview-count-keeper.js';
import type { Sql } from '../db/sql.js';
import { usersSourceProblem } from '../db/users-source.js';
import type { Logger } from '../telemetry/logger.js';
import { createApp } from './app.js';
import { builtConsoleAssets } from './console.js';

export interface StartedApi {
  url: string;
  close(): Promise<void>;
}

export interface ApiServerDeps {
  config: ApiConfig;
  sql: Sql;
  temporal: Client;
  logger: Logger;
  /** The clock for request defaults that depend on the day; the system clock unless set. */
  now?: () => Date;
  /** The level of webhook deliveries' request lines; info unless set. */
  webhookLogLevel?: 'info' | 'debug';
  /**
   * Serves the console's pages, given the HTTP server (for a reload channel); the built files
   * unless set (`npm run dev` serves the sources through Vite).
   */
  consoleAssets?: (server: Server) => Promise<ConsoleAssets>;
}

export interface ConsoleAssets {
  handler: RequestHandler;
  close?: () => Promise<void>;
}

/**
 * Listens on config.PORT (0: any free port) on all interfaces and resolves once it accepts. The
 * process also keeps the preview count (the process that answers previews is the one that needs
 * it; API processes take turns through an advisory lock).
 */
export async function startApiServer(deps: ApiServerDeps): Promise<StartedApi> {
  // Said at start, not first by a failing preview; /readyz says it until the relation is fixed
  // (and says whether the database answers at all).
  const problem = await usersSourceProblem(deps.sql, deps.config.USERS_SOURCE).catch(
    () => undefined,
  );
  if (problem) {
    deps.logger.error(
      { usersSource: deps.config.USERS_SOURCE },
      `${problem}; not ready until then`,
    );
  }
  const server = createServer();
  const consoleAssets = deps.consoleAssets
    ? await deps.consoleAssets(server)
    : { handler: builtConsoleAssets() };
  server.on('request', createApp(deps, consoleAssets.handler));
  const refreshSeconds = deps.config.PREVIEW_COUNT_REFRESH_SECONDS;
  const keeper =
    refreshSeconds === 0
      ? undefined
      : startPreviewCountKeeper({
          sql: deps.sql,
          usersSource: deps.config.USERS_SOURCE,
          intervalMs: refreshSeconds * 1000,
          logger: deps.logger,
        });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(deps.config.PORT, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: async () => {
      await keeper?.stop();
      await consoleAssets.close?.();
      await new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}
