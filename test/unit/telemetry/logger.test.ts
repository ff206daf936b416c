import { pbkdf2 } from 'node:crypto';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createLogger } from '../../../telemetry/logger.js';

const pbkdf2Async = promisify(pbkdf2);

/** The JSON lines in the file, without the fields every line has. */
function linesOf(file: string): Record<string, unknown>[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => {
      const { time: _time, pid: _pid, hostname: _hostname, ...rest } = JSON.parse(line);
      return rest as Record<string, unknown>;
    });
}

describe('a synchronous logger (the dev stack process, which ends itself with process.exit)', () => {
  let dir: string;
  let file: string;
  let fd: number;

  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'logger-'));
    file = path.join(dir, 'out.log');
    fd = openSync(file, 'w');
  });

  afterEach(() => {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  });

  it('has written each line, in order, when the log call returns, even with the I/O threads busy', async () => {
    // Occupies libuv's thread pool (4 threads), which asynchronous writes wait for, as on a
    // loaded machine: the teardown's last `stopped` lines then came out after later output.
    const busy = Array.from({ length: 8 }, () => pbkdf2Async('x', 'y', 50_000, 32, 'sha256'));
    const logger = createLogger('info', 'audience-sync-dev', { sync: true, fd });

    logger.info({ component: 'resend emulator', ms: 3 }, 'stopped');
    logger.info({ component: 'temporal', ms: 900 }, 'stopped');
    logger.info({ component: 'postgres', ms: 1 }, 'stopped');
    const written = linesOf(file);
    await Promise.all(busy);

    expect(written).toEqual([
      { level: 30, name: 'audience-sync-dev', component: 'resend emulator', ms: 3, msg: 'stopped' },
      { level: 30, name: 'audience-sync-dev', component: 'temporal', ms: 900, msg: 'stopped' },
      { level: 30, name: 'audience-sync-dev', component: 'postgres', ms: 1, msg: 'stopped' },
    ]);
  });

  it('keeps the level and the redaction of personal fields', () => {
    const logger = createLogger('warn', 'audience-sync-dev', { sync: true, fd });

    logger.info({ component: 'api' }, 'not at this level');
    logger.warn({ user: { email: 'ada@example.com', id: 7 }, first_name: 'Ada' }, 'odd user');

    expect(linesOf(file)).toEqual([
      {
        level: 40,
        name: 'audience-sync-dev',
        user: { email: '[redacted]', id: 7 },
        first_name: '[redacted]',
        msg: 'odd user',
      },
    ]);
  });
});
