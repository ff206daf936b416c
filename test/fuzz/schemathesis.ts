import { spawn } from 'node:child_process';
import { accessSync, constants } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { findOnPath } from '../../dev/temporal-cli.js';

/**
 * Schemathesis, the property-based API tester `npm run fuzz` runs, installed from the Python
 * package index into a virtual environment of the project (git-ignored), like the Temporal CLI.
 */

/** The one place its version is pinned. */
export const SCHEMATHESIS_VERSION = '4.32.5';
export const SCHEMATHESIS_VENV_DIR = path.join('.tools', 'schemathesis-venv');

const executable = (projectRoot: string): string =>
  path.join(projectRoot, SCHEMATHESIS_VENV_DIR, 'bin', 'schemathesis');

const isExecutable = (file: string): boolean => {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
};

/** Runs a command to its end; resolves with its output, rejects naming it and its last line. */
function run(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env: { ...process.env, PIP_ROOT_USER_ACTION: 'ignore' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) return resolve(output);
      const last = output.trim().split('\n').at(-1) ?? `exit ${code}`;
      reject(new Error(`${path.basename(command)} ${args.slice(0, 3).join(' ')}: ${last}`));
    });
  });
}

/**
 * The pinned schemathesis in the project's virtual environment, installed there first when it is
 * missing, broken or another version (its scripts name the environment's own path, so it is
 * built in place; a failed install is removed again).
 */
export async function ensureSchemathesis(
  projectRoot: string,
  log: (line: string) => void,
): Promise<string> {
  const installed = executable(projectRoot);
  const version = () => run(installed, ['--version']).catch(() => '');
  if (isExecutable(installed) && (await version()).includes(SCHEMATHESIS_VERSION)) {
    return installed;
  }
  const python = findOnPath('python3', process.env);
  if (!python) throw new Error('python3 is not on PATH: it is needed to install schemathesis');
  log(
    `installing schemathesis ${SCHEMATHESIS_VERSION} from the Python package index into ${SCHEMATHESIS_VENV_DIR}`,
  );
  const venv = path.join(projectRoot, SCHEMATHESIS_VENV_DIR);
  await rm(venv, { recursive: true, force: true });
  await mkdir(path.dirname(venv), { recursive: true });
  try {
    await run(python, ['-m', 'venv', venv]);
    await run(path.join(venv, 'bin', 'python'), [
      '-m',
      'pip',
      'install',
      '--quiet',
      '--disable-pip-version-check',
      '--no-input',
      '--retries',
      '2',
      `schemathesis==${SCHEMATHESIS_VERSION}`,
    ]);
    const said = await version();
    if (!said.includes(SCHEMATHESIS_VERSION)) {
      throw new Error(`the installed schemathesis says "${said.trim()}"`);
    }
    return installed;
  } catch (error) {
    await rm(venv, { recursive: true, force: true });
    throw error;
  }
}
