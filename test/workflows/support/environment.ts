import { Client, Connection, type WorkflowHandle } from '@temporalio/client';
import { bundleWorkflowCode, DefaultLogger, NativeConnection, Worker } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../../../common/search-attributes.js';
import type { SyncRequest, SyncRunState } from '../../../common/sync.js';
import { startTemporalDevServer } from '../../../dev/temporal.js';
import { workflowsEntry } from '../../../worker/worker.js';
import type { SyncUsersWorkflow } from '../../../workflows/sync-users.js';
import { installQuietRuntime } from '../../support/stack.js';
import {
  StubRun,
  type StubRunOptions,
  stubActivities,
  stubListId,
  stubPlatform,
} from './stub-run.js';

/**
 * One Temporal dev server and one worker for a test file: the real SyncUsersWorkflow with the
 * stub activities. Every test starts its own runs, each with its own script.
 */
export interface WorkflowEnvironment {
  client: Client;
  start(
    options: StubRunOptions,
    request?: Partial<SyncRequest>,
    /** The state an execution continued as new would carry; absent: a new run. */
    state?: SyncRunState,
  ): Promise<StubbedRun>;
  teardown(): Promise<void>;
}

export interface StubbedRun {
  stub: StubRun;
  handle: WorkflowHandle<typeof SyncUsersWorkflow>;
}

const TASK_QUEUE = 'sync-users-stubbed';

export async function startWorkflowEnvironment(
  extraArgs: string[] = [],
): Promise<WorkflowEnvironment> {
  installQuietRuntime();
  const temporal = await startTemporalDevServer({ searchAttributes: SEARCH_ATTRIBUTES, extraArgs });
  const runs = new Map<string, StubRun>();
  const nativeConnection = await NativeConnection.connect({ address: temporal.address });
  const worker = await Worker.create({
    connection: nativeConnection,
    taskQueue: TASK_QUEUE,
    workflowBundle: await bundleWorkflowCode({
      workflowsPath: workflowsEntry(),
      logger: new DefaultLogger('WARN'),
    }),
    activities: stubActivities(runs),
  });
  const running = worker.run();
  const connection = await Connection.connect({ address: temporal.address });
  const client = new Client({ connection });
  let runNo = 0;

  return {
    client,
    async start(options, request = {}, state = undefined) {
      runNo += 1;
      const runId = `run-${runNo}`;
      const stub = new StubRun(options);
      runs.set(runId, stub);
      const handle = await client.workflow.start<typeof SyncUsersWorkflow>('SyncUsersWorkflow', {
        taskQueue: TASK_QUEUE,
        workflowId: runId,
        args: [
          {
            request: {
              platform: stubPlatform,
              listId: stubListId,
              listName: 'Customers',
              syncType: 'all',
              tags: [],
              filterActive: false,
              activeDays: 30,
              trigger: 'api',
              mode: 'add',
              ...request,
            },
            ...(state ? { state } : {}),
          },
        ],
      });
      return { stub, handle };
    },
    async teardown() {
      for (const run of runs.values()) run.releaseAll();
      worker.shutdown();
      await running;
      await connection.close();
      await nativeConnection.close();
      await temporal.stop();
    },
  };
}
