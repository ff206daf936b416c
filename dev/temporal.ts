import { accessSync, constants } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { SearchAttributeType } from '@temporalio/common';
import type { SearchAttributeKey } from '@temporalio/common/lib/search-attributes.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';

export interface LocalTemporal {
  address: string;
  namespace: string;
  /** Web UI URL, when the UI was asked for. */
  uiUrl?: string;
  /** Where the server binary came from, for the start-up banner. */
  source: string;
  stop(): Promise<void>;
}

export interface TemporalDevServerOptions {
  /** gRPC port; a free one when absent. */
  port?: number;
  /** Web UI port; no UI when absent. */
  uiPort?: number;
  /** SQLite file so runs survive restarts; in memory when absent. */
  dbFilename?: string;
  searchAttributes: SearchAttributeKey<SearchAttributeType>[];
  /** Explicit path to the `temporal` CLI; else TEMPORAL_CLI_PATH, else PATH, else a download. */
  cliPath?: string;
  /** Extra `temporal server start-dev` arguments, e.g. dynamic config for tests. */
  extraArgs?: string[];
}

const isExecutable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** The `temporal` CLI from TEMPORAL_CLI_PATH or PATH, if there is one. */
export function findTemporalCli(env: NodeJS.ProcessEnv = process.env): string | undefined {
  if (env.TEMPORAL_CLI_PATH) return env.TEMPORAL_CLI_PATH;
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, 'temporal');
    if (dir && isExecutable(candidate)) return candidate;
  }
  return undefined;
}

/**
 * Runs `temporal server start-dev` through the SDK's ephemeral-server support, which owns the
 * child process and stops it on teardown. Without a local CLI the SDK downloads one.
 */
export async function startTemporalDevServer(
  options: TemporalDevServerOptions,
): Promise<LocalTemporal> {
  const cliPath = options.cliPath ?? findTemporalCli();
  const namespace = 'default';
  if (options.dbFilename) await mkdir(path.dirname(options.dbFilename), { recursive: true });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: cliPath ? { type: 'existing-path', path: cliPath } : { type: 'cached-download' },
      namespace,
      ip: '127.0.0.1',
      ...(options.port ? { port: options.port } : {}),
      ...(options.uiPort ? { ui: true, uiPort: options.uiPort } : { ui: false }),
      ...(options.dbFilename ? { dbFilename: options.dbFilename } : {}),
      searchAttributes: options.searchAttributes,
      ...(options.extraArgs ? { extraArgs: options.extraArgs } : {}),
      log: { format: 'json', level: 'error' },
    },
  });
  return {
    address: env.address,
    namespace,
    ...(options.uiPort ? { uiUrl: `http://127.0.0.1:${options.uiPort}` } : {}),
    source: cliPath ?? 'downloaded by the Temporal SDK',
    stop: () => env.teardown(),
  };
}
