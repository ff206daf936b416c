import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { PLATFORM_SETTINGS } from '../activities/platforms/registry.js';
import type { WorkerConfig } from '../config/env.js';

/** The real worker entry point as a child process: tests kill it, the benchmark weighs it. */
export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves with the exit code or signal. */
  exited: Promise<number | NodeJS.Signals | null>;
  output(): string;
  /** Peak resident memory so far, from the kernel's high-water mark. */
  peakRssMb(): number | undefined;
}

/**
 * How a deployed worker runs Node: V8 otherwise grows its heap lazily with throughput, and a
 * bounded heap keeps the worker's memory flat however many users a run has.
 */
export const WORKER_NODE_FLAGS = ['--max-old-space-size=96'];

/**
 * `source` runs worker/main.ts through tsx; `build` runs the compiled dist/worker/main.js, as a
 * deployment does (npm run build first).
 */
/** Every platform variable the configuration holds, as the environment writes it. */
const platformVariables = (config: WorkerConfig): Record<string, string> =>
  Object.fromEntries(
    Object.keys(PLATFORM_SETTINGS).flatMap((name) => {
      const value = (config as Record<string, unknown>)[name];
      return value === undefined ? [] : [[name, String(value)]];
    }),
  );

export function spawnWorkerProcess(
  config: WorkerConfig,
  entry: 'source' | 'build' = 'source',
  /** More Node flags, e.g. the benchmark's --cpu-prof. */
  nodeFlags: string[] = [],
): WorkerProcess {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    // As the image sets it: two malloc arenas rather than one per native thread.
    MALLOC_ARENA_MAX: '2',
    HOME: process.env.HOME ?? '',
    DATABASE_URL: config.DATABASE_URL,
    USERS_SOURCE: config.USERS_SOURCE,
    SYNC_BATCH_SIZE: String(config.SYNC_BATCH_SIZE),
    SYNC_BATCHES_IN_FLIGHT: String(config.SYNC_BATCHES_IN_FLIGHT),
    RUN_RETENTION_DAYS: String(config.RUN_RETENTION_DAYS),
    ERASE_DELETED_USERS: String(config.ERASE_DELETED_USERS),
    TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: config.TEMPORAL_NAMESPACE,
    TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
    LOG_LEVEL: config.LOG_LEVEL,
    ...platformVariables(config),
    ...(config.WORKFLOW_BUNDLE_PATH ? { WORKFLOW_BUNDLE_PATH: config.WORKFLOW_BUNDLE_PATH } : {}),
    ...(config.PUBLIC_URL ? { PUBLIC_URL: config.PUBLIC_URL } : {}),
  };
  const args =
    entry === 'build'
      ? [...WORKER_NODE_FLAGS, ...nodeFlags, 'dist/worker/main.js']
      : [...nodeFlags, '--import', 'tsx', 'worker/main.ts'];
  const child = spawn(process.execPath, args, {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => {
    child.on('exit', (code, signal) => resolve(signal ?? code));
  });
  return {
    child,
    exited,
    output: () => output,
    peakRssMb: () => {
      const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
      const peakKb = /VmHWM:\s+(\d+)\s+kB/.exec(status)?.[1];
      return peakKb ? Number(peakKb) / 1024 : undefined;
    },
  };
}
