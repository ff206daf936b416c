import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';

const repoRoot = fileURLToPath(new URL('../../..', import.meta.url));
/**
 * The `tsx` that `npx tsx` runs. Started directly, because `npx` runs it through `sh -c`, which
 * dies on SIGTERM without passing the signal on, so the signal would never reach the emulator.
 */
const tsxBin = fileURLToPath(new URL('../../../node_modules/.bin/tsx', import.meta.url));

/**
 * Starts an emulator's command line (`entry`, from the repository root) and answers once its
 * output matches `ready`, with that match and everything printed so far.
 */
export async function startEmulatorCli(
  entry: string,
  ready: RegExp,
  args: string[],
  env: NodeJS.ProcessEnv = {},
): Promise<{ child: ChildProcess; match: RegExpExecArray; output: () => string }> {
  const child = spawn(tsxBin, [entry, ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const match = await new Promise<RegExpExecArray>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line within 30 s:\n${output}`)),
      30_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const found = ready.exec(output);
      if (found) {
        clearTimeout(timer);
        resolve(found);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${output}`));
    });
  });
  return { child, match, output: () => output };
}

/** Sends `signal` and answers the exit code. */
export async function stopEmulatorCli(
  child: ChildProcess,
  signal: NodeJS.Signals = 'SIGTERM',
): Promise<number | null> {
  if (child.exitCode !== null) return child.exitCode;
  const exited = once(child, 'exit');
  child.kill(signal);
  const [code] = (await exited) as [number | null];
  return code;
}
