import type { ChildProcess } from 'node:child_process';
import { APIError, LoopsClient } from 'loops';
import { afterEach, describe, expect, it } from 'vitest';
import { startEmulatorCli, stopEmulatorCli } from '../support/standalone.js';

/** The listening line and, maybe in a later chunk, the first list line after it. */
const READY =
  /^Loops emulator listening on \S+ \(SDK apiRoot (\S+)\)\n(?:.*\n)*?Loops emulator: mailing list \S+ \(.*\)$/m;

async function startCli(args: string[], env: NodeJS.ProcessEnv = {}) {
  const { child, match, output } = await startEmulatorCli(
    'emulator/loops/main.ts',
    READY,
    args,
    env,
  );
  return { child, apiRoot: match[1] ?? '', output };
}

describe('the standalone Loops emulator (npm run emulator:loops)', () => {
  let running: ChildProcess | undefined;
  afterEach(async () => {
    if (running) await stopEmulatorCli(running);
    running = undefined;
  });

  it('prints its apiRoot and the demo list, serves the SDK, and exits 0 on SIGTERM', async () => {
    const { child, apiRoot, output } = await startCli(['--port', '0', '--rate-limit', '3']);
    running = child;
    expect(apiRoot).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/api\/$/);
    const listLine = /^Loops emulator: mailing list (c[a-z0-9]{24}) \(Demo mailing list\)$/m.exec(
      output(),
    );
    expect(listLine?.[1]).toBeDefined();
    const loops = new LoopsClient('any_key');
    loops.apiRoot = apiRoot;
    expect(await loops.listMailingLists()).toEqual([
      expect.objectContaining({ id: listLine?.[1], name: 'Demo mailing list' }),
    ]);
    const answer = await fetch(`${apiRoot}v1/lists`, { headers: { authorization: 'Bearer k' } });
    expect(answer.headers.get('x-ratelimit-limit')).toBe('3');
    expect(await stopEmulatorCli(child, 'SIGTERM')).toBe(0);
  });

  it('reads its port, limit, keys, list id and faults from the environment', async () => {
    const { child, apiRoot, output } = await startCli([], {
      LOOPS_EMULATOR_PORT: '0',
      LOOPS_EMULATOR_RATE_LIMIT: '4',
      LOOPS_EMULATOR_API_KEYS: 'only_key',
      LOOPS_EMULATOR_LIST_ID: 'demo_list',
      LOOPS_EMULATOR_FAULTS: JSON.stringify({
        serverErrorRate: 1,
        serverErrorRoute: { method: 'POST', path: '/v1/contacts/create' },
      }),
    });
    running = child;
    expect(output()).toContain('Loops emulator: mailing list demo_list (Demo mailing list)');
    const refused = new LoopsClient('other_key');
    refused.apiRoot = apiRoot;
    expect(await refused.testApiKey().catch((error: unknown) => error)).toMatchObject({
      statusCode: 401,
    });
    const loops = new LoopsClient('only_key');
    loops.apiRoot = apiRoot;
    const answer = await fetch(`${apiRoot}v1/api-key`, {
      headers: { authorization: 'Bearer only_key' },
    });
    expect(answer.headers.get('x-ratelimit-limit')).toBe('4');
    const failure = await loops
      .createContact({ email: 'a@example.com' })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(APIError);
    expect(failure).toMatchObject({ statusCode: 500 });
    expect(await stopEmulatorCli(child, 'SIGINT')).toBe(0);
  });
});
