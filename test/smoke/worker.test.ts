import type { Client } from '@temporalio/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runStartOptions } from '../../client/sync-runs.js';
import { createUsersTable } from '../../db/demo-users.js';
import { type StartedResendEmulator, startResendEmulator } from '../../emulator/resend/index.js';
import type { SyncUsersWorkflow } from '../../workflows/sync-users.js';
import {
  connectTestClient,
  createTestDatabase,
  type RunningWorker,
  startTestWorker,
  type TestDatabase,
  testWorkerConfig,
  uniqueName,
} from '../support/stack.js';

let db: TestDatabase;
let emulator: StartedResendEmulator;
let worker: RunningWorker;
let client: Client;
let taskQueue: string;

beforeAll(async () => {
  db = await createTestDatabase();
  await createUsersTable(db.sql);
  emulator = await startResendEmulator();
  const config = testWorkerConfig({ DATABASE_URL: db.url, RESEND_BASE_URL: emulator.url });
  taskQueue = config.TEMPORAL_TASK_QUEUE;
  worker = await startTestWorker(config, db.sql);
  client = await connectTestClient();
});

afterAll(async () => {
  await worker?.stop();
  await client?.connection.close();
  await emulator?.close();
  await db?.drop();
});

describe('the worker on the real Temporal dev server', () => {
  it('runs a sync of an empty users table to completion', async () => {
    const result = await client.workflow.execute<typeof SyncUsersWorkflow>('SyncUsersWorkflow', {
      ...runStartOptions(
        {
          platform: 'resend',
          listName: 'Smoke',
          syncType: 'all',
          tags: [],
          filterActive: false,
          activeDays: 30,
          trigger: 'api',
        },
        taskQueue,
      ),
      workflowId: uniqueName('smoke'),
    });
    expect(result).toMatchObject({
      status: 'completed',
      listName: 'Smoke',
      listId: expect.any(String),
      progress: { total: 0, processed: 0, added: 0, failed: 0, skipped: 0 },
    });
  });
});
