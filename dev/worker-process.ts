import { type ChildProcess, spawn } from 'node:child_process';
import type { WorkerConfig } from '../../config/env.js';

/** The real worker entry point as a child process, for tests that kill it. */
export interface WorkerProcess {
  child: ChildProcess;
  /** Resolves with the exit code or signal. */
  exited: Promise<number | NodeJS.Signals | null>;
  output(): string;
}

export function spawnWorkerProcess(config: WorkerConfig): WorkerProcess {
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '',
    DATABASE_URL: config.DATABASE_URL,
    USERS_SOURCE: config.USERS_SOURCE,
    RESEND_API_KEY: config.RESEND_API_KEY,
    RESEND_BASE_URL: config.RESEND_BASE_URL,
    SYNC_BATCH_SIZE: String(config.SYNC_BATCH_SIZE),
    TEMPORAL_ADDRESS: config.TEMPORAL_ADDRESS,
    TEMPORAL_NAMESPACE: config.TEMPORAL_NAMESPACE,
    TEMPORAL_TASK_QUEUE: config.TEMPORAL_TASK_QUEUE,
    LOG_LEVEL: 'info',
  };
  const child = spawn(process.execPath, ['--import', 'tsx', 'worker/main.ts'], {
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
  return { child, exited, output: () => output };
}
