import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { Resend } from 'resend';
import { afterEach, describe, expect, it } from 'vitest';
import { CliUsageError, readCliOptions } from '../../emulator/resend/cli-options.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
/**
 * The `tsx` that `npx tsx` runs. Started directly, because `npx` runs it through `sh -c`, which
 * dies on SIGTERM without passing the signal on, so the signal would never reach the emulator.
 */
const tsxBin = fileURLToPath(new URL('../../node_modules/.bin/tsx', import.meta.url));
const LISTENING = /^Resend emulator listening on (http:\/\/\S+)$/m;

/** Starts the CLI and answers its URL once it prints the listening line. */
async function startCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(tsxBin, ['emulator/resend/main.ts', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    output += chunk.toString();
  });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no listening line within 30 s:\n${output}`)),
      30_000,
    );
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      const match = LISTENING.exec(output);
      if (match?.[1]) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`exited with ${code} before listening:\n${output}`));
    });
  });
  return { child, url };
}

describe('the standalone emulator', () => {
  let running: ChildProcess | undefined;
  afterEach(async () => {
    if (running && running.exitCode === null) {
      const exited = once(running, 'exit');
      running.kill('SIGTERM');
      await exited;
    }
    running = undefined;
  });

  it('serves the SDK on the port it prints and exits 0 on SIGTERM', async () => {
    const { child, url } = await startCli(['--port', '0', '--rate-limit', '2']);
    running = child;
    expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);

    const resend = new Resend('re_cli_key', { baseUrl: url });
    const created = await resend.segments.create({ name: 'From the CLI' });
    expect(created.error).toBeNull();
    expect(created.headers?.['ratelimit-policy']).toBe('2;w=1');
    const listed = await resend.segments.list();
    expect(listed.data?.data.map((segment) => segment.name)).toEqual(['From the CLI']);

    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    const [code] = await exited;
    expect(code).toBe(0);
  });

  it('reads its settings from the environment', async () => {
    const { child, url } = await startCli(['--port', '0'], {
      RESEND_EMULATOR_RATE_LIMIT: '3',
      RESEND_EMULATOR_API_KEYS: 're_only_key',
      RESEND_EMULATOR_FAULTS: JSON.stringify({
        serverErrorRate: 1,
        serverErrorRoute: { method: 'POST', path: '/segments' },
      }),
    });
    running = child;
    const refused = await new Resend('re_other_key', { baseUrl: url }).segments.list();
    expect(refused.error).toMatchObject({ statusCode: 400, name: 'validation_error' });
    const resend = new Resend('re_only_key', { baseUrl: url });
    const listed = await resend.segments.list();
    expect(listed.headers?.['ratelimit-limit']).toBe('3');
    expect((await resend.segments.create({ name: 'x' })).error).toMatchObject({ statusCode: 500 });

    const exited = once(child, 'exit');
    child.kill('SIGINT');
    expect((await exited)[0]).toBe(0);
  });
});

describe('command-line options', () => {
  it('let flags win over the environment, and defaults fill the rest', () => {
    const options = readCliOptions(
      ['--rate-limit', '4', '--server-error-rate', '0.5', '--keep-omitted-fields'],
      {
        RESEND_EMULATOR_RATE_LIMIT: '9',
        RESEND_EMULATOR_SEED: '42',
        RESEND_EMULATOR_API_KEYS: 're_a, re_b',
      },
    );
    expect(options).toEqual({
      port: 8787,
      host: '127.0.0.1',
      rateLimit: 4,
      seed: 42,
      apiKeys: ['re_a', 're_b'],
      resetOmittedFieldsOnDuplicateCreate: false,
      faults: { serverErrorRate: 0.5 },
    });
  });

  it('refuse bad values with a usage error', () => {
    expect(() => readCliOptions(['--port', 'x'], {})).toThrow(CliUsageError);
    expect(() => readCliOptions(['--faults', '{"hangRate":3}'], {})).toThrow(CliUsageError);
    expect(readCliOptions(['--help'], {})).toBeUndefined();
  });
});
