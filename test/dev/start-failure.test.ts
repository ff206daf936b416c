import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  type DevProcess,
  freePorts,
  isListening,
  leftoverProcesses,
  logLines,
  startDevProcess,
} from './dev-process.js';

/**
 * `npm run dev` when one part of the stack cannot start: whatever started, or was still starting,
 * is stopped, and the process exits non-zero with one message naming the cause and the fix.
 */
describe('npm run dev, when a part fails to start', () => {
  let dataDir: string;
  let dev: DevProcess | undefined;
  let blocker: Server | undefined;

  afterEach(async () => {
    if (dev && dev.child.exitCode === null) dev.child.kill('SIGKILL');
    await new Promise<void>((resolve) => (blocker ? blocker.close(() => resolve()) : resolve()));
    blocker = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  const stackPorts = async () => {
    const [postgres, temporal, ui, emulator, loops, api] = await freePorts(6);
    return {
      DEV_POSTGRES_PORT: String(postgres),
      DEV_TEMPORAL_PORT: String(temporal),
      DEV_TEMPORAL_UI_PORT: String(ui),
      RESEND_EMULATOR_PORT: String(emulator),
      LOOPS_EMULATOR_PORT: String(loops),
      PORT: String(api),
      DEMO_USERS: '10',
    };
  };

  const failureLines = (output: string) =>
    output.split('\n').filter((line) => line.startsWith('audience-sync could not start'));

  /** Nothing of the stack is left: no process and no port (the blocked one aside). */
  const expectNothingLeft = async (started: DevProcess, ports: Record<string, string>) => {
    expect(leftoverProcesses(started.marker)).toEqual([]);
    const open: string[] = [];
    for (const [name, port] of Object.entries(ports)) {
      if (name !== 'DEMO_USERS' && (await isListening(Number(port)))) open.push(name);
    }
    expect(open).toEqual(blocker ? ['RESEND_EMULATOR_PORT'] : []);
  };

  it('stops Postgres and Temporal, still starting when the emulator failed, and names the port', async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'dev-start-failure-'));
    // Enterable by every user, so Postgres starts even when the tests run as root.
    await chmod(dataDir, 0o755);
    const ports = await stackPorts();
    blocker = createServer();
    await new Promise<void>((resolve) =>
      blocker?.listen(Number(ports.RESEND_EMULATOR_PORT), '127.0.0.1', resolve),
    );

    dev = startDevProcess(ports, path.join(dataDir, 'data'));

    expect(await dev.exited).toBe(1);
    expect(failureLines(dev.stderr())).toEqual([
      `audience-sync could not start: port ${ports.RESEND_EMULATOR_PORT} (RESEND_EMULATOR_PORT) ` +
        'is already in use. Stop what listens there, or set RESEND_EMULATOR_PORT to a free port.',
    ]);
    const logs = dev.stdout();
    expect(logLines(logs, 'stopping').map((line) => line.reason)).toEqual(['start failed']);
    // Both finished starting after the failure, and were stopped then.
    expect(logLines(logs, 'ready').map((line) => line.component)).toEqual(
      expect.arrayContaining(['postgres', 'temporal']),
    );
    expect(logLines(logs, 'stopped').map((line) => line.component)).toEqual([
      'loops emulator',
      'resend emulator',
      'temporal',
      'postgres',
    ]);
    expect(logLines(logs, 'did not stop cleanly')).toEqual([]);
    await expectNothingLeft(dev, ports);
  });

  it.runIf(userInfo().uid === 0)(
    'as root, says where the data must live when the postgres user cannot reach it',
    async () => {
      // mkdtemp makes a 0700 folder, as a home folder usually is.
      dataDir = await mkdtemp(path.join(tmpdir(), 'dev-private-'));
      const ports = await stackPorts();
      const data = path.join(dataDir, 'data');

      dev = startDevProcess(ports, data);

      expect(await dev.exited).toBe(1);
      expect(failureLines(dev.stderr())).toEqual([
        'audience-sync could not start: the embedded Postgres runs as the system user ' +
          `"postgres" when started as root, and that user may not enter ${dataDir} (mode 0700) ` +
          `to reach its data in ${data}. Run it as a normal user, or keep the project (its ` +
          'node_modules and .data) in a folder every user can enter (e.g. under /srv or /tmp, ' +
          `or chmod o+x ${dataDir}), or use a Postgres of your own (DATABASE_URL for npm run ` +
          'dev, TEST_DATABASE_URL for the tests).',
      ]);
      const logs = dev.stdout();
      expect(logLines(logs, 'stopped').map((line) => line.component)).toEqual([
        'loops emulator',
        'resend emulator',
        'temporal',
        'postgres',
      ]);
      expect(logLines(logs, 'did not stop cleanly')).toEqual([]);
      await expectNothingLeft(dev, ports);
    },
  );
});
