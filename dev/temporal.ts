import { mkdir } from 'node:fs/promises';
import path from 'node:path';
import type { SearchAttributeType } from '@temporalio/common';
import type { SearchAttributeKey } from '@temporalio/common/lib/search-attributes.js';
import { TestWorkflowEnvironment } from '@temporalio/testing';
import { projectRootOf } from './project-root.js';
import {
  resolveTemporalCli,
  type TemporalCli,
  TemporalCliUnavailableError,
  temporalCliUnavailableMessage,
} from './temporal-cli.js';

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
  /**
   * Explicit path to the `temporal` CLI; else TEMPORAL_CLI_PATH, PATH or the project's own
   * install, else the pinned CLI is installed into the project, else the SDK downloads one.
   */
  cliPath?: string;
  /** Extra `temporal server start-dev` arguments, e.g. dynamic config for tests. */
  extraArgs?: string[];
  /** Folder of the project's own CLI install; the project this file belongs to when absent. */
  projectRoot?: string;
  /** Gets the one line saying the CLI is being installed; stderr when absent. */
  onLog?: (line: string) => void;
  /** Another way out the failure message names (e.g. TEMPORAL_ADDRESS for `npm run dev`). */
  alternative?: string;
  /** Stops an install in progress; a server already starting is left to finish. */
  signal?: AbortSignal;
}

const DOWNLOAD = 'downloaded by the Temporal SDK';

/**
 * Runs `temporal server start-dev` through the SDK's ephemeral-server support, which owns the
 * child process and stops it on teardown. The CLI comes from resolveTemporalCli; the SDK's own
 * download is the last resort, as it needs the wider internet.
 */
export async function startTemporalDevServer(
  options: TemporalDevServerOptions,
): Promise<LocalTemporal> {
  let cli: TemporalCli | undefined;
  const failures: string[] = [];
  const log = options.onLog ?? ((line: string) => process.stderr.write(`${line}\n`));
  try {
    cli = await resolveTemporalCli({
      projectRoot: options.projectRoot ?? projectRootOf(import.meta.url),
      // An explicit path is checked like TEMPORAL_CLI_PATH: it must be there.
      env: options.cliPath ? { ...process.env, TEMPORAL_CLI_PATH: options.cliPath } : process.env,
      log,
      ...(options.alternative ? { alternative: options.alternative } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } catch (error) {
    if (!(error instanceof TemporalCliUnavailableError) || error.reasons.length === 0) throw error;
    failures.push(...error.reasons);
    log(`${failures.join('; ')}: trying the Temporal SDK's own download`);
  }
  options.signal?.throwIfAborted();
  const namespace = 'default';
  if (options.dbFilename) await mkdir(path.dirname(options.dbFilename), { recursive: true });
  const env = await TestWorkflowEnvironment.createLocal({
    server: {
      executable: cli ? { type: 'existing-path', path: cli.path } : { type: 'cached-download' },
      namespace,
      ip: '127.0.0.1',
      ...(options.port ? { port: options.port } : {}),
      ...(options.uiPort ? { ui: true, uiPort: options.uiPort } : { ui: false }),
      ...(options.dbFilename ? { dbFilename: options.dbFilename } : {}),
      searchAttributes: options.searchAttributes,
      ...(options.extraArgs ? { extraArgs: options.extraArgs } : {}),
      log: { format: 'json', level: 'error' },
    },
  }).catch((error: unknown) => {
    const download = downloadFailure(error);
    if (cli || download === undefined) throw error;
    throw new TemporalCliUnavailableError(
      temporalCliUnavailableMessage(
        [...failures, `the Temporal SDK could not download it (${download})`],
        options.alternative,
      ),
      failures,
    );
  });
  return {
    address: env.address,
    namespace,
    ...(options.uiPort ? { uiUrl: `http://127.0.0.1:${options.uiPort}` } : {}),
    source: cli?.path ?? DOWNLOAD,
    stop: () => env.teardown(),
  };
}

/** The reason of the SDK's failed CLI download, without its request URLs; else undefined. */
function downloadFailure(error: unknown): string | undefined {
  const message = error instanceof Error ? error.message : String(error);
  const marker = 'failed to download ephemeral server executable: ';
  const at = message.indexOf(marker);
  if (at < 0) return undefined;
  return message
    .slice(at + marker.length)
    .replace(/error sending request for url \([^)]*\):\s*/g, '')
    .slice(0, 300);
}
