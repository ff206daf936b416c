import type { Client } from '@temporalio/client';
import { inject } from 'vitest';
import type { BenchContext } from '../../bench/service.js';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import { connectTestClient, createTestDatabase, type TestDatabase, uniqueName } from './stack.js';

/**
 * What a benchmark scenario runs on in a test, at a tiny N: a database of its own, the Resend
 * emulator, the project's Temporal, and the worker run from source on a task queue of its own.
 */
export interface TestBench {
  db: TestDatabase;
  resend: StartedResendEmulator;
  ctx: BenchContext;
  service: { workerEntry: 'source'; workflowBundlePath: string; taskQueue: string };
  stop(): Promise<void>;
}

export async function startTestBench(): Promise<TestBench> {
  const db = await createTestDatabase();
  const resend = await startResendEmulator({ rateLimit: 100 });
  let client: Client | undefined;
  try {
    client = await connectTestClient();
  } catch (error) {
    await resend.close();
    await db.drop();
    throw error;
  }
  const connected = client;
  return {
    db,
    resend,
    ctx: {
      sql: db.sql,
      databaseUrl: db.url,
      temporalAddress: inject('temporalAddress'),
      emulatorUrl: resend.url,
      client: connected,
    },
    service: {
      workerEntry: 'source',
      workflowBundlePath: inject('workflowBundlePath'),
      taskQueue: uniqueName('queue'),
    },
    async stop() {
      await connected.connection.close();
      await resend.close();
      await db.drop();
    },
  };
}
