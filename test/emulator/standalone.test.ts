import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { Resend } from 'resend';
import { afterEach, describe, expect, it } from 'vitest';
import { CliUsageError, readCliOptions } from '../../emulator/resend/cli-options.js';
import { startEmulatorCli } from './support/standalone.js';

const LISTENING = /^Resend emulator listening on (http:\/\/\S+)$/m;

/** Starts the CLI and answers its URL once it prints the listening line. */
async function startCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const { child, match } = await startEmulatorCli('emulator/resend/main.ts', LISTENING, args, env);
  return { child, url: match[1] ?? '' };
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
