import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Client } from '@temporalio/client';
import type { ApiConfig } from '../config/env.js';
import type { Sql } from '../db/sql.js';
import type { Logger } from '../telemetry/logger.js';
import { createApp } from './app.js';

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
}

/** Listens on config.PORT (0: any free port) on all interfaces and resolves once it accepts. */
export async function startApiServer(deps: ApiServerDeps): Promise<StartedApi> {
  const app = createApp(deps);
  const server: Server = await new Promise((resolve, reject) => {
    const listening = app.listen(deps.config.PORT, (error?: Error) =>
      error ? reject(error) : resolve(listening),
    );
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      }),
  };
}
