import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { createConnection, createServer, type Server } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DECLARATIONS } from '../../activities/platforms/registry.js';
import { DATA_DIR } from '../../dev/supervisor-env.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Variables of the user's environment that would change what `npm run dev` starts. */
const STACK_VARIABLES = [
  'DATABASE_URL',
  'TEMPORAL_ADDRESS',
  'TEMPORAL_NAMESPACE',
  'TEMPORAL_TASK_QUEUE',
  'TEMPORAL_API_KEY',
  'MARKETING_API_SECRET',
  'PORT',
  'DEV_POSTGRES_PORT',
  'DEV_TEMPORAL_PORT',
  'DEV_TEMPORAL_UI_PORT',
  'DEMO_USERS',
  // Each platform's credentials, address, webhook secret and emulator port.
  ...DECLARATIONS.flatMap((platform) => [
    platform.credential,
    platform.endpointSetting,
    ...(platform.webhook ? [platform.webhook.secretSetting] : []),
    ...(platform.emulator ? [platform.emulator.port.variable] : []),
  ]),
];

/** `npm run dev` (its dev/main.ts) as a child process, with its output kept. */
export interface DevProcess {
  child: ChildProcess;
  /** Every process it started carries this in its environment: see leftoverProcesses(). */
  marker: string;
  stdout(): string;
  stderr(): string;
  /** Resolves when the output so far matches. */
  waitForOutput(pattern: RegExp): Promise<void>;
  /** Exit code (or signal) of the process started: dev/main.ts, or npm. */
  exited: Promise<number | NodeJS.Signals | null>;
}

const MARKER = 'AUDIENCE_SYNC_TEST_DEV_PROCESS';

/**
 * `node` runs dev/main.ts directly; `npm` runs `npm run dev` itself, with the processes npm puts
 * in between (its shell, the TypeScript runner), as a terminal would.
 */
export type DevLauncher = 'node' | 'npm';

export function startDevProcess(
  env: Record<string, string>,
  dataDir: string,
  launcher: DevLauncher = 'node',
): DevProcess {
  const marker = randomBytes(8).toString('hex');
  const inherited = Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !STACK_VARIABLES.includes(name)),
  );
  const [command, args] =
    launcher === 'npm'
      ? ['npm', ['run', '--silent', 'dev']]
      : [process.execPath, ['--import', 'tsx', 'dev/main.ts']];
  const child = spawn(command, args, {
    cwd: root,
    env: { ...inherited, LOG_LEVEL: 'info', ...env, [DATA_DIR]: dataDir, [MARKER]: marker },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  const waiters = new Set<() => void>();
  const notify = () => {
    for (const waiter of waiters) waiter();
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    notify();
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    stderr += chunk.toString();
    notify();
  });
  const exited = new Promise<number | NodeJS.Signals | null>((resolve) => {
    child.on('exit', (code, signal) => resolve(signal ?? code));
  });
  return {
    child,
    marker,
    stdout: () => stdout,
    stderr: () => stderr,
    exited,
    waitForOutput: (pattern) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (pattern.test(stdout) || pattern.test(stderr)) {
            waiters.delete(check);
            resolve();
          }
        };
        waiters.add(check);
        check();
        void exited.then((code) => {
          if (!waiters.has(check)) return;
          waiters.delete(check);
          reject(new Error(`exited (${code}) before printing ${pattern}:\n${stdout}\n${stderr}`));
        });
      }),
  };
}

/** Pids of live processes whose environment holds the marker (root sees every user's). */
export function leftoverProcesses(marker: string): number[] {
  const needle = `${MARKER}=${marker}`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const environ = readFileSync(`/proc/${entry}/environ`, 'utf8');
      if (environ.split('\0').includes(needle)) found.push(Number(entry));
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return found;
}

/** The log lines (JSON) of the stack with this message. */
export function logLines(output: string, msg: string): Record<string, unknown>[] {
  return output
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.msg === msg);
}

/** Free TCP ports on 127.0.0.1, as the kernel hands them out. */
export async function freePorts(count: number): Promise<number[]> {
  const servers: Server[] = [];
  try {
    for (let index = 0; index < count; index += 1) {
      const server = createServer();
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      servers.push(server);
    }
    return servers.map((server) => {
      const address = server.address();
      if (address === null || typeof address === 'string') throw new Error('no port');
      return address.port;
    });
  } finally {
    await Promise.all(
      servers.map((server) => new Promise<void>((resolve) => server.close(() => resolve()))),
    );
  }
}

/** True when something accepts connections on the port. */
export function isListening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ port, host: '127.0.0.1' });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}
