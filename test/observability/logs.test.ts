import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApiServer } from '../../api/server.js';
import { spawnWorkerProcess, type WorkerProcess } from '../../dev/worker-process.js';
import { type AppStack, startAppStack } from '../support/app-stack.js';
import { TEST_SECRET, waitFor } from '../support/stack.js';

let stack: AppStack;
let worker: WorkerProcess;
const apiLines: string[] = [];
let apiUrl: string;
let closeApi: () => Promise<void>;

beforeAll(async () => {
  stack = await startAppStack({ users: 300, emulator: { rateLimit: 300 }, inProcessWorker: false });
  worker = spawnWorkerProcess({ ...stack.workerConfig, LOG_LEVEL: 'debug' });
  const sink = new Writable({
    write(chunk: Buffer, _encoding, done) {
      apiLines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  const api = await startApiServer({
    config: stack.apiConfig,
    sql: stack.db.sql,
    temporal: stack.client,
    logger: pino({ level: 'trace' }, sink),
  });
  apiUrl = api.url;
  closeApi = api.close;
});

afterAll(async () => {
  await closeApi?.();
  worker?.child.kill('SIGTERM');
  await worker?.exited;
  await stack?.stop();
});

describe('logs', () => {
  it('are JSON with a request id, and never carry a user email or name', async () => {
    stack.emulator.setFaults({ serverErrorRate: 0.05 }, 3);
    const headers = { authorization: `Bearer ${TEST_SECRET}`, 'content-type': 'application/json' };
    const preview = await fetch(
      `${apiUrl}/api/marketing/sync-users?filterActive=true&activeDays=30`,
      {
        headers: { ...headers, 'x-request-id': 'preview-request-1' },
      },
    );
    expect(preview.headers.get('x-request-id')).toBe('preview-request-1');
    const sync = await fetch(`${apiUrl}/api/marketing/sync-users`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ audienceName: 'Logged' }),
    });
    expect(sync.status).toBe(200);
    await fetch(`${apiUrl}/api/marketing/sync-users`, {
      headers: { authorization: 'Bearer wrong' },
    });
    await waitFor(() => worker.output().includes('"msg"'), { what: 'worker log lines' });

    const parsed = apiLines.map(
      (line) => JSON.parse(line) as { req?: { id?: string }; msg?: string },
    );
    const completed = parsed.filter((line) => line.msg === 'request completed');
    expect(completed.length).toBeGreaterThanOrEqual(3);
    expect(completed.every((line) => typeof line.req?.id === 'string')).toBe(true);
    expect(completed.map((line) => line.req?.id)).toContain('preview-request-1');

    const workerLines = worker
      .output()
      .split('\n')
      .filter((line) => line.startsWith('{'));
    expect(workerLines.length).toBeGreaterThan(0);
    const everything = [...apiLines, ...workerLines].join('\n');
    expect(everything).not.toContain(TEST_SECRET);
    const users = await stack.db.sql<{ email: string; first_name: string; last_name: string }[]>`
      select email, first_name, last_name from users`;
    const leaked = users.filter(
      (user) =>
        everything.toLowerCase().includes(user.email.toLowerCase()) ||
        everything.includes(`"${user.first_name}"`) ||
        everything.includes(`"${user.last_name}"`),
    );
    expect(leaked).toEqual([]);
  });
});
